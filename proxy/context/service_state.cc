#include "proxy/context/service_state.h"

#include <algorithm>

#include "common/strings.h"

namespace weft {
namespace {

bool sameBudget(const api::RetryBudgetSettings& a, const api::RetryBudgetSettings& b) {
  return a.percent == b.percent && a.min_retries_per_second == b.min_retries_per_second;
}

// Whether host sets built under policy `a` balance as they would under `b`.
bool sameBalancing(const api::DestinationPolicy& a, const api::DestinationPolicy& b) {
  return a.load_balancer == b.load_balancer && a.outlier_detection == b.outlier_detection &&
         a.connection_pool.connect_timeout == b.connection_pool.connect_timeout;
}

const EndpointListPtr& emptyList() {
  static const EndpointListPtr empty = std::make_shared<const EndpointList>();
  return empty;
}

}  // namespace

ServiceState::ServiceState(Executor executor, metrics::ServiceResilienceMetrics metrics,
                           balancer::EndpointRegistry& registry, balancer::Random& random)
    : limits_(executor),
      // Not policy_.retry_budget: policy_ is declared (so constructed) after budget_.
      budget_(std::make_unique<balancer::RetryBudget>(api::RetryBudgetSettings{})),
      metrics_(metrics),
      registry_(registry),
      random_(random),
      endpoints_(emptyList()) {
  limits_.update(policy_.connection_pool);
}

ServiceState::~ServiceState() {
  host_sets_.clear();  // they unregister here: before the gauge is settled
  metrics_.ejected_endpoints->Decrement(static_cast<double>(reported_ejected_));
  if (metrics_.owner != nullptr) metrics_.owner->release(metrics_);
}

void ServiceState::applyPolicy(const api::DestinationPolicy& policy) {
  limits_.update(policy.connection_pool);
  if (!sameBudget(policy.retry_budget, policy_.retry_budget)) {
    budget_ = std::make_unique<balancer::RetryBudget>(policy.retry_budget);
  }
  policy_ = policy;
}

void ServiceState::update(uint64_t generation, const api::Service& service,
                          const api::DestinationPolicy& policy, EndpointListPtr endpoints) {
  if (generation < generation_) return;  // a request of an older snapshot: keep the newer view
  generation_ = generation;
  if (label_.empty()) label_ = weft::strCat(service.name, ".", service.ns);
  const bool rebuild = !sameBalancing(policy, policy_) || service.subsets != subsets_;
  applyPolicy(policy);
  subsets_ = service.subsets;
  if (rebuild) {
    host_sets_.clear();
    endpoints_ = std::move(endpoints);
    return;
  }
  setEndpoints(std::move(endpoints));
}

size_t ServiceState::setEndpoints(EndpointListPtr endpoints) {
  if (endpoints == endpoints_) return 0;
  endpoints_ = std::move(endpoints);
  size_t replaced = 0;
  for (auto& [subset, set] : host_sets_) {
    if (set->sameMembers(*endpoints_, membersOf(*endpoints_, subset))) continue;
    set = buildHostSet(subset);
    ++replaced;
  }
  return replaced;
}

std::vector<uint32_t> ServiceState::membersOf(const EndpointList& all,
                                              const std::string& subset) const {
  const api::Subset* wanted = nullptr;
  if (!subset.empty()) {
    auto it = std::find_if(subsets_.begin(), subsets_.end(),
                           [&](const api::Subset& s) { return s.name == subset; });
    if (it == subsets_.end()) return {};
    wanted = &*it;
  }
  std::vector<uint32_t> members;
  for (uint32_t i = 0; i < all.size(); ++i) {
    if (wanted == nullptr || wanted->selects(all[i].labels)) members.push_back(i);
  }
  return members;
}

std::shared_ptr<HostSetState> ServiceState::buildHostSet(const std::string& subset) {
  std::vector<uint32_t> members = membersOf(*endpoints_, subset);
  std::vector<std::shared_ptr<balancer::EndpointState>> states(endpoints_->size());
  for (uint32_t i : members) states[i] = registry_.share((*endpoints_)[i]);
  return std::make_shared<HostSetState>(endpoints_, std::move(members), std::move(states), policy_,
                                        *this, random_);
}

std::shared_ptr<HostSetState> ServiceState::hostSet(const std::string& subset) {
  std::shared_ptr<HostSetState>& set = host_sets_[subset];
  if (!set) set = buildHostSet(subset);
  return set;
}

void ServiceState::removeHostSet(const HostSetState* set) {
  std::erase(registered_, set);
  expireEjections(balancer::Clock::now());  // its ejected endpoints may have been the only ones
}

void ServiceState::refreshEjected(balancer::TimePoint now) {
  std::vector<const balancer::EndpointState*> ejected;
  for (const HostSetState* set : registered_) {
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

}  // namespace weft
