#include "control/api/resources.h"

#include "common/strings.h"

namespace weft::api {

bool Subset::selects(const Labels& endpoint_labels) const {
  for (const auto& [key, value] : labels) {
    auto it = endpoint_labels.find(key);
    if (it == endpoint_labels.end() || it->second != value) return false;
  }
  return true;
}

const Subset* Service::findSubset(std::string_view subset_name) const {
  for (const Subset& s : subsets) {
    if (s.name == subset_name) return &s;
  }
  return nullptr;
}

MeshConfig::MeshConfig(Resources resources, std::string source, uint64_t version)
    : resources_(std::move(resources)), source_(std::move(source)), version_(version) {
  const std::vector<Service>& services = resources_.services;
  for (size_t i = 0; i < services.size(); ++i) {
    by_key_.emplace(weft::strCat(services[i].ns, "/", services[i].name), i);
  }
  routes_by_service_.resize(services.size());
  policy_by_service_.assign(services.size(), nullptr);
  for (const HTTPRoute& route : resources_.routes) {
    for (const ParentRef& parent : route.parent_refs) {
      auto it =
          by_key_.find(weft::strCat(parent.ns.empty() ? route.ns : parent.ns, "/", parent.name));
      if (it == by_key_.end()) continue;
      auto& list = routes_by_service_[it->second];
      if (list.empty() || list.back() != &route) list.push_back(&route);
    }
  }
  for (const DestinationPolicy& policy : resources_.policies) {
    const TargetRef& t = policy.target_ref;
    auto it = by_key_.find(weft::strCat(t.ns.empty() ? policy.ns : t.ns, "/", t.name));
    if (it != by_key_.end() && policy_by_service_[it->second] == nullptr) {
      policy_by_service_[it->second] = &policy;
    }
  }
  for (const AuthorizationPolicy& policy : resources_.authorization) {
    const TargetRef& t = policy.target_ref;
    authorization_by_key_[weft::strCat(t.ns.empty() ? policy.ns : t.ns, "/", t.name)].push_back(
        &policy);
  }
}

const std::vector<const AuthorizationPolicy*>& MeshConfig::authorizationFor(
    std::string_view name, std::string_view ns) const {
  auto it = authorization_by_key_.find(weft::strCat(ns, "/", name));
  return it == authorization_by_key_.end() ? no_authorization_ : it->second;
}

const Service* MeshConfig::findService(std::string_view name, std::string_view ns) const {
  auto it = by_key_.find(weft::strCat(ns, "/", name));
  return it == by_key_.end() ? nullptr : &resources_.services[it->second];
}

const std::vector<const HTTPRoute*>& MeshConfig::routesFor(const Service& service) const {
  return routes_by_service_[static_cast<size_t>(&service - resources_.services.data())];
}

const DestinationPolicy& MeshConfig::policyFor(const Service& service) const {
  const DestinationPolicy* p =
      policy_by_service_[static_cast<size_t>(&service - resources_.services.data())];
  return p != nullptr ? *p : default_policy_;
}

}  // namespace weft::api
