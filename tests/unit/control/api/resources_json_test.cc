// MeshConfig::toJson (control/api/resources_json.cc): the shape the admin /config shows, checked
// against literal JSON, and that decoding it again (JSON is YAML) gives the same config.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/unit/control/api/mesh_examples.h"

namespace weft::api {
namespace {

using nlohmann::json;
using testing::decodeOk;
using testing::kIssueExample;
using testing::kRatings;

// Each resource of `config` dumped as one-line JSON, as YAML documents of one stream.
std::string asYaml(const MeshConfig& config) {
  std::string out;
  const json all = config.toJson();
  for (const json& resource : all["resources"]) {
    if (!out.empty()) out += "---\n";
    out += resource.dump() + "\n";
  }
  return out;
}

// decode -> toJson -> decode gives the same resources.
void expectRoundTrip(const std::string& yaml) {
  auto first = decodeOk(yaml);
  ASSERT_NE(first, nullptr);
  std::string again = asYaml(*first);
  ASSERT_FALSE(first->toJson()["resources"].empty());
  auto second = decodeMeshConfig(again, "mesh.json", 1);
  ASSERT_TRUE(second.ok()) << second.status() << "\n" << again;
  EXPECT_EQ((*second)->toJson()["resources"], first->toJson()["resources"]);
  EXPECT_EQ((*second)->services().size(), first->services().size());
  EXPECT_EQ((*second)->routes().size(), first->routes().size());
  EXPECT_EQ((*second)->policies().size(), first->policies().size());
}

TEST(ResourcesJsonTest, IssueExampleShape) {
  auto config = decodeOk(kIssueExample);
  ASSERT_NE(config, nullptr);
  json j = config->toJson();
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["source"], "mesh.yaml");
  ASSERT_EQ(j["resources"].size(), 3u);

  const json& svc = j["resources"][0];
  EXPECT_EQ(svc["kind"], "Service");
  EXPECT_EQ(svc["spec"]["subsets"], json::parse(R"([{"name":"v1","labels":{"version":"v1"}},
                            {"name":"v2","labels":{"version":"v2"}}])"));
  EXPECT_EQ(svc["spec"]["endpoints"][1]["address"], "127.0.0.1:15206");

  const json& route = j["resources"][1];
  EXPECT_EQ(route["apiVersion"], "weft.dev/v1alpha1");
  EXPECT_EQ(route["kind"], "HTTPRoute");
  EXPECT_EQ(route["metadata"], json::parse(R"({"name":"reviews","namespace":"default"})"));
  EXPECT_EQ(route["spec"], json::parse(R"({
    "parentRefs": [{"name": "reviews", "namespace": "default"}],
    "rules": [
      {"matches": [{"path": {"type": "PathPrefix", "value": "/"},
                    "headers": [{"type": "Exact", "name": "canary", "value": "true"}]}],
       "backendRefs": [{"name": "reviews", "namespace": "default", "subset": "v2", "weight": 1}]},
      {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
       "backendRefs": [{"name": "reviews", "namespace": "default", "subset": "v1", "weight": 90},
                       {"name": "reviews", "namespace": "default", "subset": "v2", "weight": 10}],
       "timeouts": {"request": "5s"},
       "retry": {"attempts": 2, "perTryTimeout": "1s",
                 "on": ["connect-failure", "refused-stream", "503"]}}]})"));

  const json& policy = j["resources"][2];
  EXPECT_EQ(policy["kind"], "DestinationPolicy");
  EXPECT_EQ(policy["spec"], json::parse(R"({
    "targetRef": {"name": "reviews", "namespace": "default"},
    "loadBalancer": "least_request",
    "connectionPool": {"maxConnections": 100, "maxPendingRequests": 50, "maxRequests": 1024,
                       "maxRetries": 3, "connectTimeout": "2s"},
    "outlierDetection": {"consecutive5xx": 5, "consecutiveGatewayErrors": 5, "interval": "10s",
                         "baseEjectionTime": "30s", "maxEjectionPercent": 50},
    "retryBudget": {"percent": 20.0, "minRetriesPerSecond": 10}})"));
}

TEST(ResourcesJsonTest, IssueExampleRoundTrips) { expectRoundTrip(kIssueExample); }

TEST(ResourcesJsonTest, EveryFieldRoundTrips) {
  std::string yaml = std::string(kIssueExample) + "---\n" + kRatings + R"(---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: everything, namespace: prod}
spec:
  parentRefs: [{name: reviews, namespace: default}, {name: ratings, namespace: default}]
  rules:
    - matches:
        - path: {type: Exact, value: "/a:b@c/'quoted'"}
          method: PATCH
        - path: {type: RegularExpression, value: "/api/v[0-9]+/\\d+\\.json"}
          headers:
            - {name: X-Tenant, value: "acme \"corp\" ü"}
            - {type: RegularExpression, name: user-agent, value: ".*curl.*"}
          queryParams: [{name: "q", value: "a b&c"}, {type: RegularExpression, name: p, value: "#?"}]
        - path: {value: /static/}
        - grpc: {service: helloworld.Greeter, method: SayHello}
        - grpc: {service: grpc.health.v1.Health}
          headers: [{name: x-debug, value: "1"}]
        - grpc: {method: Watch}
      backendRefs:
        - {name: reviews, namespace: default, subset: v1, weight: 0}
        - {name: ratings, namespace: default, weight: 1000000}
      timeouts: {request: 99999h59m59s999ms, backendRequest: 1m1ms}
      retry: {attempts: 10, on: [gateway-error, "502", 5xx, "599", reset]}
    - backendRefs: [{name: ratings, namespace: default}]
      timeouts: {backendRequest: 250ms}
---
apiVersion: weft.dev/v1alpha1
kind: DestinationPolicy
metadata: {name: ratings}
spec:
  targetRef: {name: ratings}
  loadBalancer: ewma
  retryBudget: {percent: 0.1}
)";
  expectRoundTrip(yaml);
  // And against literal JSON, field by field: a field toJson dropped would survive the round
  // trip above unseen.
  auto config = decodeOk(yaml);
  ASSERT_NE(config, nullptr);
  const json resources = config->toJson()["resources"];
  auto find = [&](std::string_view kind, std::string_view name) {
    for (const json& r : resources) {
      if (r["kind"] == kind && r["metadata"]["name"] == name) return r;
    }
    return json();
  };
  EXPECT_EQ(find("HTTPRoute", "everything"), json::parse(R"({
    "apiVersion": "weft.dev/v1alpha1", "kind": "HTTPRoute",
    "metadata": {"name": "everything", "namespace": "prod"},
    "spec": {
      "parentRefs": [{"name": "reviews", "namespace": "default"},
                     {"name": "ratings", "namespace": "default"}],
      "rules": [
        {"matches": [
           {"method": "PATCH", "path": {"type": "Exact", "value": "/a:b@c/'quoted'"}},
           {"path": {"type": "RegularExpression", "value": "/api/v[0-9]+/\\d+\\.json"},
            "headers": [{"name": "x-tenant", "type": "Exact", "value": "acme \"corp\" ü"},
                        {"name": "user-agent", "type": "RegularExpression", "value": ".*curl.*"}],
            "queryParams": [{"name": "q", "type": "Exact", "value": "a b&c"},
                            {"name": "p", "type": "RegularExpression", "value": "#?"}]},
           {"path": {"type": "PathPrefix", "value": "/static"}},
           {"grpc": {"method": "SayHello", "service": "helloworld.Greeter"}},
           {"grpc": {"service": "grpc.health.v1.Health"},
            "headers": [{"name": "x-debug", "type": "Exact", "value": "1"}]},
           {"grpc": {"method": "Watch"}}],
         "backendRefs": [{"name": "reviews", "namespace": "default", "subset": "v1", "weight": 0},
                         {"name": "ratings", "namespace": "default", "weight": 1000000}],
         "timeouts": {"request": "99999h59m59s999ms", "backendRequest": "1m1ms"},
         "retry": {"attempts": 10, "on": ["gateway-error", "502", "599", "5xx", "reset"]}},
        {"matches": [],
         "backendRefs": [{"name": "ratings", "namespace": "default", "weight": 1}],
         "timeouts": {"backendRequest": "250ms"}}]}})"));
  EXPECT_EQ(find("DestinationPolicy", "ratings"), json::parse(R"({
    "apiVersion": "weft.dev/v1alpha1", "kind": "DestinationPolicy",
    "metadata": {"name": "ratings", "namespace": "default"},
    "spec": {
      "targetRef": {"name": "ratings", "namespace": "default"},
      "loadBalancer": "ewma",
      "connectionPool": {"maxConnections": 1024, "maxPendingRequests": 1024,
                         "maxRequests": 1024, "maxRetries": 3},
      "outlierDetection": {"consecutive5xx": 5, "consecutiveGatewayErrors": 5, "interval": "10s",
                           "baseEjectionTime": "30s", "maxEjectionPercent": 10},
      "retryBudget": {"percent": 0.1, "minRetriesPerSecond": 10}}})"));
}

// A Service without subsets or endpoints still lists them (empty), and defaults are written.
TEST(ResourcesJsonTest, DefaultsAreWrittenOut) {
  std::string yaml = std::string(kRatings) + R"(---
apiVersion: weft.dev/v1alpha1
kind: DestinationPolicy
metadata: {name: ratings}
spec: {targetRef: {name: ratings}}
)";
  auto config = decodeOk(yaml);
  ASSERT_NE(config, nullptr);
  json j = config->toJson();
  EXPECT_EQ(j["resources"][0]["spec"], json::parse(R"({"port":9080,"subsets":[],"endpoints":[]})"));
  const json& spec = j["resources"][1]["spec"];
  EXPECT_EQ(spec["loadBalancer"], "least_request");
  EXPECT_EQ(spec["connectionPool"],
            json::parse(R"({"maxConnections":1024,"maxPendingRequests":1024,"maxRequests":1024,
                            "maxRetries":3})"));
  EXPECT_EQ(spec["outlierDetection"]["interval"], "10s");
  EXPECT_EQ(spec["outlierDetection"]["maxEjectionPercent"], 10);
  EXPECT_EQ(spec["retryBudget"]["percent"], 20.0);
  expectRoundTrip(yaml);
}

}  // namespace
}  // namespace weft::api
