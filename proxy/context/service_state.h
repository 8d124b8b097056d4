#pragma once

#include <memory>
#include <string>
#include <vector>

#include "control/api/resources.h"
#include "net/asio.h"
#include "proxy/balancer/endpoint_state.h"
#include "proxy/balancer/load_balancer.h"
#include "proxy/balancer/outlier_detector.h"
#include "proxy/balancer/retry_budget.h"
#include "proxy/metrics/resilience_metrics.h"
#include "proxy/upstream/service_limits.h"

namespace weft {

class HostSetState;

// One worker's resilience state for one destination Service: its circuit breaker, retry budget
// and counters. It outlives config swaps (requests of an old snapshot still hold its permits),
// and takes each snapshot's DestinationPolicy as the snapshot comes into use.
class ServiceState {
 public:
  ServiceState(Executor executor, metrics::ServiceResilienceMetrics metrics);
  ~ServiceState();
  ServiceState(const ServiceState&) = delete;
  ServiceState& operator=(const ServiceState&) = delete;

  // Applies `policy` (the destination's, or the defaults) if it differs from the one in force.
  void apply(const api::DestinationPolicy& policy);

  upstream::ServiceLimits& limits() { return limits_; }
  balancer::RetryBudget& budget() { return *budget_; }
  metrics::ServiceResilienceMetrics& metrics() { return metrics_; }
  const api::DestinationPolicy& policy() const { return policy_; }

  // outlier_ejected_endpoints counts this Service's ejected endpoints once each, however many
  // host sets (subsets, the whole Service, sets of older snapshots still in use) hold them: the
  // sets register here, and a refresh counts the distinct ejected endpoint states among them.
  void addHostSet(const HostSetState* set) { host_sets_.push_back(set); }
  void removeHostSet(const HostSetState* set);
  void refreshEjected(balancer::TimePoint now);
  bool hasEjections() const { return reported_ejected_ > 0; }
  // Brings outlier_ejected_endpoints up to date while ejections are out: an ejection ends by
  // time, not by an event.
  void expireEjections(balancer::TimePoint now) {
    if (hasEjections()) refreshEjected(now);
  }

 private:
  upstream::ServiceLimits limits_;
  std::unique_ptr<balancer::RetryBudget> budget_;
  metrics::ServiceResilienceMetrics metrics_;
  api::DestinationPolicy policy_;
  std::vector<const HostSetState*> host_sets_;
  int64_t reported_ejected_ = 0;  // this worker's share of outlier_ejected_endpoints
};

// One worker's balancing over one host set (a subset, or all endpoints, of one Service) for one
// config snapshot. The endpoints' states live in the worker's EndpointRegistry and survive
// swaps; the balancer cursor and the detector's bookkeeping are per snapshot.
class HostSetState {
 public:
  HostSetState(const api::Service& service, std::vector<uint32_t> endpoints,
               std::vector<std::shared_ptr<balancer::EndpointState>> states,
               const api::DestinationPolicy& policy, ServiceState& owner, balancer::Random& random);
  ~HostSetState();
  HostSetState(const HostSetState&) = delete;
  HostSetState& operator=(const HostSetState&) = delete;

  // The endpoint index for the next try; when `avoid` is a valid index and another healthy
  // endpoint exists, a different one. balancer::kNoEndpoint when the set is empty.
  uint32_t pick(balancer::Random& random, balancer::TimePoint now, uint32_t avoid);
  balancer::EndpointState& state(uint32_t endpoint) { return *raw_states_[endpoint]; }
  // Feeds the outlier detector and keeps the ejection metrics current.
  void onResult(uint32_t endpoint, balancer::Result result, balancer::TimePoint now);

  const api::Service& service() const { return service_; }
  ServiceState& owner() { return owner_; }
  // The states of the endpoints in this set, as the balancer takes them.
  const std::vector<uint32_t>& endpoints() const { return endpoints_; }
  const balancer::EndpointState& state(uint32_t endpoint) const { return *raw_states_[endpoint]; }

 private:
  const api::Service& service_;
  std::vector<uint32_t> endpoints_;
  std::vector<std::shared_ptr<balancer::EndpointState>> states_;  // parallel to service endpoints
  std::vector<balancer::EndpointState*> raw_states_;              // the same, as the LB takes them
  ServiceState& owner_;
  balancer::LoadBalancerPtr balancer_;
  balancer::OutlierDetector outlier_;
};

}  // namespace weft
