#include "control/cli/command.h"

#include "control/cli/output.h"

namespace weft::control::cli {

std::optional<ApiResponse> request(CommandContext& ctx, const std::string& what,
                                   std::string_view method, std::string_view path, int& exit,
                                   std::string_view body, std::string_view content_type,
                                   std::string_view source) {
  auto response = ctx.client.call(method, path, body, content_type, source);
  if (!response.ok()) {
    exit = fail(ctx.err, what, response.status());
    return std::nullopt;
  }
  if (response->status < 200 || response->status >= 300) {
    exit = failResponse(ctx.err, what, *response);
    return std::nullopt;
  }
  exit = kExitOk;
  return std::move(*response);
}

}  // namespace weft::control::cli
