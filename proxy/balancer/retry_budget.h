#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "control/api/resources.h"
#include "proxy/balancer/endpoint_state.h"

namespace weft::balancer {

// Linkerd's retry budget (tower's TpsBudget) with the clock passed in: over a sliding window of
// the last 10 s, retries may number at most
//
//     floor(requests × percent / 100) + minRetriesPerSecond × 10
//
// where `requests` are the original requests deposited in the window. A retry that fits is
// withdrawn and counts against the window until it slides out. The window is kept in ten 1 s
// slots, so it slides in 1 s steps: a deposit or withdrawal is forgotten 9-10 s after it was made.
//
// One per worker and Service (or route): not thread-safe. With N workers the floor
// minRetriesPerSecond applies per worker, so a proxy allows up to N times it in total.
class RetryBudget {
 public:
  static constexpr std::chrono::seconds kWindow{10};
  static constexpr size_t kSlots = 10;

  explicit RetryBudget(const api::RetryBudgetSettings& settings);

  // An original request (not a retry) was sent.
  void deposit(TimePoint now);
  // A retry wants to go: true (and counted) if the budget allows it, false if exhausted.
  bool tryWithdraw(TimePoint now);

  // Retries the budget would still allow at `now`.
  uint64_t available(TimePoint now);
  // Deposits and withdrawals currently in the window.
  uint64_t deposits(TimePoint now);
  uint64_t withdrawals(TimePoint now);

  const api::RetryBudgetSettings& settings() const { return settings_; }

 private:
  struct Slot {
    uint64_t deposits = 0;
    uint64_t withdrawals = 0;
  };

  // Moves the window to `now`, clearing the slots that slid out.
  void advance(TimePoint now);
  uint64_t allowed() const;

  static constexpr Clock::duration kSlotLength =
      std::chrono::duration_cast<Clock::duration>(kWindow) / kSlots;

  api::RetryBudgetSettings settings_;
  std::array<Slot, kSlots> slots_{};
  size_t current_ = 0;         // slot that `current_start_` begins
  TimePoint current_start_{};  // start of the current slot; {} until the first call
  bool started_ = false;
  uint64_t deposits_ = 0;  // sums over all slots
  uint64_t withdrawals_ = 0;
};

}  // namespace weft::balancer
