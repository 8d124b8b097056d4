#pragma once

#include <chrono>
#include <optional>

#include "net/http/http2/settings.h"

namespace weft::http::http2 {

// When one connection's keepalive PING is due and when its peer has missed it: timer arithmetic
// only, fed the time by its caller (the session), so it is tested without waiting. Any bytes
// from the peer count as an answer, not just the PING ACK (as Envoy and hyper do): a peer busy
// sending is alive even when its ACK is queued behind DATA.
class Keepalive {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Due {
    kNothing,
    kPing,  // send a PING now
    kDead,  // the PING went unanswered: close the connection
  };

  Keepalive(const KeepaliveSettings& settings, Clock::time_point now)
      : settings_(settings), last_received_(now) {}

  // Bytes arrived from the peer.
  void received(Clock::time_point now) {
    last_received_ = now;
    ping_sent_.reset();
  }

  // What is due at `now`. kPing counts the PING as sent.
  Due poll(Clock::time_point now) {
    if (!enabled()) return Due::kNothing;
    if (ping_sent_) return now >= *ping_sent_ + settings_.timeout ? Due::kDead : Due::kNothing;
    if (now < last_received_ + settings_.interval) return Due::kNothing;
    ping_sent_ = now;
    return Due::kPing;
  }

  // When poll() next has something to do (time_point::max() when keepalive is off).
  Clock::time_point next() const {
    if (!enabled()) return Clock::time_point::max();
    return ping_sent_ ? *ping_sent_ + settings_.timeout : last_received_ + settings_.interval;
  }

  bool enabled() const { return settings_.interval > Clock::duration::zero(); }
  const KeepaliveSettings& settings() const { return settings_; }

 private:
  KeepaliveSettings settings_;
  Clock::time_point last_received_;
  std::optional<Clock::time_point> ping_sent_;
};

}  // namespace weft::http::http2
