#pragma once

#include <chrono>
#include <functional>

#include <boost/asio/signal_set.hpp>

#include "net/asio.h"

namespace weft::runtime {

// The main thread of a weft process: its io_context (admin port, control streams, timers),
// signal handling and the drain. SIGTERM or SIGINT starts the drain once: the owner stops taking
// new work (Hooks::begin_drain), then the loop waits until Hooks::active() reaches 0 or
// `drain_bound` passes, runs Hooks::drained and ends run(). SIGHUP calls Hooks::reload.
class MainLoop {
 public:
  struct Hooks {
    std::function<void()> reload;       // SIGHUP; may be empty
    std::function<void()> begin_drain;  // stop accepting, let work in flight finish
    std::function<int()> active;        // what is still in flight (connections)
    std::function<void()> drained;      // after the wait: close what is left on the main thread
  };

  explicit MainLoop(std::chrono::steady_clock::duration drain_bound);

  asio::io_context& io() { return io_; }
  bool draining() const { return draining_; }

  // Starts listening for signals.
  void start(Hooks hooks);
  // What SIGTERM does, for callers on the main thread.
  void drain(const char* why);
  // Runs the main thread until the drain is over.
  void run();

 private:
  void waitForSignal();
  awaitable<void> waitForDrain();

  std::chrono::steady_clock::duration drain_bound_;
  asio::io_context io_{1};
  asio::signal_set signals_;
  Hooks hooks_;
  bool draining_ = false;
};

}  // namespace weft::runtime
