#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <variant>

#include "control/api/resources.h"
#include "net/asio.h"
#include "proxy/metrics/resilience_metrics.h"

namespace weft::upstream {

// One worker's circuit breaker for one destination Service: the DestinationPolicy's
// connectionPool limits. Over HTTP/1 every exchange holds a connection, so maxConnections bounds
// the exchanges in progress; a request beyond it waits (pending) unless maxPendingRequests are
// waiting already, in which case it is refused at once. maxRequests bounds in-progress plus
// pending, maxRetries the retries in progress. Limits apply per worker thread: workers share no
// mutable state. Not thread-safe.
class ServiceLimits {
  struct Waiter;

 public:
  class Permit;
  using PermitPtr = std::unique_ptr<Permit>;

  // Why admission failed: a limit was reached, the deadline passed while pending, or the
  // caller cancelled it while pending (its client went away).
  struct Refused {
    metrics::Limit limit;
    bool timed_out = false;
    bool cancelled = false;
  };

  // Ends one admit() that is pending, or refuses it when cancelled before: its place in the
  // queue (maxPendingRequests) is free at once. Outlives the admit() it is passed to.
  class Canceller {
   public:
    void cancel();

   private:
    friend class ServiceLimits;
    Waiter* waiter_ = nullptr;  // while admit() waits
    bool cancelled_ = false;
  };

  explicit ServiceLimits(Executor executor) : executor_(executor) {}
  ServiceLimits(const ServiceLimits&) = delete;
  ServiceLimits& operator=(const ServiceLimits&) = delete;

  // New limits apply to the next admissions; requests admitted already keep their permits.
  void update(const api::ConnectionPoolSettings& settings) { settings_ = settings; }
  const api::ConnectionPoolSettings& settings() const { return settings_; }

  // Admits one try, waiting for an exchange slot until `deadline` when all are taken. The permit
  // gives the slot back when destroyed.
  awaitable<std::variant<PermitPtr, Refused>> admit(bool is_retry,
                                                    std::chrono::steady_clock::time_point deadline,
                                                    Canceller* canceller = nullptr);

  uint32_t active() const { return active_; }
  size_t pending() const { return waiters_.size(); }
  uint32_t activeRetries() const { return retries_; }

 private:
  struct Waiter {
    explicit Waiter(Executor executor) : timer(executor) {}
    asio::steady_timer timer;
    bool granted = false;
    bool cancelled = false;
  };

  void release(bool is_retry);

  Executor executor_;
  api::ConnectionPoolSettings settings_;
  uint32_t active_ = 0;   // exchanges holding a slot
  uint32_t retries_ = 0;  // of which retries
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

class ServiceLimits::Permit {
 public:
  Permit(ServiceLimits& owner, bool is_retry) : owner_(owner), is_retry_(is_retry) {}
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit() { owner_.release(is_retry_); }

 private:
  ServiceLimits& owner_;
  bool is_retry_;
};

}  // namespace weft::upstream
