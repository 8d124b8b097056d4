#include "proxy/upstream/service_limits.h"

#include <algorithm>

namespace weft::upstream {

awaitable<std::variant<ServiceLimits::PermitPtr, ServiceLimits::Refused>> ServiceLimits::admit(
    bool is_retry, std::chrono::steady_clock::time_point deadline, Canceller* canceller) {
  using Result = std::variant<PermitPtr, Refused>;
  if (canceller != nullptr && canceller->cancelled_) {
    co_return Result(Refused{metrics::Limit::kMaxPendingRequests, false, true});
  }
  if (is_retry && retries_ >= settings_.max_retries) {
    co_return Result(Refused{metrics::Limit::kMaxRetries});
  }
  if (active_ + waiters_.size() >= settings_.max_requests) {
    co_return Result(Refused{metrics::Limit::kMaxRequests});
  }
  if (active_ < settings_.max_connections) {
    ++active_;
    if (is_retry) ++retries_;
    co_return Result(std::make_unique<Permit>(*this, is_retry));
  }
  if (waiters_.size() >= settings_.max_pending_requests) {
    co_return Result(Refused{metrics::Limit::kMaxPendingRequests});
  }
  auto waiter = std::make_shared<Waiter>(executor_);
  waiter->timer.expires_at(deadline);
  waiters_.push_back(waiter);
  if (canceller != nullptr) canceller->waiter_ = waiter.get();
  // A releasing exchange hands its slot over by cancelling the timer, and so does a canceller;
  // expiry means the deadline.
  co_await waiter->timer.async_wait(kUseTuple);
  if (canceller != nullptr) canceller->waiter_ = nullptr;
  if (!waiter->granted) {
    std::erase(waiters_, waiter);
    co_return Result(
        Refused{metrics::Limit::kMaxPendingRequests, !waiter->cancelled, waiter->cancelled});
  }
  if (is_retry) ++retries_;
  co_return Result(std::make_unique<Permit>(*this, is_retry));
}

void ServiceLimits::Canceller::cancel() {
  cancelled_ = true;
  if (waiter_ == nullptr || waiter_->granted) return;  // granted: the permit is on its way
  waiter_->cancelled = true;
  waiter_->timer.cancel();
}

void ServiceLimits::release(bool is_retry) {
  if (is_retry) --retries_;
  while (!waiters_.empty()) {
    std::shared_ptr<Waiter> next = std::move(waiters_.front());
    waiters_.pop_front();
    if (next->cancelled || next->timer.expiry() <= std::chrono::steady_clock::now()) {
      continue;  // cancelled, or its deadline passed: the waiter is about to give up by itself
    }
    next->granted = true;  // the slot passes to the waiter: active_ stays the same
    next->timer.cancel();
    return;
  }
  --active_;
}

}  // namespace weft::upstream
