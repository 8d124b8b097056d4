// kind: DestinationPolicy (control/api/decode_policy.cc): the issue #3 example, Envoy's
// defaults for absent fields, and one located error per validation rule.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/control/api/mesh_examples.h"

namespace weft::api {
namespace {

using testing::decodeOk;
using testing::errorOf;
using testing::kIssueExample;
using testing::kRatings;
using testing::withLines;

TEST(DecodePolicyTest, IssueExampleEveryField) {
  auto config = decodeOk(kIssueExample);
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->policies().size(), 1u);
  const DestinationPolicy& p = config->policies()[0];
  EXPECT_EQ(p.name, "reviews");
  EXPECT_EQ(p.ns, "default");
  EXPECT_EQ(p.target_ref.name, "reviews");
  EXPECT_EQ(p.target_ref.ns, "default");
  EXPECT_EQ(p.load_balancer, LoadBalancerKind::kLeastRequest);
  EXPECT_EQ(p.connection_pool.max_connections, 100u);
  EXPECT_EQ(p.connection_pool.max_pending_requests, 50u);
  EXPECT_EQ(p.connection_pool.max_requests, 1024u);
  EXPECT_EQ(p.connection_pool.max_retries, 3u);
  EXPECT_EQ(p.connection_pool.connect_timeout, Duration(2000));
  EXPECT_EQ(p.outlier_detection.consecutive_5xx, 5u);
  EXPECT_EQ(p.outlier_detection.consecutive_gateway_errors, 5u);
  EXPECT_EQ(p.outlier_detection.interval, Duration(10'000));
  EXPECT_EQ(p.outlier_detection.base_ejection_time, Duration(30'000));
  EXPECT_EQ(p.outlier_detection.max_ejection_percent, 50u);
  EXPECT_EQ(p.retry_budget.percent, 20.0);
  EXPECT_EQ(p.retry_budget.min_retries_per_second, 10u);

  const Service* reviews = config->findService("reviews", "default");
  ASSERT_NE(reviews, nullptr);
  EXPECT_EQ(&config->policyFor(*reviews), &p);
}

// Only targetRef given: every setting is Envoy's default (Linkerd's for the retry budget).
TEST(DecodePolicyTest, AbsentFieldsKeepDefaults) {
  auto config = decodeOk(withLines(kIssueExample, {{33, ""}, {34, ""}, {35, ""}, {36, ""}}));
  ASSERT_NE(config, nullptr);
  const DestinationPolicy& p = config->policies()[0];
  EXPECT_EQ(p.load_balancer, LoadBalancerKind::kLeastRequest);
  EXPECT_EQ(p.connection_pool.max_connections, 1024u);
  EXPECT_EQ(p.connection_pool.max_pending_requests, 1024u);
  EXPECT_EQ(p.connection_pool.max_requests, 1024u);
  EXPECT_EQ(p.connection_pool.max_retries, 3u);
  EXPECT_FALSE(p.connection_pool.connect_timeout);
  EXPECT_EQ(p.outlier_detection.consecutive_5xx, 5u);
  EXPECT_EQ(p.outlier_detection.consecutive_gateway_errors, 5u);
  EXPECT_EQ(p.outlier_detection.interval, Duration(10'000));
  EXPECT_EQ(p.outlier_detection.base_ejection_time, Duration(30'000));
  EXPECT_EQ(p.outlier_detection.max_ejection_percent, 10u);
  EXPECT_EQ(p.retry_budget.percent, 20.0);
  EXPECT_EQ(p.retry_budget.min_retries_per_second, 10u);

  // Partly given sections keep the defaults of the fields left out.
  auto partial = decodeOk(withLines(kIssueExample, {{33, "  loadBalancer: ewma"},
                                                    {34, "  connectionPool: {maxRetries: 0}"},
                                                    {35, "  outlierDetection: {interval: 1m}"},
                                                    {36, "  retryBudget: {percent: 2.5}"}}));
  ASSERT_NE(partial, nullptr);
  const DestinationPolicy& q = partial->policies()[0];
  EXPECT_EQ(q.load_balancer, LoadBalancerKind::kEwma);
  EXPECT_EQ(q.connection_pool.max_retries, 0u);
  EXPECT_EQ(q.connection_pool.max_connections, 1024u);
  EXPECT_EQ(q.outlier_detection.interval, Duration(60'000));
  EXPECT_EQ(q.outlier_detection.consecutive_5xx, 5u);
  EXPECT_EQ(q.outlier_detection.max_ejection_percent, 10u);
  EXPECT_EQ(q.retry_budget.percent, 2.5);
  EXPECT_EQ(q.retry_budget.min_retries_per_second, 10u);
}

TEST(DecodePolicyTest, ServiceWithoutPolicyGetsDefaults) {
  auto config = decodeOk(std::string(kIssueExample) + "---\n" + kRatings);
  ASSERT_NE(config, nullptr);
  const Service* ratings = config->findService("ratings", "default");
  ASSERT_NE(ratings, nullptr);
  const DestinationPolicy& p = config->policyFor(*ratings);
  EXPECT_EQ(p.connection_pool.max_connections, 1024u);
  EXPECT_EQ(p.outlier_detection.max_ejection_percent, 10u);
  EXPECT_TRUE(config->routesFor(*ratings).empty());
}

TEST(DecodePolicyTest, LoadBalancers) {
  auto lb = [](const char* name) {
    auto config =
        decodeOk(withLines(kIssueExample, {{33, weft::strCat("  loadBalancer: ", name)}}));
    return config ? config->policies()[0].load_balancer : LoadBalancerKind::kLeastRequest;
  };
  EXPECT_EQ(lb("round_robin"), LoadBalancerKind::kRoundRobin);
  EXPECT_EQ(lb("ewma"), LoadBalancerKind::kEwma);
  EXPECT_EQ(lb("least_request"), LoadBalancerKind::kLeastRequest);
}

struct ErrorCase {
  int line;
  std::string text;
  std::string error;
};

TEST(DecodePolicyTest, ValidationErrors) {
  const ErrorCase cases[] = {
      {32, "  targetRef: {name: ratings}",
       "mesh.yaml:32: spec.targetRef.name: unknown Service default/ratings"},
      {32, "  targetRef: {name: reviews, namespace: prod}",
       "mesh.yaml:32: spec.targetRef.name: unknown Service prod/reviews"},
      {32, "  targetRef: {name: reviews, kind: Service}",
       "mesh.yaml:32: spec.targetRef.kind: unknown field"},
      {32, "  targetRef: {}", "mesh.yaml:32: spec.targetRef.name: required field is missing"},
      {32, "  targetRef: reviews", "mesh.yaml:32: spec.targetRef: must be a mapping"},
      {33, "  loadBalancer: random",
       "mesh.yaml:33: spec.loadBalancer: must be least_request, round_robin or ewma"},
      {33, "  loadBalancer: LEAST_REQUEST",
       "mesh.yaml:33: spec.loadBalancer: must be least_request, round_robin or ewma"},
      {34, "  connectionPool: {maxConnections: 0}",
       "mesh.yaml:34: spec.connectionPool.maxConnections: must be an integer from 1 to "
       "4294967295"},
      {34, "  connectionPool: {maxPendingRequests: 0}",
       "mesh.yaml:34: spec.connectionPool.maxPendingRequests: must be an integer from 1 to "
       "4294967295"},
      {34, "  connectionPool: {maxRequests: 4294967296}",
       "mesh.yaml:34: spec.connectionPool.maxRequests: must be an integer from 1 to "
       "4294967295"},
      {34, "  connectionPool: {maxRetries: many}",
       "mesh.yaml:34: spec.connectionPool.maxRetries: must be an integer from 0 to 4294967295"},
      {34, "  connectionPool: {connectTimeout: 0s}",
       "mesh.yaml:34: spec.connectionPool.connectTimeout: must be greater than 0s"},
      {34, "  connectionPool: {maxConnection: 1}",
       "mesh.yaml:34: spec.connectionPool.maxConnection: unknown field"},
      {35, "  outlierDetection: {maxEjectionPercent: 101}",
       "mesh.yaml:35: spec.outlierDetection.maxEjectionPercent: must be an integer from 0 to "
       "100"},
      {35, "  outlierDetection: {interval: 0s}",
       "mesh.yaml:35: spec.outlierDetection.interval: must be greater than 0s"},
      {35, "  outlierDetection: {baseEjectionTime: 30}",
       "mesh.yaml:35: spec.outlierDetection.baseEjectionTime: must be a duration such as 5s, "
       "500ms, 1m or 1h30m (at most 4 parts of up to 5 digits, units h, m, s, ms; at most "
       "99999h59m59s999ms)"},
      {35, "  outlierDetection: {consecutive5XX: 3}",
       "mesh.yaml:35: spec.outlierDetection.consecutive5XX: unknown field"},
      {35, "  outlierDetection: {consecutiveGatewayErrors: -1}",
       "mesh.yaml:35: spec.outlierDetection.consecutiveGatewayErrors: must be an integer from 0 "
       "to 4294967295"},
      {36, "  retryBudget: {percent: 100.5}",
       "mesh.yaml:36: spec.retryBudget.percent: must be a number from 0 to 100"},
      {36, "  retryBudget: {percent: .nan}",
       "mesh.yaml:36: spec.retryBudget.percent: must be a number from 0 to 100"},
      {36, "  retryBudget: {percent: 20%}",
       "mesh.yaml:36: spec.retryBudget.percent: must be a number from 0 to 100"},
      {36, "  retryBudget: {minRetriesPerSecond: -1}",
       "mesh.yaml:36: spec.retryBudget.minRetriesPerSecond: must be an integer from 0 to "
       "4294967295"},
      {36, "  retryBudget: {ttl: 10s}", "mesh.yaml:36: spec.retryBudget.ttl: unknown field"},
      {36, "  subsets: [v1]", "mesh.yaml:36: spec.subsets: unknown field"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(errorOf(withLines(kIssueExample, {{c.line, c.text}})), c.error)
        << "line " << c.line << ": " << c.text;
  }
}

TEST(DecodePolicyTest, MissingTargetRef) {
  EXPECT_EQ(errorOf(withLines(kIssueExample, {{32, ""}})),
            "mesh.yaml:33: spec.targetRef: required field is missing");
}

}  // namespace
}  // namespace weft::api
