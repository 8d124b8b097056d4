#include "runtime/process.h"

#include <csignal>
#include <cstdio>

#include "net/log.h"

namespace weft::runtime {

int commandLineExit(std::string_view program, const absl::Status& status,
                    const std::string& usage) {
  if (status.code() == absl::StatusCode::kNotFound) {
    std::fputs(std::string(status.message()).c_str(), stdout);
    return 0;
  }
  std::fprintf(stderr, "%.*s: %s\n%s", static_cast<int>(program.size()), program.data(),
               std::string(status.message()).c_str(), usage.c_str());
  return 2;
}

std::optional<int> initProcess(std::string_view program, const std::string& log_level) {
  log::Level level;
  if (!log::parseLevel(log_level, &level)) {
    std::fprintf(stderr, "%.*s: --log-level: want debug|info|warn|error\n",
                 static_cast<int>(program.size()), program.data());
    return 2;
  }
  log::setLevel(level);
  std::signal(SIGPIPE, SIG_IGN);
  return std::nullopt;
}

}  // namespace weft::runtime
