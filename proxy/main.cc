// weft-proxy: the Weft sidecar. See docs/architecture.md.

#include <cstdio>

#include <openssl/ssl.h>

#include "net/log.h"
#include "proxy/config/options.h"
#include "proxy/server/server.h"

int main(int argc, char** argv) {
  auto options = weft::config::parseOptions(argc, argv);
  if (!options.ok()) {
    if (options.status().code() == absl::StatusCode::kNotFound) {
      std::fputs(std::string(options.status().message()).c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "weft-proxy: %s\n%s", std::string(options.status().message()).c_str(),
                 weft::config::usage().c_str());
    return 2;
  }
  weft::log::Level level;
  if (!weft::log::parseLevel(options->log_level, &level)) {
    std::fprintf(stderr, "weft-proxy: --log-level: want debug|info|warn|error\n");
    return 2;
  }
  weft::log::setLevel(level);
  std::signal(SIGPIPE, SIG_IGN);

  weft::proxy::Server server(std::move(*options));
  if (auto st = server.start(); !st.ok()) {
    weft::log::error("cannot start: ", st.message());
    return 1;
  }
  return server.run();
}
