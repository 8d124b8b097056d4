// MeshConfig::toJson: every resource in the shape its YAML takes (same field names, defaults
// written out), so the admin /config shows what the proxy runs on and the output decodes back
// to the same config.

#include <nlohmann/json.hpp>

#include "control/api/duration.h"
#include "control/api/resources.h"

namespace weft::api {
namespace {

using nlohmann::json;

std::string_view name(PathMatchType t) {
  switch (t) {
    case PathMatchType::kExact:
      return "Exact";
    case PathMatchType::kPathPrefix:
      return "PathPrefix";
    case PathMatchType::kRegularExpression:
      return "RegularExpression";
  }
  return "";
}

std::string_view name(StringMatchType t) {
  return t == StringMatchType::kExact ? "Exact" : "RegularExpression";
}

std::string_view name(LoadBalancerKind k) {
  switch (k) {
    case LoadBalancerKind::kLeastRequest:
      return "least_request";
    case LoadBalancerKind::kRoundRobin:
      return "round_robin";
    case LoadBalancerKind::kEwma:
      return "ewma";
  }
  return "";
}

std::string_view name(RetryOn on) {
  switch (on) {
    case RetryOn::kConnectFailure:
      return "connect-failure";
    case RetryOn::kRefusedStream:
      return "refused-stream";
    case RetryOn::kReset:
      return "reset";
    case RetryOn::k5xx:
      return "5xx";
    case RetryOn::kGatewayError:
      return "gateway-error";
    case RetryOn::kStatus:
      break;
  }
  return "";
}

json resource(std::string_view kind, const std::string& name, const std::string& ns, json spec) {
  return {{"apiVersion", kApiVersion},
          {"kind", kind},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", std::move(spec)}};
}

json serviceJson(const Service& s) {
  json subsets = json::array();
  for (const Subset& subset : s.subsets) {
    subsets.push_back({{"name", subset.name}, {"labels", subset.labels}});
  }
  json endpoints = json::array();
  for (const Endpoint& e : s.endpoints) {
    endpoints.push_back({{"address", e.address}, {"identity", e.identity}, {"labels", e.labels}});
  }
  json spec = {{"port", s.port}, {"subsets", subsets}, {"endpoints", endpoints}};
  if (!s.addresses.empty()) spec["addresses"] = s.addresses;
  return resource("Service", s.name, s.ns, std::move(spec));
}

template <typename T>
json nameValues(const std::vector<T>& matches) {
  json out = json::array();
  for (const T& m : matches) {
    out.push_back({{"type", name(m.type)}, {"name", m.name}, {"value", m.value}});
  }
  return out;
}

json matchJson(const RouteMatch& m) {
  json out = json::object();
  if (m.grpc) {
    json grpc = json::object();
    if (!m.grpc->service.empty()) grpc["service"] = m.grpc->service;
    if (!m.grpc->method.empty()) grpc["method"] = m.grpc->method;
    out["grpc"] = std::move(grpc);
  } else {
    out["path"] = {{"type", name(m.path.type)}, {"value", m.path.value}};
  }
  if (!m.headers.empty()) out["headers"] = nameValues(m.headers);
  if (!m.query_params.empty()) out["queryParams"] = nameValues(m.query_params);
  if (!m.method.empty()) out["method"] = m.method;
  return out;
}

json retryJson(const RetryPolicy& r) {
  json on = json::array();
  for (RetryOn condition : r.on) {
    if (condition != RetryOn::kStatus) {
      on.push_back(name(condition));
      continue;
    }
    for (unsigned status : r.statuses) on.push_back(std::to_string(status));
  }
  json out = {{"attempts", r.attempts}};
  if (r.per_try_timeout) out["perTryTimeout"] = formatDuration(*r.per_try_timeout);
  out["on"] = std::move(on);
  return out;
}

json ruleJson(const RouteRule& rule) {
  json matches = json::array();
  for (const RouteMatch& m : rule.matches) matches.push_back(matchJson(m));
  json backends = json::array();
  for (const BackendRef& b : rule.backend_refs) {
    json backend = {{"name", b.name}, {"namespace", b.ns}};
    if (!b.subset.empty()) backend["subset"] = b.subset;
    backend["weight"] = b.weight;
    backends.push_back(std::move(backend));
  }
  json out = {{"matches", std::move(matches)}, {"backendRefs", std::move(backends)}};
  json timeouts = json::object();
  if (rule.timeouts.request) timeouts["request"] = formatDuration(*rule.timeouts.request);
  if (rule.timeouts.backend_request) {
    timeouts["backendRequest"] = formatDuration(*rule.timeouts.backend_request);
  }
  if (!timeouts.empty()) out["timeouts"] = std::move(timeouts);
  if (rule.retry) out["retry"] = retryJson(*rule.retry);
  return out;
}

json routeJson(const HTTPRoute& route) {
  json parents = json::array();
  for (const ParentRef& p : route.parent_refs) {
    parents.push_back({{"name", p.name}, {"namespace", p.ns}});
  }
  json rules = json::array();
  for (const RouteRule& rule : route.rules) rules.push_back(ruleJson(rule));
  return resource("HTTPRoute", route.name, route.ns,
                  {{"parentRefs", std::move(parents)}, {"rules", std::move(rules)}});
}

json policyJson(const DestinationPolicy& p) {
  const ConnectionPoolSettings& pool = p.connection_pool;
  json pool_json = {{"maxConnections", pool.max_connections},
                    {"maxPendingRequests", pool.max_pending_requests},
                    {"maxRequests", pool.max_requests},
                    {"maxRetries", pool.max_retries}};
  if (pool.connect_timeout) pool_json["connectTimeout"] = formatDuration(*pool.connect_timeout);
  const OutlierDetectionSettings& od = p.outlier_detection;
  json outlier = {{"consecutive5xx", od.consecutive_5xx},
                  {"consecutiveGatewayErrors", od.consecutive_gateway_errors},
                  {"interval", formatDuration(od.interval)},
                  {"baseEjectionTime", formatDuration(od.base_ejection_time)},
                  {"maxEjectionPercent", od.max_ejection_percent}};
  json budget = {{"percent", p.retry_budget.percent},
                 {"minRetriesPerSecond", p.retry_budget.min_retries_per_second}};
  return resource("DestinationPolicy", p.name, p.ns,
                  {{"targetRef", {{"name", p.target_ref.name}, {"namespace", p.target_ref.ns}}},
                   {"loadBalancer", name(p.load_balancer)},
                   {"connectionPool", std::move(pool_json)},
                   {"outlierDetection", std::move(outlier)},
                   {"retryBudget", std::move(budget)}});
}

json authorizationJson(const AuthorizationPolicy& p) {
  json rules = json::array();
  for (const AuthorizationRule& r : p.rules) {
    json from = json::array();
    for (const AuthorizationSource& s : r.from) from.push_back({{"identities", s.identities}});
    json to = json::array();
    for (const AuthorizationOperation& o : r.to) {
      json op = json::object();
      if (!o.methods.empty()) op["methods"] = o.methods;
      if (!o.paths.empty()) op["paths"] = o.paths;
      to.push_back(std::move(op));
    }
    json rule = json::object();
    if (!from.empty()) rule["from"] = std::move(from);
    if (!to.empty()) rule["to"] = std::move(to);
    rules.push_back(std::move(rule));
  }
  return resource(
      "AuthorizationPolicy", p.name, p.ns,
      {{"targetRef",
        {{"kind", "Service"}, {"name", p.target_ref.name}, {"namespace", p.target_ref.ns}}},
       {"rules", std::move(rules)}});
}

}  // namespace

nlohmann::json MeshConfig::toJson() const {
  json resources = json::array();
  for (size_t i = 0; i < resourceCount(); ++i) resources.push_back(resourceJson(i));
  return {{"version", version_}, {"source", source_}, {"resources", std::move(resources)}};
}

size_t MeshConfig::resourceCount() const {
  return resources_.services.size() + resources_.routes.size() + resources_.policies.size() +
         resources_.authorization.size();
}

nlohmann::json MeshConfig::resourceJson(size_t index) const {
  if (index < resources_.services.size()) return serviceJson(resources_.services[index]);
  index -= resources_.services.size();
  if (index < resources_.routes.size()) return routeJson(resources_.routes[index]);
  index -= resources_.routes.size();
  if (index < resources_.policies.size()) return policyJson(resources_.policies[index]);
  index -= resources_.policies.size();
  return authorizationJson(resources_.authorization.at(index));
}

}  // namespace weft::api
