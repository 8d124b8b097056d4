#include "control/cli/resource_kinds.h"

#include "common/strings.h"

namespace weft::control::cli {
namespace {

using nlohmann::json;

std::string str(const json& j, std::string_view key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// "reviews/v2=1 | reviews/v1=90 reviews/v2=10": each rule's backends, rules apart.
std::string backends(const json& spec) {
  std::vector<std::string> rules;
  for (const json& rule : spec.value("rules", json::array())) {
    std::vector<std::string> out;
    for (const json& b : rule.value("backendRefs", json::array())) {
      std::string name = str(b, "name");
      if (b.contains("subset")) name += "/" + str(b, "subset");
      out.push_back(weft::strCat(name, "=", b.contains("weight") ? str(b, "weight") : "1"));
    }
    rules.push_back(weft::join(out, " "));
  }
  return weft::join(rules, " | ");
}

}  // namespace

std::optional<std::string> kindFromWord(std::string_view word) {
  const std::string w = weft::toLower(word);
  if (w == "all") return std::string();
  if (w == "service" || w == "services" || w == "svc") return "Service";
  if (w == "httproute" || w == "httproutes" || w == "route" || w == "routes") return "HTTPRoute";
  if (w == "destinationpolicy" || w == "destinationpolicies" || w == "dp") {
    return "DestinationPolicy";
  }
  if (w == "authorizationpolicy" || w == "authorizationpolicies" || w == "authz") {
    return "AuthorizationPolicy";
  }
  return std::nullopt;
}

std::vector<std::string> tableHeader(std::string_view kind) {
  if (kind == "Service") return {"NAMESPACE", "NAME", "PORT", "SUBSETS", "ENDPOINTS", "VERSION"};
  if (kind == "HTTPRoute") return {"NAMESPACE", "NAME", "PARENTS", "BACKENDS", "VERSION"};
  if (kind == "DestinationPolicy") return {"NAMESPACE", "NAME", "TARGET", "LB", "VERSION"};
  if (kind == "AuthorizationPolicy") return {"NAMESPACE", "NAME", "TARGET", "RULES", "VERSION"};
  return {"KIND", "NAMESPACE", "NAME", "VERSION"};
}

std::vector<std::string> tableRow(std::string_view kind, const json& object) {
  const json& meta = object.value("metadata", json::object());
  const json& spec = object.value("spec", json::object());
  const std::string ns = str(meta, "namespace");
  const std::string name = str(meta, "name");
  const std::string version = str(meta, "resourceVersion");
  if (kind == "Service") {
    std::vector<std::string> subsets;
    for (const json& s : spec.value("subsets", json::array())) subsets.push_back(str(s, "name"));
    return {ns,
            name,
            str(spec, "port"),
            subsets.empty() ? "-" : weft::join(subsets, ","),
            std::to_string(spec.value("endpoints", json::array()).size()),
            version};
  }
  if (kind == "HTTPRoute") {
    std::vector<std::string> parents;
    for (const json& p : spec.value("parentRefs", json::array())) parents.push_back(str(p, "name"));
    return {ns, name, weft::join(parents, ","), backends(spec), version};
  }
  if (kind == "DestinationPolicy") {
    const std::string lb = str(spec, "loadBalancer");
    return {ns, name, str(spec.value("targetRef", json::object()), "name"),
            lb.empty() ? "LeastRequest" : lb, version};
  }
  if (kind == "AuthorizationPolicy") {
    return {ns, name, str(spec.value("targetRef", json::object()), "name"),
            std::to_string(spec.value("rules", json::array()).size()), version};
  }
  return {str(object, "kind"), ns, name, version};
}

}  // namespace weft::control::cli
