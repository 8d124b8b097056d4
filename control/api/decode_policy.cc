// kind: DestinationPolicy — how a proxy talks to one Service's endpoints. Absent fields keep
// the defaults in resources.h (Envoy's; the retry budget is Linkerd's).

#include <limits>

#include "common/strings.h"
#include "control/api/decode_kinds.h"

namespace weft::api::decoder {
namespace {

constexpr uint32_t kMaxU32 = std::numeric_limits<uint32_t>::max();

absl::Status decodeLoadBalancer(const Decoder& d, const YAML::Node& spec, LoadBalancerKind* out) {
  auto lb = d.string(spec, "spec", "loadBalancer", Need::kOptional);
  if (!lb.ok()) return lb.status();
  if (lb->empty()) return absl::OkStatus();
  if (*lb == "least_request") {
    *out = LoadBalancerKind::kLeastRequest;
  } else if (*lb == "round_robin") {
    *out = LoadBalancerKind::kRoundRobin;
  } else if (*lb == "ewma") {
    *out = LoadBalancerKind::kEwma;
  } else {
    return d.error(spec["loadBalancer"], "spec.loadBalancer",
                   "must be least_request, round_robin or ewma");
  }
  return absl::OkStatus();
}

absl::Status decodeConnectionPool(const Decoder& d, const YAML::Node& n, const std::string& field,
                                  ConnectionPoolSettings* out) {
  auto st = d.requireMap(
      n, field,
      {"maxConnections", "maxPendingRequests", "maxRequests", "maxRetries", "connectTimeout"});
  if (!st.ok()) return st;
  if (st = d.uint(n, field, "maxConnections", 1, kMaxU32, &out->max_connections); !st.ok()) {
    return st;
  }
  st = d.uint(n, field, "maxPendingRequests", 1, kMaxU32, &out->max_pending_requests);
  if (!st.ok()) return st;
  if (st = d.uint(n, field, "maxRequests", 1, kMaxU32, &out->max_requests); !st.ok()) return st;
  if (st = d.uint(n, field, "maxRetries", 0, kMaxU32, &out->max_retries); !st.ok()) return st;
  if (Decoder::has(n, "connectTimeout")) {
    Duration timeout{0};
    if (st = d.duration(n, field, "connectTimeout", &timeout); !st.ok()) return st;
    out->connect_timeout = timeout;
  }
  return absl::OkStatus();
}

absl::Status decodeOutlierDetection(const Decoder& d, const YAML::Node& n, const std::string& field,
                                    OutlierDetectionSettings* out) {
  auto st = d.requireMap(n, field,
                         {"consecutive5xx", "consecutiveGatewayErrors", "interval",
                          "baseEjectionTime", "maxEjectionPercent"});
  if (!st.ok()) return st;
  if (st = d.uint(n, field, "consecutive5xx", 0, kMaxU32, &out->consecutive_5xx); !st.ok()) {
    return st;
  }
  st = d.uint(n, field, "consecutiveGatewayErrors", 0, kMaxU32, &out->consecutive_gateway_errors);
  if (!st.ok()) return st;
  if (st = d.duration(n, field, "interval", &out->interval); !st.ok()) return st;
  if (st = d.duration(n, field, "baseEjectionTime", &out->base_ejection_time); !st.ok()) return st;
  return d.uint(n, field, "maxEjectionPercent", 0, 100, &out->max_ejection_percent);
}

absl::Status decodeRetryBudget(const Decoder& d, const YAML::Node& n, const std::string& field,
                               RetryBudgetSettings* out) {
  auto st = d.requireMap(n, field, {"percent", "minRetriesPerSecond"});
  if (!st.ok()) return st;
  if (st = d.number(n, field, "percent", 0, 100, &out->percent); !st.ok()) return st;
  return d.uint(n, field, "minRetriesPerSecond", 0, kMaxU32, &out->min_retries_per_second);
}

}  // namespace

absl::StatusOr<DestinationPolicy> decodeDestinationPolicy(const Decoder& d, const YAML::Node& doc,
                                                          std::vector<ServiceRef>* refs) {
  DestinationPolicy policy;
  if (auto st = d.metadata(doc, &policy.name, &policy.ns); !st.ok()) return st;
  auto spec_or = d.child(doc, "", "spec");
  if (!spec_or.ok()) return spec_or.status();
  const YAML::Node spec = *spec_or;
  auto st = d.requireMap(
      spec, "spec",
      {"targetRef", "loadBalancer", "connectionPool", "outlierDetection", "retryBudget"});
  if (!st.ok()) return st;

  auto target = d.child(spec, "spec", "targetRef");
  if (!target.ok()) return target.status();
  if (st = d.requireMap(*target, "spec.targetRef", {"name", "namespace"}); !st.ok()) return st;
  auto ref = decodeServiceRef(d, *target, "spec.targetRef", policy.ns);
  if (!ref.ok()) return ref.status();
  policy.target_ref = {ref->name, ref->ns};

  if (st = decodeLoadBalancer(d, spec, &policy.load_balancer); !st.ok()) return st;
  if (Decoder::has(spec, "connectionPool")) {
    st = decodeConnectionPool(d, spec["connectionPool"], "spec.connectionPool",
                              &policy.connection_pool);
    if (!st.ok()) return st;
  }
  if (Decoder::has(spec, "outlierDetection")) {
    st = decodeOutlierDetection(d, spec["outlierDetection"], "spec.outlierDetection",
                                &policy.outlier_detection);
    if (!st.ok()) return st;
  }
  if (Decoder::has(spec, "retryBudget")) {
    st = decodeRetryBudget(d, spec["retryBudget"], "spec.retryBudget", &policy.retry_budget);
    if (!st.ok()) return st;
  }
  refs->push_back(std::move(*ref));
  return policy;
}

}  // namespace weft::api::decoder
