#include "proxy/context/worker_context.h"

#include <unordered_set>

#include "common/strings.h"

namespace weft {
namespace {

// What of the worker's tables `current` no longer names, moved into one bag.
std::shared_ptr<RetiredState> retireDropped(WorkerContext& ctx, const api::MeshConfig& current) {
  std::unordered_set<std::string> keys;                     // "<ns>/<name>"
  std::unordered_set<std::string> dst_services{"unknown"};  // dst_service labels
  std::unordered_set<std::string> subsets;                  // "<dst_service>\n<subset>"
  std::unordered_set<std::string> routes{"", "default"};    // route labels
  for (const api::Service& s : current.services()) {
    keys.insert(weft::strCat(s.ns, "/", s.name));
    std::string label = weft::strCat(s.name, ".", s.ns);
    subsets.insert(weft::strCat(label, "\n"));
    for (const api::Subset& subset : s.subsets)
      subsets.insert(weft::strCat(label, "\n", subset.name));
    dst_services.insert(std::move(label));
  }
  for (const api::HTTPRoute& r : current.routes()) routes.insert(r.name);

  auto retired = std::make_shared<RetiredState>();
  for (auto it = ctx.services.begin(); it != ctx.services.end();) {
    if (keys.contains(it->first)) {
      ++it;
      continue;
    }
    retired->services.push_back(std::move(it->second));
    it = ctx.services.erase(it);
  }
  auto label = [](const prometheus::Labels& labels, const char* name) -> std::string_view {
    auto it = labels.find(name);
    return it == labels.end() ? std::string_view() : std::string_view(it->second);
  };
  retired->targets = ctx.metrics.retire([&](const prometheus::Labels& l) {
    if (label(l, "direction") != "outbound") return false;  // inbound: this workload itself
    const std::string dst(label(l, "dst_service"));
    return !dst_services.contains(dst) || !routes.contains(std::string(label(l, "route"))) ||
           (dst != "unknown" && !subsets.contains(weft::strCat(dst, "\n", label(l, "dst_subset"))));
  });
  return retired;
}

}  // namespace

WorkerSnapshot::WorkerSnapshot(WorkerContext& ctx, router::RouteTableConstSharedPtr table,
                               uint64_t generation)
    : ctx_(ctx),
      table_(std::move(table)),
      generation_(generation),
      services_(table_->mesh().services().size(), nullptr),
      service_labels_(table_->mesh().services().size()) {}

void WorkerSnapshot::refreshGauges(balancer::TimePoint now) {
  // Once per Service (its host sets share the count), for every Service this snapshot has used.
  for (ServiceState* service : services_) {
    if (service != nullptr) service->expireEjections(now);
  }
}

const std::string& WorkerSnapshot::serviceLabel(const api::Service& service) {
  std::string& label = service_labels_[static_cast<size_t>(&service - mesh().services().data())];
  if (label.empty()) label = weft::strCat(service.name, ".", service.ns);
  return label;
}

ServiceState& WorkerSnapshot::serviceState(const api::Service& service) {
  auto index = static_cast<size_t>(&service - mesh().services().data());
  ServiceState*& state = services_[index];
  if (state == nullptr) {
    state = &ctx_.serviceState(service);
    state->update(generation_, service, mesh().policyFor(service),
                  ctx_.endpointsOf(service, table_->meshPtr()));
  }
  return *state;
}

AddressMatch WorkerSnapshot::findAddress(const std::string& key) {
  if (!addresses_) {
    addresses_ = std::make_unique<AddressIndex>(mesh(), [this](const api::Service& service) {
      return ctx_.endpointsOf(service, table_->meshPtr());
    });
  }
  return addresses_->find(key);
}

std::shared_ptr<HostSetState> WorkerSnapshot::hostSet(const router::Backend& backend) {
  return serviceState(*backend.service).hostSet(backend.subset);
}

WorkerContext::WorkerContext(asio::io_context& io_context, const config::Options& opts,
                             metrics::Metrics& process_metrics,
                             router::RouteTableConstSharedPtr initial_routes,
                             std::shared_ptr<const identity::Credentials> initial_credentials)
    : io(io_context),
      options(opts),
      process_metrics(process_metrics),
      http1{.max_header_bytes = opts.max_header_bytes,
            .max_chunk_line_bytes = opts.max_chunk_line_bytes,
            .idle_timeout = opts.idle_timeout,
            .read_timeout = opts.read_timeout,
            .tunnel_idle_timeout = opts.tunnel_idle_timeout},
      http2{.max_header_bytes = opts.max_header_bytes,
            .idle_timeout = opts.idle_timeout,
            .read_timeout = opts.read_timeout,
            .tunnel_idle_timeout = opts.tunnel_idle_timeout,
            .max_premature_resets = opts.h2_max_premature_resets,
            .max_control_frames = opts.h2_max_control_frames,
            .keepalive = {}},
      metrics(process_metrics),
      resilience_metrics(process_metrics.resilience()),
      credentials(std::move(initial_credentials)),
      connector(io_context.get_executor(), http1, http2, opts.connect_timeout, process_metrics,
                [this] { return credentials; }),
      pool(io_context.get_executor(), connector, opts.pool_idle_timeout),
      app_target(upstream::Target::plain(opts.app)),
      app_target_h2c(upstream::Target::plain(opts.app, upstream::Target::Protocol::kH2c)) {
  installRoutes(std::move(initial_routes));
}

void WorkerContext::installRoutes(router::RouteTableConstSharedPtr routes) {
  std::shared_ptr<WorkerSnapshot> previous = std::move(snapshot);
  snapshot = std::make_shared<WorkerSnapshot>(*this, std::move(routes), ++generations);
  endpoint_updates.clear();           // the new config has them
  endpoints.prune(snapshot->mesh());  // states old snapshots still use are kept
  if (!previous) return;
  std::shared_ptr<RetiredState> retired = retireDropped(*this, snapshot->mesh());
  // Older snapshots still alive hold the previous bag: it keeps this one too.
  if (auto older = last_retired.lock()) older->newer = retired;
  last_retired = retired;
  previous->keepRetired(std::move(retired));
}  // `previous` goes here unless requests pin it, and with it what only it kept

size_t WorkerContext::updateEndpoints(const std::string& key, EndpointListPtr list) {
  endpoint_updates[key] = list;
  size_t replaced = 0;
  if (auto it = services.find(key); it != services.end()) {
    replaced = it->second->setEndpoints(std::move(list));
  }
  endpoints.prune(snapshot->mesh(), endpoint_updates);  // departed endpoints' states go
  snapshot->forgetAddresses();
  return replaced;
}

EndpointListPtr WorkerContext::endpointsOf(const api::Service& service,
                                           const api::MeshConfigConstSharedPtr& mesh) const {
  if (!endpoint_updates.empty()) {
    auto it = endpoint_updates.find(weft::strCat(service.ns, "/", service.name));
    if (it != endpoint_updates.end()) return it->second;
  }
  return EndpointListPtr(mesh, &service.endpoints);  // shares the config's list, no copy
}

ServiceState& WorkerContext::serviceState(const api::Service& service) {
  std::string key = weft::strCat(service.ns, "/", service.name);
  auto it = services.find(key);
  if (it == services.end()) {
    auto state = std::make_unique<ServiceState>(
        io.get_executor(),
        resilience_metrics.forService(weft::strCat(service.name, ".", service.ns)), endpoints,
        random);
    it = services.emplace(std::move(key), std::move(state)).first;
  }
  return *it->second;
}

}  // namespace weft
