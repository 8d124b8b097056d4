// weft-proxy: the Weft sidecar. See docs/architecture.md.

#include <string_view>

#include "net/log.h"
#include "proxy/config/options.h"
#include "proxy/init/await_ready.h"
#include "proxy/init/init_command.h"
#include "proxy/server/server.h"
#include "runtime/process.h"

int main(int argc, char** argv) {
  // `weft-proxy init`: the init container's iptables rules, not the proxy.
  if (argc > 1 && std::string_view(argv[1]) == "init") {
    return weft::proxy::init::runInit(argc - 1, argv + 1);
  }
  // `weft-proxy await-ready`: a legacy sidecar's postStart hook.
  if (argc > 1 && std::string_view(argv[1]) == "await-ready") {
    return weft::proxy::init::runAwaitReady(argc - 1, argv + 1);
  }
  auto options = weft::config::parseOptions(argc, argv);
  if (!options.ok()) {
    return weft::runtime::commandLineExit("weft-proxy", options.status(), weft::config::usage());
  }
  if (auto exit = weft::runtime::initProcess("weft-proxy", options->log_level)) return *exit;

  weft::proxy::Server server(std::move(*options));
  if (auto st = server.start(); !st.ok()) {
    weft::log::error("cannot start: ", st.message());
    return 1;
  }
  return server.run();
}
