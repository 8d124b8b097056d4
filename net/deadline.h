#pragma once

#include <chrono>
#include <memory>

#include "net/asio.h"

namespace weft {

// A connection's I/O deadline: one timer per connection, checked lazily. arm() before an
// operation only stores the time it must finish by; the timer, once waiting, is re-armed only
// when it fires before that time. A connection that re-arms on every read and write therefore
// pays a clock read per operation instead of a timer-queue insert and cancel (what
// beast::basic_stream's expires_after costs).
//
// When the deadline passes while armed, the socket is closed (as Beast's timed stream does), or
// with OnExpiry::kCancel its operations are cancelled: the operation in flight completes with an
// error, and expired() turns true for good. Callers report that as beast::error::timeout (see
// timedOut).
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(Socket& socket);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // What the deadline does to the socket when it passes.
  enum class OnExpiry {
    kClose,   // close it: nothing more can be sent
    kCancel,  // cancel its operations: the connection stays open for a last answer (a 408)
  };

  // The next operations must finish within `d` from now.
  void arm(Clock::duration d, OnExpiry on_expiry = OnExpiry::kClose);
  // No deadline until the next arm().
  void disarm();
  bool expired() const;

  struct State;  // defined in deadline.cc

 private:
  std::shared_ptr<State> state_;  // shared with the timer's completion handler
};

// `ec`, or beast::error::timeout when the deadline closed the socket under the operation.
inline error_code timedOut(const Deadline& deadline, const error_code& ec) {
  if (ec && deadline.expired()) return beast::error::timeout;
  return ec;
}

}  // namespace weft
