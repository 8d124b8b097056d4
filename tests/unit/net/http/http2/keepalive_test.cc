// When the keepalive PING is due and when the peer counts as dead, on a made-up clock.
#include "net/http/http2/keepalive.h"

#include <gtest/gtest.h>

namespace weft::http::http2 {
namespace {

using namespace std::chrono_literals;  // NOLINT
using Due = Keepalive::Due;

const Keepalive::Clock::time_point t0{};

TEST(KeepaliveTest, DefaultsAreTenSecondsThenFiveToAnswer) {
  const KeepaliveSettings defaults;
  EXPECT_EQ(defaults.interval, 10s);
  EXPECT_EQ(defaults.timeout, 5s);
}

TEST(KeepaliveTest, PingAfterAnIntervalOfSilenceThenDeadAfterTheTimeout) {
  Keepalive k({10s, 5s}, t0);
  EXPECT_EQ(k.next(), t0 + 10s);
  EXPECT_EQ(k.poll(t0 + 9s), Due::kNothing);
  EXPECT_EQ(k.poll(t0 + 10s), Due::kPing);
  EXPECT_EQ(k.next(), t0 + 15s);
  EXPECT_EQ(k.poll(t0 + 12s), Due::kNothing);  // one PING at a time
  EXPECT_EQ(k.poll(t0 + 15s), Due::kDead);
}

TEST(KeepaliveTest, AnythingReceivedAnswersThePingAndRestartsTheInterval) {
  Keepalive k({10s, 5s}, t0);
  k.received(t0 + 4s);
  EXPECT_EQ(k.poll(t0 + 10s), Due::kNothing);
  EXPECT_EQ(k.next(), t0 + 14s);
  EXPECT_EQ(k.poll(t0 + 14s), Due::kPing);
  k.received(t0 + 18s);  // the ACK, or any frame
  EXPECT_EQ(k.poll(t0 + 19s), Due::kNothing);
  EXPECT_EQ(k.next(), t0 + 28s);
  EXPECT_EQ(k.poll(t0 + 28s), Due::kPing);
}

TEST(KeepaliveTest, ZeroIntervalTurnsItOff) {
  Keepalive k({0s, 5s}, t0);
  EXPECT_FALSE(k.enabled());
  EXPECT_EQ(k.poll(t0 + 1000s), Due::kNothing);
  EXPECT_EQ(k.next(), Keepalive::Clock::time_point::max());
}

}  // namespace
}  // namespace weft::http::http2
