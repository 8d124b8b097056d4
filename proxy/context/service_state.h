#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/api/resources.h"
#include "net/asio.h"
#include "proxy/balancer/endpoint_state.h"
#include "proxy/balancer/random.h"
#include "proxy/balancer/retry_budget.h"
#include "proxy/context/host_set_state.h"
#include "proxy/metrics/resilience_metrics.h"
#include "proxy/upstream/service_limits.h"

namespace weft {

// One destination Service on one worker: its endpoints, the host sets balanced over them (one
// per subset in use, and the whole Service), its circuit breaker, retry budget and counters. It
// outlives config swaps (requests of an old snapshot still hold its permits and host sets).
//
// Two things change it:
//   - update(): a config snapshot comes into use (the Service's subsets, DestinationPolicy and
//     endpoints as that config has them). A snapshot older than the last one taken is ignored.
//   - setEndpoints(): only the endpoints changed (pods came or went; the control plane pushed a
//     Service whose spec differs in nothing else). The route table is not rebuilt: the host sets
//     whose members changed are replaced, the others stay as they are, balancer and all.
class ServiceState {
 public:
  ServiceState(Executor executor, metrics::ServiceResilienceMetrics metrics,
               balancer::EndpointRegistry& registry, balancer::Random& random);
  ~ServiceState();
  ServiceState(const ServiceState&) = delete;
  ServiceState& operator=(const ServiceState&) = delete;

  // Takes config `generation`'s view of this Service, unless a later one was taken already.
  // A change of subsets, load balancer, outlier detection or connect timeout rebuilds the host
  // sets; otherwise only the endpoints are compared, as by setEndpoints.
  void update(uint64_t generation, const api::Service& service,
              const api::DestinationPolicy& policy, EndpointListPtr endpoints);
  // Returns how many host sets were replaced.
  size_t setEndpoints(EndpointListPtr endpoints);
  // The host set of `subset` ("" = every endpoint), built on first use. Empty when no endpoint
  // carries the subset's labels (or the subset is unknown).
  std::shared_ptr<HostSetState> hostSet(const std::string& subset);
  const EndpointListPtr& endpoints() const { return endpoints_; }

  upstream::ServiceLimits& limits() { return limits_; }
  balancer::RetryBudget& budget() { return *budget_; }
  metrics::ServiceResilienceMetrics& metrics() { return metrics_; }
  const api::DestinationPolicy& policy() const { return policy_; }
  // "<name>.<namespace>", as errors and metrics name it.
  const std::string& label() const { return label_; }

  // outlier_ejected_endpoints counts this Service's ejected endpoints once each, however many
  // host sets (subsets, the whole Service, sets that requests in flight still hold) hold them:
  // the sets register here, and a refresh counts the distinct ejected endpoint states among them.
  void addHostSet(const HostSetState* set) { registered_.push_back(set); }
  void removeHostSet(const HostSetState* set);
  void refreshEjected(balancer::TimePoint now);
  bool hasEjections() const { return reported_ejected_ > 0; }
  // Brings outlier_ejected_endpoints up to date while ejections are out: an ejection ends by
  // time, not by an event.
  void expireEjections(balancer::TimePoint now) {
    if (hasEjections()) refreshEjected(now);
  }

 private:
  void applyPolicy(const api::DestinationPolicy& policy);
  // The indices of the endpoints in `all` that carry `subset`'s labels (all of them for "").
  std::vector<uint32_t> membersOf(const EndpointList& all, const std::string& subset) const;
  std::shared_ptr<HostSetState> buildHostSet(const std::string& subset);

  upstream::ServiceLimits limits_;
  std::unique_ptr<balancer::RetryBudget> budget_;
  metrics::ServiceResilienceMetrics metrics_;
  balancer::EndpointRegistry& registry_;
  balancer::Random& random_;
  api::DestinationPolicy policy_;
  std::string label_;
  std::vector<api::Subset> subsets_;
  uint64_t generation_ = 0;
  EndpointListPtr endpoints_;
  std::unordered_map<std::string, std::shared_ptr<HostSetState>> host_sets_;  // by subset
  std::vector<const HostSetState*> registered_;  // host_sets_ and those requests still hold
  int64_t reported_ejected_ = 0;                 // this worker's share of outlier_ejected_endpoints
};

}  // namespace weft
