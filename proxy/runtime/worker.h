#pragma once

#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "control/api/resources.h"
#include "identity/credentials.h"
#include "proxy/common/asio.h"
#include "proxy/config/options.h"
#include "proxy/context/worker_context.h"
#include "proxy/metrics/metrics.h"
#include "proxy/pipeline/request_pipeline.h"

namespace weft::runtime {

// One event loop on one thread, with its own listeners (SO_REUSEPORT), pipelines, pool and
// metric cache. The main thread talks to it only by posting closures.
class Worker {
 public:
  Worker(const config::Options& options, metrics::Metrics& metrics,
         router::RouteTableConstSharedPtr routes,
         std::shared_ptr<const identity::Credentials> creds);
  ~Worker();

  // Binds this worker's listeners; called on the main thread before start().
  absl::Status bind();
  void start();

  // Thread-safe: each posts to the worker.
  void updateRoutes(router::RouteTableConstSharedPtr routes);
  void updateCredentials(std::shared_ptr<const identity::Credentials> creds);
  // Stop accepting, close idle connections, let exchanges in flight finish.
  void drain();
  int activeConnections() const;
  // Ends the event loop (whatever is left is cut) and joins the thread.
  void stop();

 private:
  awaitable<void> sweepPool();

  // Sockets and timers are only touched by this worker's thread (listeners are opened before it
  // starts), so the reactor runs without locks; posts from the main thread stay locked.
  std::unique_ptr<asio::io_context> io_;  // destroyed before ctx_: pending frames use it
  std::unique_ptr<WorkerContext> ctx_;
  std::unique_ptr<pipeline::RequestPipelineImpl> outbound_pipeline_;
  std::unique_ptr<pipeline::RequestPipelineImpl> inbound_pipeline_;
  std::unique_ptr<tcp::acceptor> outbound_acceptor_;
  std::unique_ptr<tcp::acceptor> inbound_acceptor_;
  std::thread thread_;
};

}  // namespace weft::runtime
