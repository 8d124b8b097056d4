#include "proxy/context/service_state.h"

#include <algorithm>

namespace weft {
namespace {

bool sameBudget(const api::RetryBudgetSettings& a, const api::RetryBudgetSettings& b) {
  return a.percent == b.percent && a.min_retries_per_second == b.min_retries_per_second;
}

std::vector<balancer::EndpointState*> hostsOf(
    const std::vector<uint32_t>& endpoints,
    const std::vector<std::shared_ptr<balancer::EndpointState>>& states) {
  std::vector<balancer::EndpointState*> hosts;
  hosts.reserve(endpoints.size());
  for (uint32_t i : endpoints) hosts.push_back(states[i].get());
  return hosts;
}

}  // namespace

ServiceState::ServiceState(Executor executor, metrics::ServiceResilienceMetrics metrics)
    : limits_(executor),
      // Not policy_.retry_budget: policy_ is declared (so constructed) after budget_.
      budget_(std::make_unique<balancer::RetryBudget>(api::RetryBudgetSettings{})),
      metrics_(metrics) {
  limits_.update(policy_.connection_pool);
}

ServiceState::~ServiceState() {
  metrics_.ejected_endpoints->Decrement(static_cast<double>(reported_ejected_));
  if (metrics_.owner != nullptr) metrics_.owner->release(metrics_);
}

void ServiceState::removeHostSet(const HostSetState* set) {
  std::erase(host_sets_, set);
  expireEjections(balancer::Clock::now());  // its ejected endpoints may have been the only ones
}

void ServiceState::refreshEjected(balancer::TimePoint now) {
  std::vector<const balancer::EndpointState*> ejected;
  for (const HostSetState* set : host_sets_) {
    for (uint32_t e : set->endpoints()) {
      const balancer::EndpointState* state = &set->state(e);
      if (state->isEjected(now) &&
          std::find(ejected.begin(), ejected.end(), state) == ejected.end()) {
        ejected.push_back(state);
      }
    }
  }
  const auto count = static_cast<int64_t>(ejected.size());
  if (count != reported_ejected_) {
    metrics_.ejected_endpoints->Increment(static_cast<double>(count - reported_ejected_));
    reported_ejected_ = count;
  }
}

void ServiceState::apply(const api::DestinationPolicy& policy) {
  limits_.update(policy.connection_pool);
  if (!sameBudget(policy.retry_budget, policy_.retry_budget)) {
    budget_ = std::make_unique<balancer::RetryBudget>(policy.retry_budget);
  }
  policy_ = policy;
}

HostSetState::HostSetState(const api::Service& service, std::vector<uint32_t> endpoints,
                           std::vector<std::shared_ptr<balancer::EndpointState>> states,
                           const api::DestinationPolicy& policy, ServiceState& owner,
                           balancer::Random& random)
    : service_(service),
      endpoints_(std::move(endpoints)),
      states_(std::move(states)),
      owner_(owner),
      balancer_(balancer::makeLoadBalancer(policy.load_balancer, random)),
      outlier_(policy.outlier_detection, hostsOf(endpoints_, states_)) {
  raw_states_.reserve(states_.size());
  for (const auto& s : states_) raw_states_.push_back(s.get());
  owner_.addHostSet(this);
}

HostSetState::~HostSetState() { owner_.removeHostSet(this); }

uint32_t HostSetState::pick(balancer::Random& random, balancer::TimePoint now, uint32_t avoid) {
  uint32_t chosen = balancer_->pick(endpoints_, raw_states_, random, now);
  // A retry goes elsewhere when it can: a few more draws, then take what the balancer says.
  for (int i = 0; i < 3 && chosen == avoid && endpoints_.size() > 1; ++i) {
    chosen = balancer_->pick(endpoints_, raw_states_, random, now);
  }
  if (chosen == avoid && endpoints_.size() > 1) {
    for (uint32_t e : endpoints_) {
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
