#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>

#include "control/api/resources.h"
#include "proxy/balancer/endpoint_state.h"
#include "proxy/balancer/random.h"

namespace weft::balancer {

inline constexpr uint32_t kNoEndpoint = std::numeric_limits<uint32_t>::max();

// Picks the endpoint for one request among a host set (the endpoints of a subset or a Service).
//
//   candidates  indices into the Service's endpoints (router::Backend::endpoints)
//   states      indexed by endpoint index, i.e. parallel to api::Service::endpoints, NOT to
//               candidates: the state of candidate i is states[candidates[i]]. Every candidate
//               index must be < states.size() and its pointer non-null.
//   now         the clock the outlier detector ejects with (ejection is checked lazily)
//
// Returns the chosen endpoint index (one of the candidates), or kNoEndpoint when `candidates` is
// empty. Ejected endpoints are skipped; when every candidate is ejected the balancer picks among
// all of them ("panic mode", as Envoy does below its panic threshold): sending to an endpoint
// that may be bad beats failing every request outright.
//
// One instance per worker and host set (round robin keeps a cursor); pass the same candidates
// every time. Not thread-safe. pick() does not count the request: the caller calls
// EndpointState::requestStarted() on the endpoint it sends to.
class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  virtual uint32_t pick(std::span<const uint32_t> candidates,
                        std::span<EndpointState* const> states, Random& random, TimePoint now) = 0;
};

using LoadBalancerPtr = std::unique_ptr<LoadBalancer>;

// Cycles through the candidates in order, skipping ejected ones.
class RoundRobinLoadBalancer : public LoadBalancer {
 public:
  // A random starting point, so the workers do not all start on the first endpoint.
  explicit RoundRobinLoadBalancer(uint64_t start = 0) : cursor_(start) {}

  // LoadBalancer
  uint32_t pick(std::span<const uint32_t> candidates, std::span<EndpointState* const> states,
                Random& random, TimePoint now) override;

 private:
  uint64_t cursor_;
};

// Power of two choices: two distinct random healthy candidates, the one with fewer outstanding
// requests wins; a tie goes to either at random (the pair is drawn in random order).
class LeastRequestLoadBalancer : public LoadBalancer {
 public:
  // LoadBalancer
  uint32_t pick(std::span<const uint32_t> candidates, std::span<EndpointState* const> states,
                Random& random, TimePoint now) override;
};

// Power of two choices on the peak-EWMA cost (Finagle, Linkerd): latency EWMA × (outstanding+1).
// An endpoint without a latency yet costs 0 while idle, so new endpoints are tried at once, and
// a huge penalty once it has requests outstanding, so it is not flooded before it answers.
class PeakEwmaLoadBalancer : public LoadBalancer {
 public:
  static double cost(const EndpointState& state, TimePoint now);

  // LoadBalancer
  uint32_t pick(std::span<const uint32_t> candidates, std::span<EndpointState* const> states,
                Random& random, TimePoint now) override;
};

// The balancer a DestinationPolicy asks for. Round robin starts at a random offset from `random`.
LoadBalancerPtr makeLoadBalancer(api::LoadBalancerKind kind, Random& random);

}  // namespace weft::balancer
