#include "runtime/main_loop.h"

#include <csignal>

#include "net/log.h"
#include "net/spawn_guard.h"

namespace weft::runtime {

MainLoop::MainLoop(std::chrono::steady_clock::duration drain_bound)
    : drain_bound_(drain_bound), signals_(io_, SIGTERM, SIGINT, SIGHUP) {}

void MainLoop::start(Hooks hooks) {
  hooks_ = std::move(hooks);
  waitForSignal();
}

void MainLoop::waitForSignal() {
  signals_.async_wait([this](const error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      if (hooks_.reload) hooks_.reload();
    } else {
      drain(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    }
    waitForSignal();
  });
}

void MainLoop::drain(const char* why) {
  if (draining_) return;
  draining_ = true;
  log::info("received ", why, ": draining for up to ",
            std::chrono::duration_cast<std::chrono::seconds>(drain_bound_).count(), "s");
  if (hooks_.begin_drain) hooks_.begin_drain();
  asio::co_spawn(io_, waitForDrain(), SpawnGuard({"drain wait"}));
}

awaitable<void> MainLoop::waitForDrain() {
  const auto deadline = std::chrono::steady_clock::now() + drain_bound_;
  asio::steady_timer tick(io_);
  auto active = [this] { return hooks_.active ? hooks_.active() : 0; };
  while (active() > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(std::chrono::milliseconds(50));
    co_await tick.async_wait(kUseTuple);
  }
  if (int left = active(); left > 0) {
    log::warn("drain grace period over with ", left, " connections still open; closing them");
  } else {
    log::info("drained: all in-flight requests completed");
  }
  if (hooks_.drained) hooks_.drained();
  signals_.cancel();
  io_.stop();
}

void MainLoop::run() { io_.run(); }

}  // namespace weft::runtime
