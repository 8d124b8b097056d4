#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "net/asio.h"
#include "net/http/codec.h"

namespace weft::pipeline {

// Enforces a request or per-try deadline on an upstream exchange without touching the codec:
// when the deadline passes, the watched stream is aborted (HTTP/2: reset; HTTP/1.1: its
// connection closed), so whatever operation is pending on it completes with an error that the
// caller then reads as a timeout (fired() is true).
// No deadline: nothing is armed. Single-threaded, like the worker that owns it.
class DeadlineGuard {
 public:
  DeadlineGuard(Executor executor, std::optional<std::chrono::steady_clock::time_point> deadline) {
    if (!deadline) return;  // the common case: no timer, no allocation
    state_ = std::make_shared<State>();
    timer_.emplace(executor);
    timer_->expires_at(*deadline);
    timer_->async_wait([state = state_](const error_code& ec) {
      if (ec) return;  // cancelled: the exchange ended in time
      state->fired = true;
      if (state->stream != nullptr) state->stream->abort();
    });
  }
  ~DeadlineGuard() {
    if (!state_) return;
    state_->stream = nullptr;
    timer_->cancel();
  }
  DeadlineGuard(const DeadlineGuard&) = delete;
  DeadlineGuard& operator=(const DeadlineGuard&) = delete;

  // The stream to abort at the deadline; nullptr to stop watching (before it is released).
  void watch(http::ClientStream* stream) {
    if (!state_) return;
    state_->stream = stream;
    if (stream != nullptr && state_->fired) stream->abort();
  }
  bool fired() const { return state_ && state_->fired; }

 private:
  struct State {
    bool fired = false;
    http::ClientStream* stream = nullptr;
  };
  std::shared_ptr<State> state_;  // with a deadline: shared with the timer's handler, which may
                                  // run after us
  std::optional<asio::steady_timer> timer_;
};

}  // namespace weft::pipeline
