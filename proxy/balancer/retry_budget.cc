#include "proxy/balancer/retry_budget.h"

#include <algorithm>
#include <cmath>

namespace weft::balancer {

RetryBudget::RetryBudget(const api::RetryBudgetSettings& settings) : settings_(settings) {}

void RetryBudget::advance(TimePoint now) {
  if (!started_) {
    started_ = true;
    current_start_ = now;
    return;
  }
  if (now < current_start_ + kSlotLength) return;  // same slot (or a clock that went back)
  auto steps = static_cast<uint64_t>((now - current_start_) / kSlotLength);
  uint64_t clear = std::min<uint64_t>(steps, kSlots);
  for (uint64_t i = 0; i < clear; ++i) {
    current_ = (current_ + 1) % kSlots;
    deposits_ -= slots_[current_].deposits;
    withdrawals_ -= slots_[current_].withdrawals;
    slots_[current_] = Slot{};
  }
  current_start_ += static_cast<Clock::rep>(steps) * kSlotLength;
}

uint64_t RetryBudget::allowed() const {
  double percent = std::max(0.0, settings_.percent);
  // deposits × percent first: exact for whole percentages, so 100 requests at 29% allow 29.
  auto by_rate =
      static_cast<uint64_t>(std::floor(static_cast<double>(deposits_) * percent / 100.0));
  auto floor = static_cast<uint64_t>(settings_.min_retries_per_second) *
               static_cast<uint64_t>(kWindow.count());
  return by_rate + floor;
}

void RetryBudget::deposit(TimePoint now) {
  advance(now);
  ++slots_[current_].deposits;
  ++deposits_;
}

bool RetryBudget::tryWithdraw(TimePoint now) {
  advance(now);
  if (withdrawals_ >= allowed()) return false;
  ++slots_[current_].withdrawals;
  ++withdrawals_;
  return true;
}

uint64_t RetryBudget::available(TimePoint now) {
  advance(now);
  uint64_t a = allowed();
  return a > withdrawals_ ? a - withdrawals_ : 0;
}

uint64_t RetryBudget::deposits(TimePoint now) {
  advance(now);
  return deposits_;
}

uint64_t RetryBudget::withdrawals(TimePoint now) {
  advance(now);
  return withdrawals_;
}

}  // namespace weft::balancer
