#pragma once

#include <memory>

#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "control/server/options.h"
#include "net/http/api_router.h"
#include "net/http/api_server.h"
#include "runtime/main_loop.h"

namespace weft::control {

// weft-control's main thread, on the same runtime as the proxy (runtime::MainLoop) and the
// same HTTP server (http::ApiServer). Today: the data directory and the admin port
// (/live, /ready, /metrics); the CA, the proxies' port and the operators' API come next.
class ControlServer {
 public:
  explicit ControlServer(Options options);

  absl::Status start();
  // Runs until drained (SIGTERM/SIGINT); returns the exit code.
  int run();

 private:
  awaitable<void> metrics(http::ApiRequest& request);

  Options options_;
  runtime::MainLoop main_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  http::ApiRouter admin_router_{"admin"};
  http::ApiServer admin_{main_.io(), "admin", admin_router_};
  bool ready_ = false;
};

}  // namespace weft::control
