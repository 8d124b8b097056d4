#include "proxy/balancer/load_balancer.h"

namespace weft::balancer {
namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();
// Random draws before a healthy-candidate search falls back to a scan. Ejection is capped by
// maxEjectionPercent (10% by default), so a draw almost always lands on a healthy endpoint.
constexpr int kDraws = 8;
// Cost of an endpoint with requests outstanding but no latency yet (Finagle's penalty, in ns).
constexpr double kUnmeasuredPenalty = 1e15;

// The candidates of one pick, and the health test on them.
struct HostSet {
  std::span<const uint32_t> candidates;
  std::span<EndpointState* const> states;
  TimePoint now;

  size_t size() const { return candidates.size(); }
  EndpointState& state(size_t pos) const { return *states[candidates[pos]]; }
  bool healthy(size_t pos) const { return !state(pos).isEjected(now); }
};

// A uniformly random position in [0, n) other than `skip` (kNone: no exclusion). n > 1 when
// skip is set.
size_t draw(Random& random, size_t n, size_t skip) {
  if (skip == kNone) return random.below(n);
  size_t pos = random.below(n - 1);
  return pos >= skip ? pos + 1 : pos;
}

// A uniformly random healthy position other than `skip`, or kNone if there is none. A few
// random draws first (O(1) in the common case), then a counting scan.
size_t drawHealthy(const HostSet& hosts, Random& random, size_t skip) {
  size_t n = hosts.size();
  if (skip != kNone && n < 2) return kNone;
  for (int i = 0; i < kDraws; ++i) {
    size_t pos = draw(random, n, skip);
    if (hosts.healthy(pos)) return pos;
  }
  size_t count = 0;
  for (size_t pos = 0; pos < n; ++pos) count += (pos != skip && hosts.healthy(pos)) ? 1 : 0;
  if (count == 0) return kNone;
  size_t k = random.below(count);
  for (size_t pos = 0; pos < n; ++pos) {
    if (pos != skip && hosts.healthy(pos) && k-- == 0) return pos;
  }
  return kNone;  // unreachable
}

// Two distinct positions for power of two choices, healthy ones if any; second == kNone when
// only one candidate is healthy.
std::pair<size_t, size_t> drawTwo(const HostSet& hosts, Random& random) {
  size_t first = drawHealthy(hosts, random, kNone);
  if (first == kNone) {  // panic: every candidate is ejected, choose among all
    first = draw(random, hosts.size(), kNone);
    return {first, draw(random, hosts.size(), first)};
  }
  return {first, drawHealthy(hosts, random, first)};
}

// Power of two choices on `cost`: the cheaper of two random candidates; the first on a tie
// (the pair is in random order, so a tie goes to either with equal chance).
template <typename Cost>
uint32_t pickTwo(const HostSet& hosts, Random& random, Cost cost) {
  if (hosts.size() == 0) return kNoEndpoint;
  if (hosts.size() == 1) return hosts.candidates[0];
  auto [a, b] = drawTwo(hosts, random);
  if (b == kNone) return hosts.candidates[a];
  return cost(hosts.state(b)) < cost(hosts.state(a)) ? hosts.candidates[b] : hosts.candidates[a];
}

}  // namespace

uint32_t RoundRobinLoadBalancer::pick(std::span<const uint32_t> candidates,
                                      std::span<EndpointState* const> states, Random& /*random*/,
                                      TimePoint now) {
  HostSet hosts{candidates, states, now};
  size_t n = hosts.size();
  if (n == 0) return kNoEndpoint;
  for (size_t step = 0; step < n; ++step) {
    size_t pos = cursor_++ % n;
    if (hosts.healthy(pos)) return candidates[pos];
  }
  return candidates[cursor_++ % n];  // panic: every candidate is ejected
}

uint32_t LeastRequestLoadBalancer::pick(std::span<const uint32_t> candidates,
                                        std::span<EndpointState* const> states, Random& random,
                                        TimePoint now) {
  return pickTwo(HostSet{candidates, states, now}, random,
                 [](const EndpointState& s) { return s.outstanding; });
}

double PeakEwmaLoadBalancer::cost(const EndpointState& state, TimePoint now) {
  double ewma = state.ewmaAt(now);
  if (ewma <= 0 && state.outstanding > 0) return kUnmeasuredPenalty + state.outstanding;
  return ewma * (state.outstanding + 1);
}

uint32_t PeakEwmaLoadBalancer::pick(std::span<const uint32_t> candidates,
                                    std::span<EndpointState* const> states, Random& random,
                                    TimePoint now) {
  return pickTwo(HostSet{candidates, states, now}, random,
                 [now](const EndpointState& s) { return cost(s, now); });
}

LoadBalancerPtr makeLoadBalancer(api::LoadBalancerKind kind, Random& random) {
  switch (kind) {
    case api::LoadBalancerKind::kRoundRobin:
      return std::make_unique<RoundRobinLoadBalancer>(random.next());
    case api::LoadBalancerKind::kEwma:
      return std::make_unique<PeakEwmaLoadBalancer>();
    case api::LoadBalancerKind::kLeastRequest:
      break;
  }
  return std::make_unique<LeastRequestLoadBalancer>();
}

}  // namespace weft::balancer
