#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "net/asio.h"
#include "runtime/worker_inbox.h"

namespace weft::runtime {

// One event loop on one thread: the skeleton of every worker, in the proxy and the control plane.
// Its io_context runs without locks (BOOST_ASIO_CONCURRENCY_HINT_UNSAFE): before start() the
// owner sets it up from the main thread (binds listeners, spawns coroutines); after, only the
// worker's thread touches it, and other threads reach it through post().
class WorkerThread {
 public:
  WorkerThread();
  // Stops and joins the thread, then destroys the coroutines still suspended on the context.
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  asio::io_context& io() { return *io_; }

  // Creates the inbox; before post() or start().
  absl::Status open();
  // Starts the thread running the loop until stop().
  void start();
  // Any thread: runs `work` on the worker's thread, in the order posted.
  void post(std::function<void()> work);
  // Ends the loop (whatever is left is cut) and joins the thread; idempotent.
  void stop();
  // Stops, then destroys the context with the coroutines still suspended on it. The owner calls
  // it before what those coroutines reference goes (sockets on the context must be gone first);
  // io() is invalid after.
  void destroyContext();

 private:
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<WorkerInbox> inbox_;  // destroyed before io_ (its eventfd is registered)
  std::thread thread_;
};

}  // namespace weft::runtime
