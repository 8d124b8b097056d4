#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include <boost/asio/posix/stream_descriptor.hpp>
#include "absl/status/status.h"

#include "net/asio.h"

namespace weft::runtime {

// How the main thread hands work to a worker whose io_context runs without locks
// (BOOST_ASIO_CONCURRENCY_HINT_UNSAFE: only the worker's thread may touch it, posts included).
// post() queues a closure under a mutex and writes to an eventfd; the worker waits on the
// eventfd in its own loop and runs what was queued, in order, on its thread. One lock and one
// eventfd write per post, instead of a locked scheduler on every handler of every request.
class WorkerInbox {
 public:
  explicit WorkerInbox(asio::io_context& io) : descriptor_(io.get_executor()) {}
  ~WorkerInbox();
  WorkerInbox(const WorkerInbox&) = delete;
  WorkerInbox& operator=(const WorkerInbox&) = delete;

  // Creates the eventfd; before post() or run().
  absl::Status open();
  // Any thread.
  void post(std::function<void()> work);

  // The worker's loop: spawn it on the worker's io_context before its thread starts. Returns
  // when the descriptor is closed (close(), on the worker's thread or after it stopped).
  awaitable<void> run();
  void close();

 private:
  using Descriptor = asio::posix::basic_stream_descriptor<Executor>;

  Descriptor descriptor_;  // the eventfd
  std::mutex mutex_;
  std::vector<std::function<void()>> queued_;  // guarded by mutex_
};

}  // namespace weft::runtime
