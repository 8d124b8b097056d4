#pragma once

// What every weftctl command gets, and the request helper they share.

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "control/cli/api_client.h"
#include "control/cli/args.h"

namespace weft::control::cli {

struct CommandContext {
  const Args& args;
  const GlobalOptions& global;
  const ApiClient& client;
  std::ostream& out;
  std::ostream& err;
};

// What -f FILE names (or stdin for "-"), at most 64 MiB; InvalidArgument when no file is given.
struct Input {
  std::string text;
  std::string source;  // the file name, or "stdin"
};
absl::StatusOr<Input> readInput(const std::string& file);

// The request, with a failure printed and its exit code in `exit`; the response when it is 2xx.
std::optional<ApiResponse> request(CommandContext& ctx, const std::string& what,
                                   std::string_view method, std::string_view path, int& exit,
                                   std::string_view body = {},
                                   std::string_view content_type = "application/json",
                                   std::string_view source = {});

}  // namespace weft::control::cli
