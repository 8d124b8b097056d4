#include "runtime/worker_thread.h"

#include "net/spawn_guard.h"

namespace weft::runtime {

WorkerThread::WorkerThread()
    : io_(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE)),
      inbox_(std::make_unique<WorkerInbox>(*io_)) {}

WorkerThread::~WorkerThread() { destroyContext(); }

void WorkerThread::destroyContext() {
  stop();
  inbox_.reset();
  io_.reset();
}

absl::Status WorkerThread::open() { return inbox_->open(); }

void WorkerThread::start() {
  asio::co_spawn(*io_, inbox_->run(), SpawnGuard({"worker inbox"}));
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(*io_);
    io_->run();
  });
}

void WorkerThread::post(std::function<void()> work) { inbox_->post(std::move(work)); }

void WorkerThread::stop() {
  if (!thread_.joinable() || !inbox_) return;
  inbox_->post([this] { io_->stop(); });
  thread_.join();
}

}  // namespace weft::runtime
