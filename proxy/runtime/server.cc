#include "proxy/runtime/server.h"

#include <csignal>
#include <thread>

#include <boost/asio/signal_set.hpp>

#include "common/strings.h"
#include "control/api/yaml_decoder.h"
#include "proxy/common/log.h"
#include "proxy/common/spawn_guard.h"

namespace weft::runtime {

Server::Server(config::Options options)
    : options_(std::move(options)), signals_(io_, SIGTERM, SIGINT, SIGHUP) {}

Server::~Server() {
  for (auto& w : workers_) w->stop();
}

absl::Status Server::start() {
  auto creds = identity::Credentials::load({options_.cert, options_.key, options_.trust_bundle},
                                           options_.trust_domain, options_.identity());
  if (!creds.ok()) return creds.status();
  credentials_ = *creds;
  metrics_.setCertificateExpiry(credentials_->notAfter());

  auto routes = loadRoutes();
  if (!routes.ok()) return routes.status();
  routes_ = std::move(*routes);
  mesh_ = routes_->meshPtr();
  metrics_.setConfigVersion(mesh_->version());

  unsigned n =
      options_.workers ? options_.workers : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    auto worker = std::make_unique<Worker>(options_, metrics_, routes_, credentials_);
    if (auto st = worker->bind(); !st.ok()) return st;
    workers_.push_back(std::move(worker));
  }

  admin_ = std::make_unique<admin::AdminServer>(
      io_, admin::AdminSources{[this] { return ready_ && !draining_; }, [this] { return mesh_; },
                               &metrics_, options_.admin_debug_access});
  if (auto st = admin_->listen(options_.admin); !st.ok()) return st;

  for (auto& w : workers_) w->start();
  memory_returner_.start();
  signals_.async_wait([this](const error_code& ec, int sig) {
    if (!ec) onSignal(sig);
  });
  ready_ = true;
  log::info("weft-proxy ready: identity=", credentials_->identity(),
            " outbound=", options_.outbound.host, ":", options_.outbound.port,
            " inbound=", options_.inbound.host, ":", options_.inbound.port,
            " admin=", options_.admin.host, ":", options_.admin.port, " workers=", n,
            " services=", mesh_->services().size());
  return absl::OkStatus();
}

void Server::onSignal(int sig) {
  if (sig == SIGHUP) {
    reloadConfig();
  } else if (!draining_) {
    log::info("received ", sig == SIGTERM ? "SIGTERM" : "SIGINT", ": draining for up to ",
              options_.drain.count(), "s");
    beginDrain();
  }
  signals_.async_wait([this](const error_code& ec, int s) {
    if (!ec) onSignal(s);
  });
}

absl::StatusOr<router::RouteTableConstSharedPtr> Server::loadRoutes() {
  api::MeshConfigConstSharedPtr mesh;
  if (options_.config.empty()) {
    mesh = std::make_shared<const api::MeshConfig>(api::Resources{}, "(none)", 0);
  } else {
    auto loaded = api::loadMeshConfigFile(options_.config, next_version_);
    if (!loaded.ok()) return loaded.status();
    mesh = std::move(*loaded);
  }
  auto routes = router::RouteTable::build(std::move(mesh));
  if (!routes.ok()) return routes.status();
  ++next_version_;
  return routes;
}

void Server::reloadConfig() {
  if (options_.config.empty()) return;
  auto routes = loadRoutes();
  if (!routes.ok()) {
    metrics_.recordReload(false);
    log::error("config reload rejected, keeping version ", mesh_->version(), ": ",
               routes.status().message());
    return;
  }
  metrics_.recordReload(true);
  routes_ = std::move(*routes);
  mesh_ = routes_->meshPtr();
  for (auto& w : workers_) w->updateRoutes(routes_);
  metrics_.setConfigVersion(mesh_->version());
  log::info("config version ", mesh_->version(), " loaded from ", options_.config, ": ",
            mesh_->services().size(), " services, ", mesh_->routes().size(), " routes, ",
            mesh_->policies().size(), " policies");
}

void Server::beginDrain() {
  draining_ = true;
  for (auto& w : workers_) w->drain();
  asio::co_spawn(io_, waitForDrain(), SpawnGuard({"drain wait"}));
}

int Server::activeConnections() const {
  int n = 0;
  for (const auto& w : workers_) n += w->activeConnections();
  return n;
}

awaitable<void> Server::waitForDrain() {
  auto deadline = std::chrono::steady_clock::now() + options_.drain;
  asio::steady_timer tick(io_);
  while (activeConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(std::chrono::milliseconds(50));
    co_await tick.async_wait(kUseTuple);
  }
  int left = activeConnections();
  if (left > 0) {
    log::warn("drain grace period over with ", left, " connections still open; closing them");
  } else {
    log::info("drained: all in-flight requests completed");
  }
  admin_->stop();
  signals_.cancel();
  io_.stop();
}

int Server::run() {
  io_.run();
  for (auto& w : workers_) w->stop();
  return 0;
}

}  // namespace weft::runtime
