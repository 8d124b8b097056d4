#pragma once

#include <atomic>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "control/api/resources.h"
#include "identity/credentials.h"
#include "proxy/common/asio.h"
#include "proxy/config/options.h"
#include "proxy/http/codec.h"
#include "proxy/http/http1/settings.h"
#include "proxy/metrics/metrics.h"
#include "proxy/router/outbound_router.h"
#include "proxy/upstream/connector.h"
#include "proxy/upstream/pool.h"

namespace weft {

// The mesh config as one worker sees it: the immutable snapshot plus what the worker derives
// from it (an upstream target per endpoint, built once). A request pins it with a shared_ptr
// whose control block belongs to this worker, so pinning never bounces a cache line between
// workers. Only the owning worker thread touches it.
class WorkerSnapshot {
 public:
  explicit WorkerSnapshot(api::MeshConfigConstSharedPtr mesh) : mesh_(std::move(mesh)) {}

  const api::MeshConfig& mesh() const { return *mesh_; }
  // Stable reference: valid while this snapshot lives.
  const upstream::Target& targetFor(const api::Endpoint& endpoint);

 private:
  api::MeshConfigConstSharedPtr mesh_;
  std::unordered_map<const api::Endpoint*, upstream::Target> targets_;
};

// Everything one worker thread owns. Only that thread touches it, except `active_connections`,
// which the main thread reads while draining. Config and credentials are immutable snapshots:
// the main thread posts replacements, and each request or connection holds the snapshot it
// started with.
struct WorkerContext {
  WorkerContext(asio::io_context& io_context, const config::Options& opts,
                metrics::Metrics& process_metrics, api::MeshConfigConstSharedPtr initial_mesh,
                std::shared_ptr<const identity::Credentials> initial_credentials);

  asio::io_context& io;
  const config::Options& options;
  metrics::Metrics& process_metrics;
  http::http1::Settings http1;

  std::shared_ptr<WorkerSnapshot> snapshot;
  std::shared_ptr<const identity::Credentials> credentials;

  metrics::WorkerMetrics metrics;
  router::OutboundRouter router;
  upstream::ConnectorImpl connector;
  upstream::ConnectionPool pool;
  upstream::Target app_target;

  std::unordered_set<http::ServerConnection*> connections;
  bool draining = false;
  std::atomic<int> active_connections{0};
};

}  // namespace weft
