#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "control/api/address.h"
#include "proxy/common/asio.h"
#include "proxy/metrics/metrics.h"

namespace weft::admin {

// What the admin endpoints report. Called on the main thread.
struct AdminSources {
  std::function<bool()> ready;               // listeners bound, credentials loaded, not draining
  std::function<std::string()> config_json;  // the resources in effect
  metrics::Metrics* metrics = nullptr;
};

// The admin port, served on the main thread:
//   GET /live     200 while the process runs
//   GET /ready    200 once serving, 503 before and while draining
//   GET /config   the mesh resources in effect, as JSON
//   GET /metrics  Prometheus text format
class AdminServer {
 public:
  AdminServer(asio::io_context& io, AdminSources sources);
  ~AdminServer();

  absl::Status listen(const api::HostPort& address);
  void stop();

 private:
  awaitable<void> acceptLoop();
  awaitable<void> serve(Socket socket);

  asio::io_context& io_;
  AdminSources sources_;
  std::unique_ptr<tcp::acceptor> acceptor_;
};

}  // namespace weft::admin
