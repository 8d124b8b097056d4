#include "proxy/server/server.h"

#include <thread>

#include "common/rfc3339.h"
#include "common/strings.h"
#include "control/api/yaml_decoder.h"
#include "net/log.h"
#include "net/spawn_guard.h"

namespace weft::proxy {

Server::Server(config::Options options) : options_(std::move(options)), main_(options_.drain) {}

Server::~Server() {
  for (auto& w : workers_) w->stop();
}

absl::Status Server::start() {
  if (!options_.dynamicIdentity()) {
    auto creds = identity::Credentials::load({options_.cert, options_.key, options_.trust_bundle},
                                             options_.trust_domain, options_.identity());
    if (!creds.ok()) return creds.status();
    credentials_ = *creds;
    metrics_.setCertificate(credentials_->notBefore(), credentials_->notAfter());
  }

  auto routes = loadRoutes();
  if (!routes.ok()) return routes.status();
  installRoutes(std::move(*routes));
  has_config_ = !options_.pushedConfig();
  if (options_.pushedConfig()) loadCachedConfig();

  unsigned n =
      options_.workers ? options_.workers : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    auto worker = std::make_unique<Worker>(options_, metrics_, routes_, credentials_);
    if (auto st = worker->bind(); !st.ok()) return st;
    workers_.push_back(std::move(worker));
  }

  admin_ = std::make_unique<admin::AdminServer>(
      main_.io(),
      admin::AdminSources{[this] { return ready_ && has_config_ && !main_.draining(); },
                          [this] { return mesh_; }, &metrics_, options_.admin_debug_access,
                          [this] { return notReadyReason(); }});
  if (auto st = admin_->listen(options_.admin); !st.ok()) return st;

  memory_returner_.start();
  main_.start({.reload =
                   [this] {
                     reloadConfig();
                     reloadCredentials();
                   },
               .begin_drain =
                   [this] {
                     if (identity_) identity_->stop();
                     if (control_stream_) control_stream_->stop();
                     for (auto& w : workers_) w->drain();
                   },
               .active = [this] { return activeConnections(); },
               .drained = [this] { admin_->stop(); }});
  if (options_.dynamicIdentity()) return startIdentity();
  installCredentials(credentials_);
  return exit_code_ == 0 ? absl::OkStatus() : absl::UnavailableError("a listener cannot open");
}

absl::Status Server::startIdentity() {
  auto control = proxy::certificates::parseControlUrl(options_.control);
  if (!control.ok()) {
    return absl::InvalidArgumentError(weft::strCat("--control ", control.status().message()));
  }
  auto client = std::make_unique<proxy::certificates::CertificateClientImpl>(
      main_.io().get_executor(), std::move(*control), options_.trust_domain);
  proxy::certificates::IdentitySettings settings;
  settings.identity = options_.identity();
  settings.trust_domain = options_.trust_domain;
  settings.token_file = options_.token_file;
  settings.trust_bundle_file = options_.trust_bundle;
  settings.cache_dir = options_.cache_dir;
  identity_ = std::make_unique<proxy::certificates::IdentityManager>(
      main_.io(), std::move(settings), std::move(client), metrics_,
      [this](std::shared_ptr<const identity::Credentials> creds) {
        installCredentials(std::move(creds));
      });
  log::info("weft-proxy waiting for its certificate from ", options_.control,
            " (admin=", options_.admin.host, ":", options_.admin.port, ")");
  return identity_->start();
}

std::string Server::notReadyReason() const {
  if (main_.draining()) return "draining";
  if (identity_) {
    std::string why = identity_->notReadyReason();
    if (!why.empty()) return why;
  }
  if (!has_config_) {
    return weft::strCat("waiting for the first config from the control plane: ",
                        control_stream_ ? control_stream_->state() : std::string("connecting"));
  }
  return "";
}

void Server::loadCachedConfig() {
  if (options_.cache_dir.empty()) return;
  auto mesh = pushed_.load(options_.cache_dir);
  if (!mesh.ok()) {
    if (!absl::IsNotFound(mesh.status())) {
      log::warn("cached config not used: ", mesh.status().message());
    }
    return;
  }
  auto routes = router::RouteTable::build(std::move(*mesh));
  if (!routes.ok()) {
    log::warn("cached config not used: ", routes.status().message());
    return;
  }
  installRoutes(std::move(*routes));
  has_config_ = true;
  log::info("serving the cached config version ", pushed_.version(), " from ", options_.cache_dir,
            " until the control plane answers: ", mesh_->services().size(), " services");
}

void Server::startControlStream() {
  auto control = proxy::certificates::parseControlUrl(options_.control);
  if (!control.ok()) return;  // checked at start
  // A wildcard host: ":PORT", at the address the control stream comes from.
  auto advertised = [](const api::HostPort& hp) {
    return hp.host == "0.0.0.0" || hp.host == "::" ? weft::strCat(":", hp.port)
                                                   : weft::strCat(hp.host, ":", hp.port);
  };
  api::push::Node node{options_.service, options_.ns,
                       options_.labels,  advertised(options_.inbound),
                       options_.egress,  advertised(options_.admin)};
  control_stream_ = std::make_unique<proxy::control::ControlStream>(
      main_.io(),
      proxy::control::ControlStreamSettings{std::move(*control), options_.trust_domain,
                                            std::move(node)},
      [this] { return credentials_; },
      [this] { return std::pair(pushed_.version(), pushed_.held()); },
      [this](const api::push::Update& u) { return applyPush(u); });
  control_stream_->start();
}

absl::Status Server::applyPush(const api::push::Update& update) {
  // Asked before apply(), which makes the update the held state.
  std::optional<std::vector<std::string>> endpoint_changes =
      has_config_ ? pushed_.endpointChanges(update) : std::nullopt;
  auto mesh = pushed_.apply(update, options_.max_services);
  absl::StatusOr<router::RouteTableConstSharedPtr> routes = nullptr;
  if (!mesh.ok()) {
    routes = mesh.status();
  } else if (!endpoint_changes) {
    routes = router::RouteTable::build(*mesh);
  }
  if (!routes.ok()) {
    metrics_.recordReload(false);
    log::error("pushed config version ", update.version, " refused (NACK), keeping version ",
               mesh_->version(), ": ", routes.status().message());
    return routes.status();
  }
  if (endpoint_changes) {
    applyEndpointChanges(*mesh, *endpoint_changes);
  } else {
    metrics_.recordReload(true);
    installRoutes(std::move(*routes));
    log::info("pushed config version ", update.version, " applied: ", update.resources.size(),
              " changed, ", update.removed.size(), " removed; ", mesh_->services().size(),
              " services in scope");
  }
  has_config_ = true;
  if (!options_.cache_dir.empty()) {
    if (absl::Status st = pushed_.save(options_.cache_dir); !st.ok()) {
      log::warn("cannot cache the pushed config: ", st.message());
    }
  }
  return absl::OkStatus();
}

void Server::applyEndpointChanges(const api::MeshConfigConstSharedPtr& mesh,
                                  const std::vector<std::string>& services) {
  // The update was decoded whole like any other (the same checks, and /config shows it), but
  // the route table stays: only the named destinations take their new endpoint lists, which
  // share the decoded config instead of copying it.
  std::vector<std::pair<std::string, EndpointListPtr>> changes;
  for (const std::string& key : services) {
    const size_t slash = key.find('/');
    const api::Service* svc = mesh->findService(key.substr(slash + 1), key.substr(0, slash));
    if (svc != nullptr) changes.emplace_back(key, EndpointListPtr(mesh, &svc->endpoints));
  }
  mesh_ = mesh;
  for (auto& w : workers_) w->updateEndpoints(changes);
  metrics_.setConfigVersion(mesh_->version());
  metrics_.recordEndpointUpdate();
  log::info("pushed config version ", mesh_->version(), " applied: endpoints of ",
            weft::join(services, ", "), " updated in place (route table kept)");
}

void Server::installRoutes(router::RouteTableConstSharedPtr routes) {
  routes_ = std::move(routes);
  mesh_ = routes_->meshPtr();
  for (auto& w : workers_) w->updateRoutes(routes_);
  metrics_.setConfigVersion(mesh_->version());
}

void Server::installCredentials(std::shared_ptr<const identity::Credentials> creds) {
  credentials_ = std::move(creds);
  if (options_.pushedConfig() && !control_stream_) startControlStream();
  if (workers_started_) {
    for (auto& w : workers_) w->updateCredentials(credentials_);
    return;
  }
  if (main_.draining()) return;
  workers_started_ = true;
  for (auto& w : workers_) {
    if (absl::Status st = w->start(credentials_); !st.ok()) {
      log::error("cannot start: ", st.message());
      exit_code_ = 1;
      main_.drain("a listener cannot open");
      return;
    }
  }
  ready_ = true;
  log::info("weft-proxy ready: identity=", credentials_->identity(),
            " outbound=", options_.outbound.host, ":", options_.outbound.port,
            " inbound=", options_.inbound.host, ":", options_.inbound.port,
            " admin=", options_.admin.host, ":", options_.admin.port, " workers=", workers_.size(),
            " services=", mesh_->services().size());
}

void Server::reloadCredentials() {
  if (options_.dynamicIdentity()) return;
  auto creds = identity::Credentials::load({options_.cert, options_.key, options_.trust_bundle},
                                           options_.trust_domain, options_.identity());
  if (!creds.ok()) {
    log::error("certificate reload rejected, keeping the one valid until ",
               weft::rfc3339(credentials_->notAfter()), ": ", creds.status().message());
    return;
  }
  metrics_.setCertificate((*creds)->notBefore(), (*creds)->notAfter());
  installCredentials(*creds);
  log::info("certificate reloaded from ", options_.cert, ", valid until ",
            weft::rfc3339(credentials_->notAfter()));
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
  installRoutes(std::move(*routes));
  log::info("config version ", mesh_->version(), " loaded from ", options_.config, ": ",
            mesh_->services().size(), " services, ", mesh_->routes().size(), " routes, ",
            mesh_->policies().size(), " policies");
}

int Server::activeConnections() const {
  int n = 0;
  for (const auto& w : workers_) n += w->activeConnections();
  return n;
}

int Server::run() {
  main_.run();
  for (auto& w : workers_) w->stop();
  return exit_code_;
}

}  // namespace weft::proxy
