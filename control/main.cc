// weft-control: the Weft control plane. See docs/architecture.md.

#include <csignal>
#include <cstdio>

#include "control/server/control_server.h"
#include "control/server/options.h"
#include "net/log.h"

int main(int argc, char** argv) {
  auto options = weft::control::parseOptions(argc, argv);
  if (!options.ok()) {
    if (options.status().code() == absl::StatusCode::kNotFound) {
      std::fputs(std::string(options.status().message()).c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "weft-control: %s\n%s", std::string(options.status().message()).c_str(),
                 weft::control::usage().c_str());
    return 2;
  }
  weft::log::Level level;
  if (!weft::log::parseLevel(options->log_level, &level)) {
    std::fprintf(stderr, "weft-control: --log-level: want debug|info|warn|error\n");
    return 2;
  }
  weft::log::setLevel(level);
  std::signal(SIGPIPE, SIG_IGN);

  weft::control::ControlServer server(std::move(*options));
  if (auto st = server.start(); !st.ok()) {
    weft::log::error("cannot start: ", st.message());
    return 1;
  }
  return server.run();
}
