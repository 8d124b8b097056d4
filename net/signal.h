#pragma once

#include <chrono>

#include "net/asio.h"

namespace weft {

// A wakeup for one waiting coroutine on the worker's thread: a timer that notify() cancels (as
// upstream::ServiceLimits hands over its slots). Waiters re-check their condition after every
// wakeup; a notify() with nobody waiting is a no-op, which is safe because waiter and notifier
// share the thread and a waiter checks its condition right before it waits.
class Signal {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Signal(const Executor& executor) : timer_(executor) {}

  // Waits for notify() or `until`. True when notified, false when the time ran out.
  awaitable<bool> waitUntil(Clock::time_point until) {
    timer_.expires_at(until);
    auto [ec] = co_await timer_.async_wait(kUseTuple);
    co_return ec == asio::error::operation_aborted;
  }

  void notify() { timer_.cancel(); }

 private:
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor> timer_;
};

}  // namespace weft
