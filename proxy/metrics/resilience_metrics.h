#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "proxy/metrics/shared_children.h"

namespace weft::metrics {

class ResilienceMetrics;

// Which connection-pool limit turned a request away.
enum class Limit { kMaxConnections, kMaxPendingRequests, kMaxRequests, kMaxRetries };
inline constexpr int kLimitCount = 4;

std::string_view limitName(Limit limit);

// Why a request was sent again (label `reason` of retry_total): how the try before it ended.
enum class RetryReason { kConnectFailure, kRefusedStream, kReset, kTimeout, k5xx, kStatus };
inline constexpr int kRetryReasonCount = 6;

std::string_view retryReasonName(RetryReason reason);

// The resilience counters of one destination Service (label dst_service="name.namespace").
struct ServiceResilienceMetrics {
  prometheus::Counter* ejections;
  prometheus::Gauge* ejected_endpoints;
  prometheus::Counter* overflow[kLimitCount];
  prometheus::Counter* retries[kRetryReasonCount];
  prometheus::Counter* budget_exhausted;

  void recordOverflow(Limit limit) { overflow[static_cast<int>(limit)]->Increment(); }
  void recordRetry(RetryReason reason) { retries[static_cast<int>(reason)]->Increment(); }

  ResilienceMetrics* owner = nullptr;  // release() them there when the Service's state goes
};

// The process-wide families: outlier_ejections_total, outlier_ejected_endpoints,
// circuit_breaker_overflow_total{limit}, retry_total{reason}, retry_budget_exhausted_total.
class ResilienceMetrics {
 public:
  explicit ResilienceMetrics(prometheus::Registry& registry);

  // Children for one Service; repeated calls return the same ones. Each call is matched by one
  // release(): the last one removes the Service's series (it left the config).
  ServiceResilienceMetrics forService(const std::string& dst_service);
  void release(const ServiceResilienceMetrics& metrics);

 private:
  SharedChildren children_;
  prometheus::Family<prometheus::Counter>& ejections_;
  prometheus::Family<prometheus::Gauge>& ejected_;
  prometheus::Family<prometheus::Counter>& overflow_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& budget_exhausted_;
};

}  // namespace weft::metrics
