#include "proxy/balancer/endpoint_state.h"

#include <cmath>
#include <unordered_set>

#include "common/strings.h"

namespace weft::balancer {
namespace {

// exp(-elapsed / kEwmaDecay): the weight the old estimate keeps after `elapsed`.
double keep(TimePoint from, TimePoint to) {
  if (to <= from) return 1.0;
  double elapsed = static_cast<double>((to - from).count());
  double tau = static_cast<double>(
      std::chrono::duration_cast<Clock::duration>(EndpointState::kEwmaDecay).count());
  return std::exp(-elapsed / tau);
}

}  // namespace

void EndpointState::recordLatency(std::chrono::nanoseconds latency, TimePoint now) {
  double rtt = static_cast<double>(latency.count());
  if (rtt < 0) rtt = 0;
  if (rtt > ewma_ns) {
    ewma_ns = rtt;  // peak: a slower observation counts in full, at once
  } else {
    double w = keep(ewma_stamp, now);
    ewma_ns = ewma_ns * w + rtt * (1.0 - w);
  }
  if (now > ewma_stamp) ewma_stamp = now;
}

double EndpointState::ewmaAt(TimePoint now) const { return ewma_ns * keep(ewma_stamp, now); }

std::string EndpointRegistry::key(const api::Endpoint& endpoint) {
  return weft::strCat(endpoint.address, " ", endpoint.identity);
}

std::shared_ptr<EndpointState> EndpointRegistry::share(const api::Endpoint& endpoint) {
  std::shared_ptr<EndpointState>& slot = states_[key(endpoint)];
  if (!slot) slot = std::make_shared<EndpointState>();
  return slot;
}

size_t EndpointRegistry::prune(
    const api::MeshConfig& current,
    const std::unordered_map<std::string, std::shared_ptr<const std::vector<api::Endpoint>>>&
        replaced) {
  std::unordered_set<std::string> live;
  for (const api::Service& svc : current.services()) {
    const std::vector<api::Endpoint>* list = &svc.endpoints;
    if (!replaced.empty()) {
      auto it = replaced.find(weft::strCat(svc.ns, "/", svc.name));
      if (it != replaced.end()) list = it->second.get();
    }
    for (const api::Endpoint& ep : *list) live.insert(key(ep));
  }
  return std::erase_if(states_, [&](const auto& entry) {
    return entry.second.use_count() == 1 && !live.contains(entry.first);
  });
}

}  // namespace weft::balancer
