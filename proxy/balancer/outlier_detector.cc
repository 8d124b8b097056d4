#include "proxy/balancer/outlier_detector.h"

#include <algorithm>

namespace weft::balancer {
namespace {

size_t computeMaxEjected(size_t hosts, uint32_t percent) {
  if (hosts < 2) return 0;
  size_t by_percent = hosts * std::min<uint32_t>(percent, 100) / 100;
  return std::min(std::max<size_t>(1, by_percent), hosts - 1);
}

}  // namespace

Result classifyStatus(unsigned status) {
  if (status == 502 || status == 503 || status == 504) return Result::kGatewayError;
  if (status >= 500 && status <= 599) return Result::kHttp5xx;
  return Result::kSuccess;
}

OutlierDetector::OutlierDetector(const api::OutlierDetectionSettings& settings,
                                 std::vector<EndpointState*> hosts)
    : settings_(settings),
      hosts_(std::move(hosts)),
      max_ejected_(computeMaxEjected(hosts_.size(), settings.max_ejection_percent)) {}

bool OutlierDetector::onResult(EndpointState& state, Result result, TimePoint now) {
  if (state.isEjected(now)) return false;
  decay(state, now);
  switch (result) {
    case Result::kSuccess:
      state.consecutive_5xx = 0;
      state.consecutive_gateway_errors = 0;
      return false;
    case Result::kHttp5xx:
      ++state.consecutive_5xx;
      state.consecutive_gateway_errors = 0;
      break;
    case Result::kGatewayError:
    case Result::kConnectFailure:
      ++state.consecutive_5xx;
      ++state.consecutive_gateway_errors;
      break;
  }
  uint32_t t5xx = settings_.consecutive_5xx;
  uint32_t tgw = settings_.consecutive_gateway_errors;
  bool hit_5xx = t5xx > 0 && state.consecutive_5xx >= t5xx;
  bool hit_gw = tgw > 0 && state.consecutive_gateway_errors >= tgw;
  if (!hit_5xx && !hit_gw) return false;
  if (hit_5xx) state.consecutive_5xx = 0;
  if (hit_gw) state.consecutive_gateway_errors = 0;
  return tryEject(state, now);
}

bool OutlierDetector::tryEject(EndpointState& state, TimePoint now) {
  if (ejectedCount(now) >= max_ejected_) return false;
  ++state.times_ejected;
  auto base = std::chrono::duration_cast<Clock::duration>(settings_.base_ejection_time);
  auto cap = std::max(base, std::chrono::duration_cast<Clock::duration>(kMaxEjectionTime));
  // Multiply without overflow: the cap is reached long before times_ejected gets large.
  Clock::duration duration = base;
  for (uint32_t i = 1; i < state.times_ejected && duration < cap; ++i) duration += base;
  duration = std::min(duration, cap);
  state.ejected_until = now + duration;
  state.healthy_since = state.ejected_until;
  state.consecutive_5xx = 0;
  state.consecutive_gateway_errors = 0;
  ++ejections_total_;
  return true;
}

void OutlierDetector::decay(EndpointState& state, TimePoint now) const {
  if (state.times_ejected == 0) return;
  auto interval = std::chrono::duration_cast<Clock::duration>(settings_.interval);
  if (interval <= Clock::duration::zero() || now <= state.healthy_since) return;
  auto periods = (now - state.healthy_since) / interval;
  if (periods <= 0) return;
  auto forgiven = static_cast<uint32_t>(std::min<decltype(periods)>(periods, state.times_ejected));
  state.times_ejected -= forgiven;
  state.healthy_since += periods * interval;
}

size_t OutlierDetector::ejectedCount(TimePoint now) const {
  size_t count = 0;
  for (const EndpointState* s : hosts_) count += s->isEjected(now) ? 1 : 0;
  return count;
}

}  // namespace weft::balancer
