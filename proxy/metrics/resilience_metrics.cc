#include "proxy/metrics/resilience_metrics.h"

namespace weft::metrics {

std::string_view limitName(Limit limit) {
  switch (limit) {
    case Limit::kMaxConnections:
      return "maxConnections";
    case Limit::kMaxPendingRequests:
      return "maxPendingRequests";
    case Limit::kMaxRequests:
      return "maxRequests";
    case Limit::kMaxRetries:
      return "maxRetries";
  }
  return "unknown";
}

std::string_view retryReasonName(RetryReason reason) {
  switch (reason) {
    case RetryReason::kConnectFailure:
      return "connect-failure";
    case RetryReason::kRefusedStream:
      return "refused-stream";
    case RetryReason::kReset:
      return "reset";
    case RetryReason::kTimeout:
      return "timeout";
    case RetryReason::k5xx:
      return "5xx";
    case RetryReason::kStatus:
      return "status";
  }
  return "unknown";
}

ResilienceMetrics::ResilienceMetrics(prometheus::Registry& registry)
    : ejections_(prometheus::BuildCounter()
                     .Name("outlier_ejections_total")
                     .Help("Total count of endpoints ejected by outlier detection.")
                     .Register(registry)),
      ejected_(prometheus::BuildGauge()
                   .Name("outlier_ejected_endpoints")
                   .Help("Number of endpoints currently ejected by outlier detection.")
                   .Register(registry)),
      overflow_(prometheus::BuildCounter()
                    .Name("circuit_breaker_overflow_total")
                    .Help("Total count of requests refused because a connection-pool limit was "
                          "reached.")
                    .Register(registry)),
      retries_(prometheus::BuildCounter()
                   .Name("retry_total")
                   .Help("Total count of requests sent again, by how the try before ended.")
                   .Register(registry)),
      budget_exhausted_(prometheus::BuildCounter()
                            .Name("retry_budget_exhausted_total")
                            .Help("Total count of retries skipped because the retry budget or "
                                  "maxRetries was exhausted.")
                            .Register(registry)) {}

ServiceResilienceMetrics ResilienceMetrics::forService(const std::string& dst_service) {
  const prometheus::Labels labels{{"dst_service", dst_service}};
  ServiceResilienceMetrics m{};
  m.ejections = children_.acquire(ejections_, labels);
  m.ejected_endpoints = children_.acquire(ejected_, labels);
  for (int i = 0; i < kLimitCount; ++i) {
    prometheus::Labels l = labels;
    l.emplace("limit", std::string(limitName(static_cast<Limit>(i))));
    m.overflow[i] = children_.acquire(overflow_, l);
  }
  for (int i = 0; i < kRetryReasonCount; ++i) {
    prometheus::Labels l = labels;
    l.emplace("reason", std::string(retryReasonName(static_cast<RetryReason>(i))));
    m.retries[i] = children_.acquire(retries_, l);
  }
  m.budget_exhausted = children_.acquire(budget_exhausted_, labels);
  m.owner = this;
  return m;
}

void ResilienceMetrics::release(const ServiceResilienceMetrics& m) {
  children_.release(ejections_, m.ejections);
  children_.release(ejected_, m.ejected_endpoints);
  for (prometheus::Counter* overflow : m.overflow) children_.release(overflow_, overflow);
  for (prometheus::Counter* retries : m.retries) children_.release(retries_, retries);
  children_.release(budget_exhausted_, m.budget_exhausted);
}

}  // namespace weft::metrics
