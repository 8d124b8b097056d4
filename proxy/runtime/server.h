#pragma once

#include <memory>
#include <vector>

#include <boost/asio/signal_set.hpp>

#include "absl/status/status.h"
#include "control/api/resources.h"
#include "identity/credentials.h"
#include "proxy/admin/admin_server.h"
#include "proxy/common/asio.h"
#include "proxy/config/options.h"
#include "proxy/metrics/metrics.h"
#include "proxy/router/route_table.h"
#include "proxy/runtime/memory_returner.h"
#include "proxy/runtime/worker.h"

namespace weft::runtime {

// The main thread: loads credentials and config, starts the workers and the admin port,
// handles signals, and hands new snapshots to the workers.
//   SIGTERM/SIGINT: drain (stop accepting, finish in-flight requests for up to --drain-seconds)
//   SIGHUP: re-read --config; an invalid file is rejected and the old config stays
class Server {
 public:
  explicit Server(config::Options options);
  ~Server();

  absl::Status start();
  // Runs until drained; returns the process exit code.
  int run();

 private:
  void onSignal(int signal);
  void reloadConfig();
  // Reads --config (if any) and compiles its routes; the version is used only on success.
  absl::StatusOr<router::RouteTableConstSharedPtr> loadRoutes();
  void beginDrain();
  awaitable<void> waitForDrain();
  int activeConnections() const;

  config::Options options_;
  asio::io_context io_{1};
  asio::signal_set signals_;
  metrics::Metrics metrics_;
  router::RouteTableConstSharedPtr routes_;
  api::MeshConfigConstSharedPtr mesh_;  // routes_->mesh(), for /config
  std::shared_ptr<const identity::Credentials> credentials_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<admin::AdminServer> admin_;
  MemoryReturner memory_returner_{io_};
  uint64_t next_version_ = 1;
  bool ready_ = false;
  bool draining_ = false;
};

}  // namespace weft::runtime
