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
// plus what the worker derives from it lazily — an upstream target per endpoint, balancing state
// per host set, the resilience state per Service. A request pins it with a shared_ptr whose
// control block belongs to this worker, so pinning never bounces a cache line between workers.
// Only the owning worker thread touches it.
class WorkerSnapshot {
 public:
  WorkerSnapshot(WorkerContext& ctx, router::RouteTableConstSharedPtr table);

  const api::MeshConfig& mesh() const { return table_->mesh(); }
  const router::RouteTable& routes() const { return *table_; }

  // Stable references: valid while this snapshot lives.
  const upstream::Target& targetFor(const api::Service& service, const api::Endpoint& endpoint);
  HostSetState& hostSet(const router::Backend& backend);
  ServiceState& serviceState(const api::Service& service);
  // Periodic upkeep: ejections that ended leave outlier_ejected_endpoints.
  void refreshGauges(balancer::TimePoint now);
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
  std::unordered_map<const api::Endpoint*, upstream::Target> targets_;
  std::vector<std::unique_ptr<HostSetState>> host_sets_;  // by RouteTable host-set id
  std::vector<ServiceState*> services_;                   // by service index
  std::vector<std::string> service_labels_;               // by service index; "" until used
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
  ServiceState& serviceState(const api::Service& service);

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
