#pragma once

// What the control plane pushes, at one store revision: every mesh resource as a proxy sees it
// (Services with their registered endpoints merged into the static ones), each with a content
// version, and the links scoping follows: a proxy gets the Services of its namespace and of its
// egress list, the HTTPRoutes and DestinationPolicies attached to those, and — so that every
// reference resolves — the Services those routes send to, and theirs in turn.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/api/push_protocol.h"
#include "control/push/registry.h"

namespace weft::control::push {

struct MeshSnapshot {
  std::string version;                                   // the store revision
  std::map<std::string, api::push::Resource> resources;  // by key
  // "Service/ns/name" -> keys of the HTTPRoutes (parentRefs), DestinationPolicies and
  // AuthorizationPolicies (targetRef) attached to it.
  std::map<std::string, std::vector<std::string>> attached;
  // HTTPRoute key -> the Service keys it refers to (parentRefs and backendRefs): all of them
  // come with the route, or the proxy could not decode it.
  std::map<std::string, std::vector<std::string>> refs;
  // namespace -> its Service keys.
  std::map<std::string, std::vector<std::string>> services_in;

  // The keys a proxy with `node` gets.
  std::set<std::string> scope(const api::push::Node& node) const;
};

// `objects`: the stored resources (PolicyStore::list); `registrations`: the registry.
std::shared_ptr<const MeshSnapshot> buildSnapshot(std::vector<nlohmann::json> objects,
                                                  const std::vector<Registration>& registrations,
                                                  std::string version);

}  // namespace weft::control::push
