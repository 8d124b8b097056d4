#pragma once

// Mesh YAML shared by the control/api tests: the example from issue #3, and helpers to edit
// it line by line and to read the decoder's error.

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/strings.h"
#include "control/api/yaml_decoder.h"

namespace weft::api::testing {

// Lines 1-11 Service, 13-26 HTTPRoute, 28-36 DestinationPolicy.
inline constexpr char kIssueExample[] = R"(apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  port: 9080
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
  endpoints:
    - {address: 127.0.0.1:15106, identity: spiffe://cluster.local/ns/default/sa/reviews, labels: {version: v1}}
    - {address: 127.0.0.1:15206, identity: spiffe://cluster.local/ns/default/sa/reviews, labels: {version: v2}}
---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: reviews, namespace: default}
spec:
  parentRefs: [{name: reviews}]
  rules:
    - matches: [{headers: [{name: canary, value: "true"}]}]
      backendRefs: [{name: reviews, subset: v2}]
    - matches: [{path: {type: PathPrefix, value: /api}}]
      backendRefs:
        - {name: reviews, subset: v1, weight: 90}
        - {name: reviews, subset: v2, weight: 10}
      timeouts: {request: 5s}
      retry: {attempts: 2, perTryTimeout: 1s, on: [connect-failure, refused-stream, "503"]}
---
apiVersion: weft.dev/v1alpha1
kind: DestinationPolicy
metadata: {name: reviews, namespace: default}
spec:
  targetRef: {name: reviews}
  loadBalancer: least_request          # least_request (P2C), round_robin, ewma
  connectionPool: {maxConnections: 100, maxPendingRequests: 50, maxRequests: 1024, maxRetries: 3, connectTimeout: 2s}
  outlierDetection: {consecutive5xx: 5, consecutiveGatewayErrors: 5, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50}
  retryBudget: {percent: 20, minRetriesPerSecond: 10}
)";

// A Service with no subsets, for resources that refer to a second Service.
inline constexpr char kRatings[] = R"(apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: ratings}
spec: {port: 9080}
)";

// `yaml` with some lines replaced: {n, text} makes 1-based line n read `text`.
inline std::string withLines(std::string_view yaml,
                             const std::vector<std::pair<int, std::string>>& edits) {
  std::vector<std::string_view> lines = weft::split(yaml, '\n');
  std::string out;
  for (int i = 0; i < static_cast<int>(lines.size()); ++i) {
    std::string line(lines[i]);
    for (const auto& [n, text] : edits) {
      if (n == i + 1) line = text;
    }
    out += line;
    if (i + 1 < static_cast<int>(lines.size())) out += '\n';
  }
  return out;
}

// Decodes `yaml` as mesh.yaml and returns the error message ("" on success).
inline std::string errorOf(const std::string& yaml) {
  auto config = decodeMeshConfig(yaml, "mesh.yaml", 1);
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(weft::sv(config.status().message()));
}

// Decodes `yaml`, failing the test on an error.
inline MeshConfigConstSharedPtr decodeOk(const std::string& yaml) {
  auto config = decodeMeshConfig(yaml, "mesh.yaml", 1);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : nullptr;
}

}  // namespace weft::api::testing
