// weft-control: the Weft control plane. See docs/architecture.md.

#include <csignal>

#include "control/server/control_server.h"
#include "control/server/options.h"
#include "net/log.h"
#include "runtime/process.h"

int main(int argc, char** argv) {
  auto options = weft::control::parseOptions(argc, argv);
  if (!options.ok()) {
    return weft::runtime::commandLineExit("weft-control", options.status(), weft::control::usage());
  }
  if (auto exit = weft::runtime::initProcess("weft-control", options->log_level)) return *exit;

  // A file-size limit (ulimit -f) should fail the store's write with a reason (EFBIG) and leave
  // it as it was, not kill the control plane.
  std::signal(SIGXFSZ, SIG_IGN);
  weft::control::ControlServer server(std::move(*options));
  if (auto st = server.start(); !st.ok()) {
    weft::log::error("cannot start: ", st.message());
    return 1;
  }
  return server.run();
}
