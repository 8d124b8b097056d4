#include "net/deadline.h"

#include <chrono>
#include <functional>
#include <optional>

#include <gtest/gtest.h>

#include "tests/unit/net/loopback.h"

namespace weft {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A connected pair of TCP sockets on 127.0.0.1, on one io_context.
class DeadlineTest : public ::testing::Test {
 protected:
  DeadlineTest() : ours_(io_), theirs_(io_) { testutil::connectLoopback(io_, ours_, theirs_); }

  // Reads on `ours_` under `deadline`, re-arming it with `arm` every `step` until `steps`
  // steps have passed; returns the read's error and when it completed.
  std::pair<error_code, Clock::duration> readWithDeadline(Deadline& deadline, Clock::duration arm,
                                                          Clock::duration step, int steps) {
    auto start = Clock::now();
    std::optional<error_code> result;
    char byte;
    ours_.async_read_some(asio::buffer(&byte, 1),
                          [&](const error_code& ec, size_t) { result = timedOut(deadline, ec); });
    deadline.arm(arm);
    asio::steady_timer ticker(io_);
    int left = steps;
    std::function<void()> tick = [&] {
      if (left-- <= 0) return;
      ticker.expires_after(step);
      ticker.async_wait([&](const error_code& ec) {
        if (ec) return;
        deadline.arm(arm);
        tick();
      });
    };
    tick();
    while (!result) io_.run_one();
    ticker.cancel();
    io_.poll();
    return {*result, Clock::now() - start};
  }

  asio::io_context io_;
  Socket ours_;
  Socket theirs_;
};

TEST_F(DeadlineTest, ClosesTheSocketWhenAnOperationOutlivesIt) {
  Deadline deadline(ours_);
  auto [ec, took] = readWithDeadline(deadline, 50ms, 1s, 0);
  EXPECT_EQ(ec, beast::error::timeout);
  EXPECT_TRUE(deadline.expired());
  EXPECT_FALSE(ours_.is_open());
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 2s);
}

TEST_F(DeadlineTest, ReArmingBeforeItPassesExtendsIt) {
  Deadline deadline(ours_);
  // Re-armed to 100 ms every 20 ms for 10 steps: alive for ~200 ms, then 100 ms more.
  auto [ec, took] = readWithDeadline(deadline, 100ms, 20ms, 10);
  EXPECT_EQ(ec, beast::error::timeout);
  EXPECT_GE(took, 250ms);
}

TEST_F(DeadlineTest, AnEarlierDeadlineReplacesALaterOne) {
  Deadline deadline(ours_);
  deadline.arm(10s);
  auto [ec, took] = readWithDeadline(deadline, 50ms, 1s, 0);
  EXPECT_EQ(ec, beast::error::timeout);
  EXPECT_LT(took, 2s);
}

TEST_F(DeadlineTest, DisarmedItLeavesTheSocketAlone) {
  {
    Deadline deadline(ours_);
    deadline.arm(30ms);
    deadline.disarm();
    asio::steady_timer wait(io_, 100ms);
    wait.async_wait([](const error_code&) {});
    io_.run();
    io_.restart();
    EXPECT_FALSE(deadline.expired());
    EXPECT_TRUE(ours_.is_open());
    deadline.arm(30ms);
  }
  // Destroyed while armed: its timer's completion must not touch the socket.
  asio::steady_timer wait(io_, 100ms);
  wait.async_wait([](const error_code&) {});
  io_.run();
  EXPECT_TRUE(ours_.is_open());
}

TEST_F(DeadlineTest, OtherErrorsPassThrough) {
  Deadline deadline(ours_);
  deadline.arm(10s);
  theirs_.close();
  std::optional<error_code> result;
  char byte;
  ours_.async_read_some(asio::buffer(&byte, 1),
                        [&](const error_code& ec, size_t) { result = timedOut(deadline, ec); });
  while (!result) io_.run_one();
  EXPECT_EQ(*result, asio::error::eof);
  EXPECT_FALSE(deadline.expired());
}

}  // namespace
}  // namespace weft
