#include "proxy/context/host_set_state.h"

#include "proxy/context/service_state.h"

namespace weft {
namespace {

std::vector<balancer::EndpointState*> hostsOf(
    const std::vector<uint32_t>& endpoints,
    const std::vector<std::shared_ptr<balancer::EndpointState>>& states) {
  std::vector<balancer::EndpointState*> hosts;
  hosts.reserve(endpoints.size());
  for (uint32_t i : endpoints) hosts.push_back(states[i].get());
  return hosts;
}

}  // namespace

HostSetState::HostSetState(EndpointListPtr all, std::vector<uint32_t> members,
                           std::vector<std::shared_ptr<balancer::EndpointState>> states,
                           const api::DestinationPolicy& policy, ServiceState& owner,
                           balancer::Random& random)
    : all_(std::move(all)),
      members_(std::move(members)),
      states_(std::move(states)),
      targets_(all_->size()),
      connect_timeout_(policy.connection_pool.connect_timeout),
      owner_(owner),
      balancer_(balancer::makeLoadBalancer(policy.load_balancer, random)),
      outlier_(policy.outlier_detection, hostsOf(members_, states_)) {
  raw_states_.reserve(states_.size());
  for (const auto& s : states_) raw_states_.push_back(s.get());
  owner_.addHostSet(this);
}

HostSetState::~HostSetState() { owner_.removeHostSet(this); }

bool HostSetState::sameMembers(const EndpointList& all,
                               const std::vector<uint32_t>& members) const {
  if (members.size() != members_.size()) return false;
  for (size_t i = 0; i < members.size(); ++i) {
    const api::Endpoint& a = all[members[i]];
    const api::Endpoint& b = (*all_)[members_[i]];
    if (a.address != b.address || a.identity != b.identity) return false;
  }
  return true;
}

const upstream::Target& HostSetState::target(uint32_t endpoint) {
  std::unique_ptr<upstream::Target>& target = targets_[endpoint];
  if (!target) {
    const api::Endpoint& ep = (*all_)[endpoint];
    target = std::make_unique<upstream::Target>(
        upstream::Target::mtls({ep.host, ep.port}, ep.address, ep.identity));
    target->connect_timeout = connect_timeout_;
  }
  return *target;
}

uint32_t HostSetState::pick(balancer::Random& random, balancer::TimePoint now, uint32_t avoid) {
  uint32_t chosen = balancer_->pick(members_, raw_states_, random, now);
  // A retry goes elsewhere when it can: a few more draws, then take what the balancer says.
  for (int i = 0; i < 3 && chosen == avoid && members_.size() > 1; ++i) {
    chosen = balancer_->pick(members_, raw_states_, random, now);
  }
  if (chosen == avoid && members_.size() > 1) {
    for (uint32_t e : members_) {
      if (e != avoid && !raw_states_[e]->isEjected(now)) return e;
    }
  }
  return chosen;
}

void HostSetState::onResult(uint32_t endpoint, balancer::Result result, balancer::TimePoint now) {
  bool ejected = outlier_.onResult(*raw_states_[endpoint], result, now);
  if (ejected) owner_.metrics().ejections->Increment();
  // Counting is O(endpoints): only while something is (or was just) ejected.
  if (ejected || owner_.hasEjections()) owner_.refreshEjected(now);
}

}  // namespace weft
