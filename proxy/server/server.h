#pragma once

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "control/api/resources.h"
#include "identity/credentials.h"
#include "proxy/admin/admin_server.h"
#include "proxy/certificates/identity_manager.h"
#include "proxy/config/options.h"
#include "proxy/control/control_stream.h"
#include "proxy/control/pushed_config.h"
#include "proxy/metrics/metrics.h"
#include "proxy/router/route_table.h"
#include "proxy/server/worker.h"
#include "runtime/main_loop.h"
#include "runtime/memory_returner.h"

namespace weft::proxy {

// The proxy's main thread (a runtime::MainLoop): loads credentials and config, starts the
// workers and the admin port, and hands new snapshots to the workers. With --control, the
// credentials come from the control plane (identity::IdentityManager): the admin port answers
// at once (/ready 503 with the reason), the workers start with the first certificate, and each
// renewal goes to every worker.
//   SIGTERM/SIGINT: drain (stop accepting, finish in-flight requests for up to --drain-seconds)
// With --control and no --config, routing comes from the control plane's pushes
// (proxy/control/control_stream.h), and is kept in --cache-dir: /ready waits for a first config.
//   SIGHUP: re-read --config, and --cert/--key/--trust-bundle in static mode; anything invalid
//   is rejected and what was there stays
class Server {
 public:
  explicit Server(config::Options options);
  ~Server();

  absl::Status start();
  // Runs until drained; returns the process exit code.
  int run();

 private:
  void reloadConfig();
  // Puts a new config in force on every worker (before they start: the one they start with).
  void installRoutes(router::RouteTableConstSharedPtr routes);
  // Pushed config (--control without --config): the cache, then the control stream.
  void loadCachedConfig();
  void startControlStream();
  absl::Status applyPush(const api::push::Update& update);
  // An update that changed only these Services' ("<ns>/<name>") endpoints.
  void applyEndpointChanges(const api::MeshConfigConstSharedPtr& mesh,
                            const std::vector<std::string>& services);
  std::string notReadyReason() const;
  void reloadCredentials();
  // A new certificate: the first starts the workers, later ones go to them.
  void installCredentials(std::shared_ptr<const identity::Credentials> creds);
  absl::Status startIdentity();
  // Reads --config (if any) and compiles its routes; the version is used only on success.
  absl::StatusOr<router::RouteTableConstSharedPtr> loadRoutes();
  int activeConnections() const;

  config::Options options_;
  runtime::MainLoop main_;
  metrics::Metrics metrics_;
  router::RouteTableConstSharedPtr routes_;
  api::MeshConfigConstSharedPtr mesh_;  // routes_->mesh(), for /config
  std::shared_ptr<const identity::Credentials> credentials_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<admin::AdminServer> admin_;
  // After main_: its timer goes before the io_context it was made on.
  std::unique_ptr<proxy::certificates::IdentityManager> identity_;
  proxy::control::PushedConfig pushed_;
  std::unique_ptr<proxy::control::ControlStream> control_stream_;
  bool has_config_ = false;  // pushed config: one from a push or the cache is in force
  runtime::MemoryReturner memory_returner_{main_.io()};
  uint64_t next_version_ = 1;
  bool workers_started_ = false;
  int exit_code_ = 0;
  bool ready_ = false;
};

}  // namespace weft::proxy
