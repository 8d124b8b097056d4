#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace weft::runtime {

// What a weft binary's main() does with its parsed command line, the same for every binary.

// A command line that did not parse: --help (NotFound, its message is the usage) prints it and
// exits 0; anything else prints "<program>: <error>" and the usage to stderr and exits 2.
int commandLineExit(std::string_view program, const absl::Status& status, const std::string& usage);

// Sets the log level and ignores SIGPIPE (a peer's close is an error code, not a signal).
// Returns the exit code (2) when `log_level` is not debug|info|warn|error.
std::optional<int> initProcess(std::string_view program, const std::string& log_level);

}  // namespace weft::runtime
