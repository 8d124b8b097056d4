#pragma once

#include "net/asio.h"

namespace weft {

// How many operations on the worker's thread in a row may complete without passing through the
// scheduler (see stream_io.h). Counted per thread: every kBudget-th such completion yields, so
// the reactor is polled and other connections' handlers run at least that often.
class InlineBudget {
 public:
  static constexpr unsigned kBudget = 16;

  // Counts one immediate completion; true when the caller must yield before it returns.
  static bool spend() {
    if (++count_ < kBudget) return false;
    count_ = 0;
    return true;
  }

 private:
  static inline thread_local unsigned count_ = 0;
};

// Resumes the calling coroutine through the scheduler, behind what is already queued.
inline awaitable<void> yieldToScheduler() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable_t<Executor>{});
}

}  // namespace weft
