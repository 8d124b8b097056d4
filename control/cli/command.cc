#include "control/cli/command.h"

#include <iostream>
#include <iterator>

#include "control/cli/output.h"
#include "runtime/atomic_file.h"

namespace weft::control::cli {

absl::StatusOr<Input> readInput(const std::string& file) {
  constexpr size_t kMaxFile = 64 << 20;
  if (file.empty()) return absl::InvalidArgumentError("-f FILE (or -f - for stdin) is required");
  if (file == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return Input{std::move(text), "stdin"};
  }
  auto text = runtime::readFile(file, kMaxFile);
  if (!text.ok()) return text.status();
  return Input{std::move(*text), file};
}

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
