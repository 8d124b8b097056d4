#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "control/api/resources.h"
#include "proxy/balancer/endpoint_state.h"

namespace weft::balancer {

// How one try at an endpoint ended, as outlier detection sees it.
enum class Result {
  kSuccess,         // any response below 500
  kHttp5xx,         // a 5xx other than 502, 503, 504
  kGatewayError,    // 502, 503, 504
  kConnectFailure,  // no connection (refused, timed out, TLS or identity failure)
};

// The Result for a response status.
Result classifyStatus(unsigned status);

// Envoy-style consecutive-failure outlier detection over one host set (the endpoints of a subset
// or of a whole Service), on one worker. The clock is passed into every call.
//
// Counting, per endpoint (in its EndpointState):
//   consecutive_5xx             +1 on kHttp5xx, kGatewayError, kConnectFailure
//   consecutive_gateway_errors  +1 on kGatewayError, kConnectFailure; reset by kHttp5xx (Envoy)
//   kSuccess resets both.
// When either count reaches its threshold (0 disables that threshold) the endpoint is ejected
// for baseEjectionTime × times_ejected (times_ejected counts this ejection; capped at
// max(baseEjectionTime, 300 s) like Envoy's max_ejection_time), and both counts restart. The
// count that triggered restarts even when the ejection is refused, so the next attempt takes
// another full run of failures.
//
// Ejection limit: at most max(1, floor(n × maxEjectionPercent / 100)) of the n hosts are ejected
// at once (one even when maxEjectionPercent is 0, as in Envoy), and never the last one that is not
// ejected: a host set of one endpoint is never ejected.
//
// Return: an endpoint is back when now >= ejected_until (checked lazily, no timer). Each full
// `interval` it then spends un-ejected lowers times_ejected by one (Envoy), so an endpoint that
// fails again soon after returning stays out twice as long, and one that stays healthy is
// forgiven.
//
// Results for an endpoint that is ejected at `now` (requests that were in flight) are ignored.
// One endpoint can be in several host sets (a subset and the whole Service): report each result
// to the detector of the host set the request was balanced over, and only to that one.
class OutlierDetector {
 public:
  // Envoy's max_ejection_time default: no ejection lasts longer (unless baseEjectionTime does).
  static constexpr std::chrono::milliseconds kMaxEjectionTime = std::chrono::seconds(300);

  // `hosts`: the states of the host set's endpoints (all non-null, each once).
  OutlierDetector(const api::OutlierDetectionSettings& settings, std::vector<EndpointState*> hosts);

  // Counts `result` for `state` (one of the hosts). Returns true when this result ejected it.
  bool onResult(EndpointState& state, Result result, TimePoint now);

  // The most hosts that may be ejected at once.
  size_t maxEjected() const { return max_ejected_; }
  // How many hosts are ejected at `now`.
  size_t ejectedCount(TimePoint now) const;
  // Ejections made by this detector since it was built (for outlier_ejections_total).
  uint64_t ejectionsTotal() const { return ejections_total_; }

  const api::OutlierDetectionSettings& settings() const { return settings_; }
  std::span<EndpointState* const> hosts() const { return hosts_; }

 private:
  // Applies the decay of times_ejected owed for the healthy time up to `now`.
  void decay(EndpointState& state, TimePoint now) const;
  bool tryEject(EndpointState& state, TimePoint now);

  api::OutlierDetectionSettings settings_;
  std::vector<EndpointState*> hosts_;
  size_t max_ejected_;
  uint64_t ejections_total_ = 0;
};

}  // namespace weft::balancer
