#pragma once

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "control/api/address.h"
#include "control/api/resources.h"
#include "net/asio.h"
#include "net/http/api_router.h"
#include "net/http/api_server.h"
#include "proxy/config/options.h"
#include "proxy/metrics/metrics.h"

namespace weft::admin {

// What the admin endpoints report. Called on the main thread.
struct AdminSources {
  std::function<bool()> ready;  // listeners bound, credentials loaded, not draining
  std::function<api::MeshConfigConstSharedPtr()> config;  // the resources in effect
  metrics::Metrics* metrics = nullptr;
  config::AdminDebugAccess debug_access = config::AdminDebugAccess::kLoopback;
  // Why /ready says no ("waiting for a certificate: …"); may be empty.
  std::function<std::string()> not_ready_reason = {};
};

// The admin port, served on the main thread by the shared http::ApiServer:
//   GET /live     200 while the process runs
//   GET /ready    200 once serving, 503 before and while draining
//   GET /metrics  Prometheus text format
//   GET /config   the mesh resources in effect, as JSON, streamed in chunks (one resource at a
//                 time: a large config is never built whole)
// The first three answer anyone (kubelet, Prometheus); /config and any other page answer only
// loopback clients (403 for others) unless debug_access is kAny (--admin-debug-access any).
class AdminServer {
 public:
  AdminServer(asio::io_context& io, AdminSources sources);
  ~AdminServer();

  absl::Status listen(const api::HostPort& address);
  // The port listen() bound (the one the kernel picked for port 0); 0 before listen().
  uint16_t port() const { return server_.port(); }
  void stop() { server_.stop(); }

 private:
  // Answers 403 and returns false when the peer may not read this page.
  awaitable<bool> allowed(http::ApiRequest& request);
  awaitable<void> metrics(http::ApiRequest& request);
  awaitable<void> config(http::ApiRequest& request);
  awaitable<void> notFound(http::ApiRequest& request);

  AdminSources sources_;
  http::ApiRouter router_{"admin"};
  http::ApiServer server_;  // after router_, which it uses
};

}  // namespace weft::admin
