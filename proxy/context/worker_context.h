#pragma once

#include <atomic>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "control/api/resources.h"
#include "identity/credentials.h"
#include "net/asio.h"
#include "net/http/codec.h"
#include "net/http/http1/settings.h"
#include "net/http/http2/settings.h"
#include "proxy/balancer/endpoint_state.h"
#include "proxy/balancer/random.h"
#include "proxy/config/options.h"
#include "proxy/context/address_index.h"
#include "proxy/context/retired_state.h"
#include "proxy/context/service_state.h"
#include "proxy/metrics/metrics.h"
#include "proxy/metrics/resilience_metrics.h"
#include "proxy/router/route_table.h"
#include "proxy/upstream/connector.h"
#include "proxy/upstream/pool.h"

namespace weft {

struct WorkerContext;

// The mesh config as one worker sees it: the immutable route table (which holds the MeshConfig)
// and the worker's destinations as this config names them. A request pins it with a shared_ptr
// whose control block belongs to this worker, so pinning never bounces a cache line between
// workers. Only the owning worker thread touches it.
class WorkerSnapshot {
 public:
  WorkerSnapshot(WorkerContext& ctx, router::RouteTableConstSharedPtr table, uint64_t generation);

  const api::MeshConfig& mesh() const { return table_->mesh(); }
  const router::RouteTable& routes() const { return *table_; }

  // The host set a backend sends to, as its destination has it now (endpoint updates since this
  // snapshot included). The caller holds it while it uses its endpoints.
  std::shared_ptr<HostSetState> hostSet(const router::Backend& backend);
  // Valid while this snapshot lives. The first use by this snapshot brings the destination up
  // to this config (its policy, subsets and endpoints), unless a newer config already did.
  ServiceState& serviceState(const api::Service& service);
  // Periodic upkeep: ejections that ended leave outlier_ejected_endpoints.
  void refreshGauges(balancer::TimePoint now);
  // The Service an intercepted connection to `key` ("ip:port", api::addressKey) goes to: by one
  // of its addresses, or one of its endpoints' as they are now.
  AddressMatch findAddress(const std::string& key);
  // The endpoints changed: the next findAddress() looks them up afresh.
  void forgetAddresses() { addresses_.reset(); }
  // "<name>.<namespace>", the dst_service metric label.
  const std::string& serviceLabel(const api::Service& service);
  // Called when a newer snapshot replaces this one: keeps what that swap retired alive as long
  // as this snapshot (requests pinning it may still use it).
  void keepRetired(std::shared_ptr<RetiredState> retired) { retired_ = std::move(retired); }

 private:
  // First: destroyed last, after the host sets that point into its Service states.
  std::shared_ptr<RetiredState> retired_;
  WorkerContext& ctx_;
  router::RouteTableConstSharedPtr table_;
  uint64_t generation_;
  std::vector<ServiceState*> services_;      // by service index
  std::vector<std::string> service_labels_;  // by service index; "" until used
  std::unique_ptr<AddressIndex> addresses_;  // built by the first findAddress()
};

// Everything one worker thread owns. Only that thread touches it, except `active_connections`,
// which the main thread reads while draining. Config and credentials are immutable snapshots:
// the main thread posts replacements, and each request or connection holds the snapshot it
// started with.
struct WorkerContext {
  WorkerContext(asio::io_context& io_context, const config::Options& opts,
                metrics::Metrics& process_metrics, router::RouteTableConstSharedPtr initial_routes,
                std::shared_ptr<const identity::Credentials> initial_credentials);

  // Installs a new config: requests in flight keep the snapshot they started with. State keyed
  // by what the new config no longer names (Service states, metric cache entries, endpoint
  // states) leaves the worker's tables and is freed once no older snapshot is left.
  void installRoutes(router::RouteTableConstSharedPtr routes);
  // Only the endpoints of the Service "<ns>/<name>" changed: its destination's host sets are
  // updated (those whose members changed are replaced) without a new snapshot or route table.
  // Returns how many host sets were replaced.
  size_t updateEndpoints(const std::string& key, EndpointListPtr endpoints);
  ServiceState& serviceState(const api::Service& service);
  // The endpoints of `service` (of `mesh`, the current snapshot's config) as they are now.
  EndpointListPtr endpointsOf(const api::Service& service,
                              const api::MeshConfigConstSharedPtr& mesh) const;

  asio::io_context& io;
  const config::Options& options;
  metrics::Metrics& process_metrics;
  http::http1::Settings http1;
  http::http2::Settings http2;

  metrics::WorkerMetrics metrics;
  metrics::ResilienceMetrics& resilience_metrics;
  balancer::Random random;
  balancer::EndpointRegistry endpoints;  // survives config swaps
  // Per destination Service ("<ns>/<name>") of the current config; a swap that drops a Service
  // retires its state (permits of old requests point into it) with the snapshot it replaced.
  std::unordered_map<std::string, std::unique_ptr<ServiceState>> services;
  // Endpoints updated since the current snapshot came in, by "<ns>/<name>": they replace what
  // its config lists. Cleared by the next snapshot (its config has them).
  std::unordered_map<std::string, EndpointListPtr> endpoint_updates;
  uint64_t generations = 0;  // snapshots installed so far

  std::shared_ptr<WorkerSnapshot> snapshot;
  std::weak_ptr<RetiredState>
      last_retired;  // the latest swap's bag, while an old snapshot holds it
  std::shared_ptr<const identity::Credentials> credentials;

  upstream::ConnectorImpl connector;
  upstream::ConnectionPool pool;
  upstream::Target app_target;      // HTTP/1.1
  upstream::Target app_target_h2c;  // HTTP/2 with prior knowledge

  std::unordered_set<http::ServerConnection*> connections;
  bool draining = false;
  std::atomic<int> active_connections{0};
};

}  // namespace weft
