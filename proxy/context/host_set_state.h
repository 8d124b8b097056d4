#pragma once

#include <memory>
#include <string>
#include <vector>

#include "control/api/resources.h"
#include "proxy/balancer/endpoint_state.h"
#include "proxy/balancer/load_balancer.h"
#include "proxy/balancer/outlier_detector.h"
#include "proxy/upstream/connector.h"

namespace weft {

class ServiceState;

// A destination's endpoints as one worker balances over them. Replaced whole, never edited: a
// request holds the list (through its host set) for as long as it uses an endpoint of it.
using EndpointList = std::vector<api::Endpoint>;
using EndpointListPtr = std::shared_ptr<const EndpointList>;

// One worker's balancing over one host set: a subset, or all endpoints, of one destination. Its
// destination (ServiceState) owns it and replaces it when its members change; a request holds
// the one it started with (shared_ptr), so the endpoint indices it picked stay valid. The
// endpoints' states live in the worker's EndpointRegistry and survive replacements: load,
// latency and ejections carry over to the next host set holding the same endpoint.
class HostSetState {
 public:
  // `members`: indices into `all`, ascending. `states`: parallel to `all` (null where the
  // endpoint is not a member).
  HostSetState(EndpointListPtr all, std::vector<uint32_t> members,
               std::vector<std::shared_ptr<balancer::EndpointState>> states,
               const api::DestinationPolicy& policy, ServiceState& owner, balancer::Random& random);
  ~HostSetState();
  HostSetState(const HostSetState&) = delete;
  HostSetState& operator=(const HostSetState&) = delete;

  // The endpoint index for the next try; when `avoid` is a valid index and another healthy
  // endpoint exists, a different one. balancer::kNoEndpoint when the set is empty.
  uint32_t pick(balancer::Random& random, balancer::TimePoint now, uint32_t avoid);
  balancer::EndpointState& state(uint32_t endpoint) { return *raw_states_[endpoint]; }
  const balancer::EndpointState& state(uint32_t endpoint) const { return *raw_states_[endpoint]; }
  // Feeds the outlier detector and keeps the ejection metrics current.
  void onResult(uint32_t endpoint, balancer::Result result, balancer::TimePoint now);
  // Where a try to `endpoint` connects: mTLS to its address, requiring its identity.
  const upstream::Target& target(uint32_t endpoint);

  ServiceState& owner() { return owner_; }
  const api::Endpoint& endpoint(uint32_t endpoint) const { return (*all_)[endpoint]; }
  // The member indices, as the balancer takes them.
  const std::vector<uint32_t>& endpoints() const { return members_; }
  bool empty() const { return members_.empty(); }
  // Whether `all`'s members `members` are this set's, endpoint for endpoint (address and
  // identity): an endpoint change that leaves them alone keeps this set.
  bool sameMembers(const EndpointList& all, const std::vector<uint32_t>& members) const;

 private:
  EndpointListPtr all_;
  std::vector<uint32_t> members_;
  std::vector<std::shared_ptr<balancer::EndpointState>> states_;  // parallel to *all_
  std::vector<balancer::EndpointState*> raw_states_;              // the same, as the LB takes them
  std::vector<std::unique_ptr<upstream::Target>> targets_;        // parallel to *all_; lazy
  std::optional<api::Duration> connect_timeout_;
  ServiceState& owner_;
  balancer::LoadBalancerPtr balancer_;
  balancer::OutlierDetector outlier_;
};

}  // namespace weft
