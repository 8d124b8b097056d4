#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "identity/credentials.h"
#include "net/asio.h"
#include "proxy/config/options.h"
#include "proxy/context/worker_context.h"
#include "proxy/metrics/metrics.h"
#include "proxy/pipeline/request_pipeline.h"
#include "proxy/router/route_table.h"
#include "runtime/worker_thread.h"

namespace weft::proxy {

// A proxy worker: one runtime::WorkerThread with its own listeners (SO_REUSEPORT), pipelines,
// pool and metric cache. The main thread talks to it only by posting closures.
class Worker {
 public:
  Worker(const config::Options& options, metrics::Metrics& metrics,
         router::RouteTableConstSharedPtr routes,
         std::shared_ptr<const identity::Credentials> creds);
  ~Worker();

  // Binds this worker's listeners; called on the main thread before start().
  absl::Status bind();
  // `creds`, when given, are this worker's first credentials (a proxy whose certificate came
  // from the control plane builds its workers before it has one).
  absl::Status start(std::shared_ptr<const identity::Credentials> creds = nullptr);

  // Thread-safe: each posts to the worker.
  void updateRoutes(router::RouteTableConstSharedPtr routes);
  // Endpoint lists by Service ("<ns>/<name>") for the current route table's destinations.
  void updateEndpoints(std::vector<std::pair<std::string, EndpointListPtr>> changes);
  void updateCredentials(std::shared_ptr<const identity::Credentials> creds);
  // Stop accepting, close idle connections, let exchanges in flight finish.
  void drain();
  int activeConnections() const;
  // Ends the event loop (whatever is left is cut) and joins the thread.
  void stop();

 private:
  awaitable<void> sweepPool();

  // First: its context is destroyed explicitly in ~Worker, before ctx_ (pending frames use
  // both), and the object itself last.
  runtime::WorkerThread thread_;
  std::unique_ptr<WorkerContext> ctx_;
  std::unique_ptr<pipeline::RequestPipelineImpl> outbound_pipeline_;
  std::unique_ptr<pipeline::RequestPipelineImpl> inbound_pipeline_;
  std::unique_ptr<tcp::acceptor> outbound_acceptor_;
  std::unique_ptr<tcp::acceptor> inbound_acceptor_;
};

}  // namespace weft::proxy
