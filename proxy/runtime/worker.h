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
#include "proxy/runtime/worker_inbox.h"

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

  // Only this worker's thread touches its io_context once it runs (listeners are opened and
  // the first coroutines spawned before it starts; the main thread's work comes through inbox_),
  // so the scheduler and the reactor run without locks.
  std::unique_ptr<asio::io_context> io_;  // destroyed before ctx_: pending frames use it
  std::unique_ptr<WorkerInbox> inbox_;    // destroyed before io_ (its eventfd is registered)
  std::unique_ptr<WorkerContext> ctx_;
  std::unique_ptr<pipeline::RequestPipelineImpl> outbound_pipeline_;
  std::unique_ptr<pipeline::RequestPipelineImpl> inbound_pipeline_;
  std::unique_ptr<tcp::acceptor> outbound_acceptor_;
  std::unique_ptr<tcp::acceptor> inbound_acceptor_;
  std::thread thread_;
};

}  // namespace weft::runtime
