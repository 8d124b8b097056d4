#include "proxy/balancer/retry_budget.h"

#include <chrono>

#include <gtest/gtest.h>

namespace weft::balancer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint() + std::chrono::hours(1);

api::RetryBudgetSettings budget(double percent, uint32_t min_per_second) {
  api::RetryBudgetSettings s;
  s.percent = percent;
  s.min_retries_per_second = min_per_second;
  return s;
}

// Withdrawals that succeed at `at`, trying up to `limit`.
int drain(RetryBudget& b, TimePoint at, int limit = 100'000) {
  int n = 0;
  while (n < limit && b.tryWithdraw(at)) ++n;
  return n;
}

TEST(RetryBudgetTest, PercentOfRecentRequests) {
  RetryBudget b(budget(20, 0));
  for (int i = 0; i < 100; ++i) b.deposit(kT0);
  EXPECT_EQ(b.available(kT0), 20u);
  EXPECT_EQ(drain(b, kT0), 20);
  EXPECT_FALSE(b.tryWithdraw(kT0));
  // Five more requests earn one more retry.
  for (int i = 0; i < 5; ++i) b.deposit(kT0 + seconds(1));
  EXPECT_EQ(drain(b, kT0 + seconds(1)), 1);
}

TEST(RetryBudgetTest, MinimumPerSecondRegardlessOfTraffic) {
  RetryBudget b(budget(20, 10));
  EXPECT_EQ(drain(b, kT0), 100);  // 10/s over the 10 s window
  for (int i = 0; i < 50; ++i) b.deposit(kT0);
  EXPECT_EQ(drain(b, kT0), 10);  // 20% of 50 on top
}

TEST(RetryBudgetTest, FractionalPercentRoundsDown) {
  RetryBudget b(budget(29, 0));
  for (int i = 0; i < 100; ++i) b.deposit(kT0);
  EXPECT_EQ(b.available(kT0), 29u);
  RetryBudget c(budget(12.5, 0));
  for (int i = 0; i < 15; ++i) c.deposit(kT0);
  EXPECT_EQ(c.available(kT0), 1u);
  c.deposit(kT0);
  EXPECT_EQ(c.available(kT0), 2u);
}

TEST(RetryBudgetTest, RequestsAndRetriesSlideOutOfTheWindow) {
  RetryBudget b(budget(20, 0));
  for (int i = 0; i < 100; ++i) b.deposit(kT0);
  EXPECT_EQ(drain(b, kT0, 15), 15);
  // Still inside the window 9.9 s later.
  EXPECT_EQ(b.deposits(kT0 + milliseconds(9900)), 100u);
  EXPECT_EQ(b.available(kT0 + milliseconds(9900)), 5u);
  // 10 s later both the requests and the retries are forgotten.
  EXPECT_EQ(b.deposits(kT0 + seconds(10)), 0u);
  EXPECT_EQ(b.withdrawals(kT0 + seconds(10)), 0u);
  EXPECT_FALSE(b.tryWithdraw(kT0 + seconds(10)));
}

TEST(RetryBudgetTest, WindowSlidesSlotBySlot) {
  RetryBudget b(budget(100, 0));
  for (int s = 0; s < 12; ++s) b.deposit(kT0 + seconds(s));
  // At 11.5 s the deposits of seconds 0 and 1 have slid out; 2..11 remain.
  EXPECT_EQ(b.deposits(kT0 + milliseconds(11'500)), 10u);
  // A long pause clears everything, and the budget keeps working afterwards.
  EXPECT_EQ(b.deposits(kT0 + seconds(100)), 0u);
  b.deposit(kT0 + seconds(100));
  EXPECT_TRUE(b.tryWithdraw(kT0 + seconds(100)));
  EXPECT_FALSE(b.tryWithdraw(kT0 + seconds(100)));
}

}  // namespace
}  // namespace weft::balancer
