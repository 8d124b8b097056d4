#include "proxy/upstream/service_limits.h"

#include <chrono>
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace weft::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Drives ServiceLimits from coroutines on one io_context, recording each admission's outcome.
class ServiceLimitsTest : public ::testing::Test {
 protected:
  struct Outcome {
    bool done = false;
    ServiceLimits::PermitPtr permit;
    std::optional<ServiceLimits::Refused> refused;
  };

  ServiceLimitsTest() : limits_(io_.get_executor()) {}

  void configure(uint32_t connections, uint32_t pending, uint32_t requests = 1024,
                 uint32_t retries = 3) {
    api::ConnectionPoolSettings s;
    s.max_connections = connections;
    s.max_pending_requests = pending;
    s.max_requests = requests;
    s.max_retries = retries;
    limits_.update(s);
  }

  // Starts an admission; it completes during later run() calls.
  Outcome& admit(bool is_retry = false, Clock::time_point deadline = Clock::time_point::max(),
                 ServiceLimits::Canceller* canceller = nullptr) {
    outcomes_.push_back(std::make_unique<Outcome>());
    Outcome* out = outcomes_.back().get();
    asio::co_spawn(
        io_,
        [this, out, is_retry, deadline, canceller]() -> awaitable<void> {
          auto r = co_await limits_.admit(is_retry, deadline, canceller);
          if (auto* p = std::get_if<ServiceLimits::PermitPtr>(&r)) {
            out->permit = std::move(*p);
          } else {
            out->refused = std::get<ServiceLimits::Refused>(r);
          }
          out->done = true;
        },
        asio::detached);
    run();
    return *out;
  }

  void run() {
    io_.restart();
    io_.poll();
  }

  asio::io_context io_;
  ServiceLimits limits_;
  std::vector<std::unique_ptr<Outcome>> outcomes_;
};

TEST_F(ServiceLimitsTest, AdmitsUpToMaxConnectionsThenQueuesThenRefuses) {
  configure(/*connections=*/2, /*pending=*/1);
  Outcome& a = admit();
  Outcome& b = admit();
  EXPECT_TRUE(a.permit && b.permit);
  Outcome& c = admit();
  EXPECT_FALSE(c.done);  // waiting for a slot
  EXPECT_EQ(limits_.pending(), 1u);
  Outcome& d = admit();
  ASSERT_TRUE(d.done);
  ASSERT_TRUE(d.refused);
  EXPECT_EQ(d.refused->limit, metrics::Limit::kMaxPendingRequests);
  EXPECT_FALSE(d.refused->timed_out);

  a.permit.reset();  // the slot passes to the waiter
  run();
  ASSERT_TRUE(c.done);
  EXPECT_TRUE(c.permit);
  EXPECT_EQ(limits_.active(), 2u);
  EXPECT_EQ(limits_.pending(), 0u);

  b.permit.reset();
  c.permit.reset();
  EXPECT_EQ(limits_.active(), 0u);
}

TEST_F(ServiceLimitsTest, ZeroPendingRefusesImmediately) {
  configure(1, 0);
  Outcome& a = admit();
  EXPECT_TRUE(a.permit);
  Outcome& b = admit();
  ASSERT_TRUE(b.refused);
  EXPECT_EQ(b.refused->limit, metrics::Limit::kMaxPendingRequests);
}

TEST_F(ServiceLimitsTest, PendingWaiterGivesUpAtItsDeadline) {
  configure(1, 5);
  Outcome& a = admit();
  Outcome& b = admit(false, Clock::now() + 20ms);
  EXPECT_FALSE(b.done);
  io_.restart();
  io_.run_for(2s);  // returns once b's timer has fired and nothing else is pending
  ASSERT_TRUE(b.done);
  ASSERT_TRUE(b.refused);
  EXPECT_TRUE(b.refused->timed_out);
  EXPECT_EQ(limits_.pending(), 0u);
  a.permit.reset();
  EXPECT_EQ(limits_.active(), 0u);  // no waiter took the slot
}

// A client that resets its request while it waits for a slot (rapid reset) leaves the queue at
// once: its pending place is free, and the next release goes to a waiter still there.
TEST_F(ServiceLimitsTest, CancelledWaiterLeavesTheQueueAtOnce) {
  configure(1, 1);
  Outcome& a = admit();
  ServiceLimits::Canceller canceller;
  Outcome& b = admit(false, Clock::time_point::max(), &canceller);
  EXPECT_FALSE(b.done);
  canceller.cancel();
  run();
  ASSERT_TRUE(b.done);
  ASSERT_TRUE(b.refused);
  EXPECT_TRUE(b.refused->cancelled);
  EXPECT_FALSE(b.refused->timed_out);
  EXPECT_EQ(limits_.pending(), 0u);
  Outcome& c = admit();  // the pending place is free again
  EXPECT_FALSE(c.done);
  a.permit.reset();
  run();
  ASSERT_TRUE(c.done);
  EXPECT_TRUE(c.permit);
}

TEST_F(ServiceLimitsTest, CancelledBeforeAdmitIsRefusedAtOnce) {
  configure(1, 1);
  ServiceLimits::Canceller canceller;
  canceller.cancel();
  Outcome& a = admit(false, Clock::time_point::max(), &canceller);
  ASSERT_TRUE(a.done);
  ASSERT_TRUE(a.refused);
  EXPECT_TRUE(a.refused->cancelled);
  EXPECT_EQ(limits_.active(), 0u);
}

TEST_F(ServiceLimitsTest, MaxRequestsCountsActiveAndPending) {
  configure(1, 10, /*requests=*/2);
  Outcome& a = admit();
  Outcome& b = admit();
  EXPECT_TRUE(a.permit);
  EXPECT_FALSE(b.done);
  Outcome& c = admit();
  ASSERT_TRUE(c.refused);
  EXPECT_EQ(c.refused->limit, metrics::Limit::kMaxRequests);
  a.permit.reset();
  run();
  EXPECT_TRUE(b.permit);
}

TEST_F(ServiceLimitsTest, MaxRetriesBoundsRetriesInProgress) {
  configure(10, 10, 1024, /*retries=*/1);
  Outcome& r1 = admit(true);
  EXPECT_TRUE(r1.permit);
  EXPECT_EQ(limits_.activeRetries(), 1u);
  Outcome& r2 = admit(true);
  ASSERT_TRUE(r2.refused);
  EXPECT_EQ(r2.refused->limit, metrics::Limit::kMaxRetries);
  Outcome& first_try = admit(false);
  EXPECT_TRUE(first_try.permit);  // first tries are not retries
  r1.permit.reset();
  EXPECT_EQ(limits_.activeRetries(), 0u);
  EXPECT_TRUE(admit(true).permit);
}

TEST_F(ServiceLimitsTest, NewLimitsApplyToNextAdmissions) {
  configure(1, 0);
  Outcome& a = admit();
  EXPECT_TRUE(admit().refused);
  configure(2, 0);
  EXPECT_TRUE(admit().permit);
  a.permit.reset();
}

}  // namespace
}  // namespace weft::upstream
