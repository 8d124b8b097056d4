#include "control/push/mesh_snapshot.h"

#include "control/api/resource_key.h"

namespace weft::control::push {
namespace {

using nlohmann::json;

std::string serviceKey(std::string ns, std::string name) {
  return api::ResourceKey{"Service", std::move(ns), std::move(name)}.path();
}

// A reference's Service key ({name, namespace?}; the namespace defaults to `ns`).
std::string refKey(const json& ref, const std::string& ns) {
  return serviceKey(ref.value("namespace", ns), ref.value("name", ""));
}

void mergeEndpoints(json& service, const std::vector<const Registration*>& registered) {
  json& spec = service["spec"];
  json endpoints = spec.value("endpoints", json::array());
  std::set<std::string> present;
  for (const json& e : endpoints) present.insert(e.value("address", ""));
  for (const Registration* r : registered) {
    if (!present.insert(r->address).second) continue;
    json e = {{"address", r->address}, {"identity", r->identity}};
    if (!r->labels.empty()) e["labels"] = r->labels;
    endpoints.push_back(std::move(e));
  }
  if (!endpoints.empty()) spec["endpoints"] = std::move(endpoints);
}

}  // namespace

std::shared_ptr<const MeshSnapshot> buildSnapshot(std::vector<json> objects,
                                                  const std::vector<Registration>& registrations,
                                                  std::string version) {
  auto snap = std::make_shared<MeshSnapshot>();
  snap->version = std::move(version);
  std::map<std::string, std::vector<const Registration*>> by_service;
  for (const Registration& r : registrations) {
    by_service[serviceKey(r.ns, r.service)].push_back(&r);
  }
  for (json& object : objects) {
    object["metadata"].erase("resourceVersion");
    const api::ResourceKey id = api::resourceKeyOf(object);
    const std::string key = id.path();
    const std::string& kind = id.kind;
    const std::string& ns = id.ns;
    // Stored objects passed validation: a spec is there.
    const json& spec = object["spec"];
    if (kind == "Service") {
      if (auto it = by_service.find(key); it != by_service.end()) {
        mergeEndpoints(object, it->second);
      }
      snap->services_in[ns].push_back(key);
    } else if (kind == "HTTPRoute") {
      for (const json& p : spec.value("parentRefs", json::array())) {
        snap->attached[refKey(p, ns)].push_back(key);
        snap->refs[key].push_back(refKey(p, ns));
      }
      for (const json& rule : spec.value("rules", json::array())) {
        for (const json& b : rule.value("backendRefs", json::array())) {
          snap->refs[key].push_back(refKey(b, ns));
        }
      }
    } else if (kind == "DestinationPolicy" || kind == "AuthorizationPolicy") {
      snap->attached[refKey(spec.value("targetRef", json::object()), ns)].push_back(key);
    }
    std::string v = api::push::contentVersion(object);
    snap->resources.emplace(key, api::push::Resource{key, std::move(v), std::move(object)});
  }
  return snap;
}

std::set<std::string> MeshSnapshot::scope(const api::push::Node& node) const {
  std::set<std::string> out;
  std::vector<std::string> todo;
  if (auto it = services_in.find(node.ns); it != services_in.end()) todo = it->second;
  for (const std::string& e : node.egress) {
    const size_t slash = e.find('/');
    if (slash != std::string::npos)
      todo.push_back(serviceKey(e.substr(0, slash), e.substr(slash + 1)));
  }
  while (!todo.empty()) {
    const std::string service = std::move(todo.back());
    todo.pop_back();
    if (!resources.contains(service) || !out.insert(service).second) continue;
    auto attached_it = attached.find(service);
    if (attached_it == attached.end()) continue;
    for (const std::string& key : attached_it->second) {
      if (!out.insert(key).second) continue;
      if (auto b = refs.find(key); b != refs.end()) {
        todo.insert(todo.end(), b->second.begin(), b->second.end());
      }
    }
  }
  return out;
}

}  // namespace weft::control::push
