#include "net/deadline.h"

namespace weft {

struct Deadline::State {
  explicit State(Socket& s) : socket(s), timer(s.get_executor()) {}

  Socket& socket;
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor> timer;
  Clock::time_point deadline;
  unsigned generation = 0;  // of the wait in flight; older completions are ignored
  bool armed = false;
  bool waiting = false;
  bool expired = false;
  Deadline::OnExpiry on_expiry = Deadline::OnExpiry::kClose;
};

namespace {

void startWait(const std::shared_ptr<Deadline::State>& st);

void onTimer(const std::weak_ptr<Deadline::State>& weak, unsigned generation) {
  auto st = weak.lock();
  if (!st || generation != st->generation) return;  // owner gone, or superseded by a re-arm
  st->waiting = false;
  if (!st->armed) return;  // idle: the next arm() starts a new wait
  if (Deadline::Clock::now() < st->deadline) {
    startWait(st);  // re-armed since this wait began: wait for the rest
    return;
  }
  st->armed = false;
  st->expired = true;
  error_code ignored;
  if (st->on_expiry == Deadline::OnExpiry::kCancel) {
    st->socket.cancel(ignored);
  } else {
    st->socket.close(ignored);
  }
}

void startWait(const std::shared_ptr<Deadline::State>& st) {
  unsigned generation = ++st->generation;
  st->waiting = true;
  st->timer.expires_at(st->deadline);
  st->timer.async_wait([weak = std::weak_ptr<Deadline::State>(st), generation](const error_code&) {
    onTimer(weak, generation);
  });
}

}  // namespace

Deadline::Deadline(Socket& socket) : state_(std::make_shared<State>(socket)) {}

// Destroying the timer cancels its wait; the completion finds the state gone.
Deadline::~Deadline() = default;

void Deadline::arm(Clock::duration d, OnExpiry on_expiry) {
  State& st = *state_;
  st.deadline = Clock::now() + d;
  st.on_expiry = on_expiry;
  st.armed = true;
  // A wait already in flight ends no later than it should unless this deadline is earlier.
  if (!st.waiting || st.deadline < st.timer.expiry()) startWait(state_);
}

void Deadline::disarm() { state_->armed = false; }

bool Deadline::expired() const { return state_->expired; }

}  // namespace weft
