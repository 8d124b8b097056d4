// kind: HTTPRoute (control/api/decode_route.cc, decode_match.cc): the issue #3 example field by
// field, defaults, normalisation, and one located error per validation rule.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/control/api/mesh_examples.h"

namespace weft::api {
namespace {

using testing::decodeOk;
using testing::errorOf;
using testing::kIssueExample;
using testing::withLines;

// The example's route with its rules (lines 18-26) replaced by `rules`.
std::string withRules(const std::string& rules) {
  std::string yaml =
      withLines(kIssueExample,
                {{19, ""}, {20, ""}, {21, ""}, {22, ""}, {23, ""}, {24, ""}, {25, ""}, {26, ""}});
  return withLines(yaml, {{18, "  rules:\n" + rules}});
}

TEST(DecodeRouteTest, IssueExampleEveryField) {
  auto config = decodeOk(kIssueExample);
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->routes().size(), 1u);
  const HTTPRoute& route = config->routes()[0];
  EXPECT_EQ(route.name, "reviews");
  EXPECT_EQ(route.ns, "default");
  ASSERT_EQ(route.parent_refs.size(), 1u);
  EXPECT_EQ(route.parent_refs[0].name, "reviews");
  EXPECT_EQ(route.parent_refs[0].ns, "default");  // the route's namespace, filled in
  ASSERT_EQ(route.rules.size(), 2u);

  const RouteRule& canary = route.rules[0];
  ASSERT_EQ(canary.matches.size(), 1u);
  const RouteMatch& m0 = canary.matches[0];
  EXPECT_EQ(m0.path.type, PathMatchType::kPathPrefix);  // Gateway API's default path
  EXPECT_EQ(m0.path.value, "/");
  ASSERT_EQ(m0.headers.size(), 1u);
  EXPECT_EQ(m0.headers[0].type, StringMatchType::kExact);
  EXPECT_EQ(m0.headers[0].name, "canary");
  EXPECT_EQ(m0.headers[0].value, "true");
  EXPECT_TRUE(m0.query_params.empty());
  EXPECT_EQ(m0.method, "");
  ASSERT_EQ(canary.backend_refs.size(), 1u);
  EXPECT_EQ(canary.backend_refs[0].name, "reviews");
  EXPECT_EQ(canary.backend_refs[0].ns, "default");
  EXPECT_EQ(canary.backend_refs[0].subset, "v2");
  EXPECT_EQ(canary.backend_refs[0].weight, 1u);
  EXPECT_FALSE(canary.timeouts.request);
  EXPECT_FALSE(canary.timeouts.backend_request);
  EXPECT_FALSE(canary.retry);

  const RouteRule& split = route.rules[1];
  ASSERT_EQ(split.matches.size(), 1u);
  EXPECT_EQ(split.matches[0].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(split.matches[0].path.value, "/api");
  EXPECT_TRUE(split.matches[0].headers.empty());
  ASSERT_EQ(split.backend_refs.size(), 2u);
  EXPECT_EQ(split.backend_refs[0].subset, "v1");
  EXPECT_EQ(split.backend_refs[0].weight, 90u);
  EXPECT_EQ(split.backend_refs[1].subset, "v2");
  EXPECT_EQ(split.backend_refs[1].weight, 10u);
  EXPECT_EQ(split.timeouts.request, Duration(5000));
  EXPECT_FALSE(split.timeouts.backend_request);
  ASSERT_TRUE(split.retry);
  EXPECT_EQ(split.retry->attempts, 2u);
  EXPECT_EQ(split.retry->per_try_timeout, Duration(1000));
  EXPECT_EQ(split.retry->on, (std::vector<RetryOn>{RetryOn::kConnectFailure,
                                                   RetryOn::kRefusedStream, RetryOn::kStatus}));
  EXPECT_EQ(split.retry->statuses, (std::vector<unsigned>{503}));

  const Service* reviews = config->findService("reviews", "default");
  ASSERT_NE(reviews, nullptr);
  ASSERT_EQ(config->routesFor(*reviews).size(), 1u);
  EXPECT_EQ(config->routesFor(*reviews)[0], &route);
}

TEST(DecodeRouteTest, FullMatchShape) {
  auto config = decodeOk(withRules(R"(    - matches:
        - path: {type: Exact, value: /healthz}
          method: GET
        - path: {type: RegularExpression, value: "/api/v[0-9]+/.*"}
          headers:
            - {name: X-Tenant, value: acme}
            - {type: RegularExpression, name: user-agent, value: ".*curl.*"}
          queryParams:
            - {name: Debug, value: "1"}
            - {type: RegularExpression, name: page, value: "[0-9]+"}
        - path: {value: /static/}
        - path: {type: PathPrefix}
        - {}
      backendRefs: [{name: reviews, namespace: default, weight: 0}, {name: reviews, subset: v1}]
      timeouts: {request: 1h30m, backendRequest: 500ms}
      retry: {attempts: 10, on: ["502", reset, 5xx, gateway-error, "504"]})"));
  ASSERT_NE(config, nullptr);
  const RouteRule& rule = config->routes()[0].rules[0];
  ASSERT_EQ(rule.matches.size(), 5u);
  EXPECT_EQ(rule.matches[0].path.type, PathMatchType::kExact);
  EXPECT_EQ(rule.matches[0].path.value, "/healthz");
  EXPECT_EQ(rule.matches[0].method, "GET");
  const RouteMatch& re = rule.matches[1];
  EXPECT_EQ(re.path.type, PathMatchType::kRegularExpression);
  EXPECT_EQ(re.path.value, "/api/v[0-9]+/.*");
  ASSERT_EQ(re.headers.size(), 2u);
  EXPECT_EQ(re.headers[0].name, "x-tenant");  // lower-cased
  EXPECT_EQ(re.headers[0].value, "acme");     // values keep their case
  EXPECT_EQ(re.headers[1].type, StringMatchType::kRegularExpression);
  ASSERT_EQ(re.query_params.size(), 2u);
  EXPECT_EQ(re.query_params[0].name, "Debug");  // query names are case-sensitive
  EXPECT_EQ(re.query_params[0].type, StringMatchType::kExact);
  EXPECT_EQ(re.query_params[1].type, StringMatchType::kRegularExpression);
  // A prefix's trailing '/' is dropped; type defaults to PathPrefix and value to "/".
  EXPECT_EQ(rule.matches[2].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(rule.matches[2].path.value, "/static");
  EXPECT_EQ(rule.matches[3].path.value, "/");
  EXPECT_EQ(rule.matches[4].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(rule.matches[4].path.value, "/");
  ASSERT_EQ(rule.backend_refs.size(), 2u);
  EXPECT_EQ(rule.backend_refs[0].weight, 0u);
  EXPECT_EQ(rule.backend_refs[0].subset, "");
  EXPECT_EQ(rule.backend_refs[1].weight, 1u);
  EXPECT_EQ(rule.timeouts.request, Duration(90 * 60 * 1000));
  EXPECT_EQ(rule.timeouts.backend_request, Duration(500));
  ASSERT_TRUE(rule.retry);
  EXPECT_EQ(rule.retry->attempts, 10u);
  EXPECT_FALSE(rule.retry->per_try_timeout);
  // Statuses form one kStatus entry, at the place of the first.
  EXPECT_EQ(rule.retry->on, (std::vector<RetryOn>{RetryOn::kStatus, RetryOn::kReset, RetryOn::k5xx,
                                                  RetryOn::kGatewayError}));
  EXPECT_EQ(rule.retry->statuses, (std::vector<unsigned>{502, 504}));
}

TEST(DecodeRouteTest, MinimalRuleDefaults) {
  auto config = decodeOk(withRules("    - backendRefs: [{name: reviews}]"));
  ASSERT_NE(config, nullptr);
  const RouteRule& rule = config->routes()[0].rules[0];
  EXPECT_TRUE(rule.matches.empty());  // matches everything
  ASSERT_EQ(rule.backend_refs.size(), 1u);
  EXPECT_EQ(rule.backend_refs[0].weight, 1u);
  EXPECT_EQ(rule.backend_refs[0].subset, "");
  EXPECT_FALSE(rule.timeouts.request);
  EXPECT_FALSE(rule.retry);
}

// issue #4: gRPC service/method matches stand for the path a gRPC call uses.
TEST(DecodeRouteTest, GrpcMatchesBecomePathConditions) {
  auto config = decodeOk(
      withRules("    - matches: [{grpc: {service: helloworld.Greeter, method: SayHello}},\n"
                "                {grpc: {service: helloworld.Greeter}}, {grpc: {method: Check}}]\n"
                "      backendRefs: [{name: reviews}]"));
  ASSERT_NE(config, nullptr);
  const auto& m = config->routes()[0].rules[0].matches;
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].path.type, PathMatchType::kExact);
  EXPECT_EQ(m[0].path.value, "/helloworld.Greeter/SayHello");
  ASSERT_TRUE(m[0].grpc);
  EXPECT_EQ(m[0].grpc->service, "helloworld.Greeter");
  EXPECT_EQ(m[1].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(m[1].path.value, "/helloworld.Greeter");
  EXPECT_EQ(m[2].path.type, PathMatchType::kRegularExpression);
  EXPECT_EQ(m[2].path.value, "/[^/]+/Check");
}

TEST(DecodeRouteTest, GrpcMatchErrors) {
  EXPECT_EQ(errorOf(withRules("    - matches: [{grpc: {}}]\n      backendRefs: [{name: reviews}]")),
            "mesh.yaml:19: spec.rules[0].matches[0].grpc: needs a service, a method, or both");
  EXPECT_EQ(
      errorOf(withRules("    - matches: [{grpc: {service: \"hello world\"}}]\n"
                        "      backendRefs: [{name: reviews}]")),
      "mesh.yaml:19: spec.rules[0].matches[0].grpc.service: must be a fully qualified protobuf "
      "service name (e.g. helloworld.Greeter)");
  EXPECT_EQ(errorOf(withRules("    - matches: [{grpc: {method: Say/Hello}}]\n"
                              "      backendRefs: [{name: reviews}]")),
            "mesh.yaml:19: spec.rules[0].matches[0].grpc.method: must be a protobuf method name "
            "([A-Za-z0-9_]+, e.g. SayHello)");
  EXPECT_EQ(errorOf(withRules("    - matches: [{grpc: {method: A}, path: {value: /x}}]\n"
                              "      backendRefs: [{name: reviews}]")),
            "mesh.yaml:19: spec.rules[0].matches[0].grpc: cannot be combined with path");
}

// Gateway API: a zero timeout disables it; it reads as absent.
TEST(DecodeRouteTest, ZeroTimeoutsDisable) {
  auto config = decodeOk(withRules(R"(    - backendRefs: [{name: reviews}]
      timeouts: {request: 0s, backendRequest: 0ms}
      retry: {attempts: 0, perTryTimeout: 0s, on: [reset]})"));
  ASSERT_NE(config, nullptr);
  const RouteRule& rule = config->routes()[0].rules[0];
  EXPECT_FALSE(rule.timeouts.request);
  EXPECT_FALSE(rule.timeouts.backend_request);
  ASSERT_TRUE(rule.retry);
  EXPECT_EQ(rule.retry->attempts, 0u);
  EXPECT_FALSE(rule.retry->per_try_timeout);
}

TEST(DecodeRouteTest, RouteDeclaredBeforeItsService) {
  std::string yaml = kIssueExample;
  size_t route_start = yaml.find("apiVersion", yaml.find("---"));
  size_t route_end = yaml.find("---", route_start);
  std::string reordered = yaml.substr(route_start, route_end - route_start) + "---\n" +
                          yaml.substr(0, route_start) + yaml.substr(route_end + 4);
  EXPECT_EQ(errorOf(reordered), "");
}

struct ErrorCase {
  int line;
  std::string text;
  std::string error;
};

// Each case edits one line of the issue example; the error names file, line, field and reason.
TEST(DecodeRouteTest, ValidationErrors) {
  const std::string h = "    - matches: [{headers: [";
  const std::string p = "    - matches: [{path: ";
  const std::string r = "      retry: {attempts: 2, ";
  const ErrorCase cases[] = {
      {15, "metadata: {name: Reviews}",
       "mesh.yaml:15: metadata.name: must be a DNS label ([a-z0-9-], at most 63)"},
      {16, "spex:", "mesh.yaml:16: (document).spex: unknown field"},
      {17, "  parentRefs: []", "mesh.yaml:17: spec.parentRefs: must not be empty"},
      {17, "  hostnames: [reviews]", "mesh.yaml:17: spec.hostnames: unknown field"},
      {17, "  parentRefs: [{name: reviews, kind: Service}]",
       "mesh.yaml:17: spec.parentRefs[0].kind: unknown field"},
      {17, "  parentRefs: [{name: reviews, port: 9080}]",
       "mesh.yaml:17: spec.parentRefs[0].port: unknown field"},
      {17, "  parentRefs: [{name: reviews}, {name: reviews, namespace: default}]",
       "mesh.yaml:17: spec.parentRefs[1]: duplicate parentRef default/reviews"},
      {17, "  parentRefs: {name: reviews}", "mesh.yaml:17: spec.parentRefs: must be a list"},
      {19, "    - matches: [{headers: [{name: canary, value: x}], pathh: /}]",
       "mesh.yaml:19: spec.rules[0].matches[0].pathh: unknown field"},
      {19, h + "{name: \"bad header\", value: x}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].headers[0].name: must be an HTTP header name "
       "(RFC 9110 token)"},
      {19, h + "{name: Canary, value: a}, {name: canary, value: b}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].headers[1].name: duplicate header 'canary'"},
      {19, h + "{type: Regex, name: canary, value: x}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].headers[0].type: must be Exact or "
       "RegularExpression"},
      {19, h + "{type: RegularExpression, name: canary, value: \"(x\"}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].headers[0].value: invalid RE2 regular "
       "expression: missing ): (x"},
      {19, h + "{name: canary}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].headers[0].value: required field is missing"},
      {19, h + "{name: canary, value: \"\"}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].headers[0].value: must not be empty"},
      {19, h + "{name: canary, value: \"a\\nb\"}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].headers[0].value: must not contain CR, LF or "
       "NUL"},
      {19, "    - matches: [{method: get}]",
       "mesh.yaml:19: spec.rules[0].matches[0].method: must be one of GET, HEAD, POST, PUT, "
       "DELETE, CONNECT, OPTIONS, TRACE, PATCH"},
      {19, "    - matches: [{queryParams: [{name: \"\", value: x}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].queryParams[0].name: must not be empty"},
      {19, "    - matches: [{queryParams: [{name: a, value: x}, {name: a, value: y}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].queryParams[1].name: duplicate query parameter "
       "'a'"},
      {19, "    - matches: [{queryParams: [{type: RegularExpression, name: a, value: \"[\"}]}]",
       "mesh.yaml:19: spec.rules[0].matches[0].queryParams[0].value: invalid RE2 regular "
       "expression: missing ]: ["},
      {21, p + "{type: PathPrefix, value: api}}]",
       "mesh.yaml:21: spec.rules[1].matches[0].path.value: must start with '/'"},
      {21, p + "{type: Exact, value: /a//b}}]",
       "mesh.yaml:21: spec.rules[1].matches[0].path.value: must not contain '//'"},
      {21, p + "{type: Exact, value: /a/../b}}]",
       "mesh.yaml:21: spec.rules[1].matches[0].path.value: must not contain '.' or '..' "
       "segments"},
      {21, p + "{value: /a/.}}]",
       "mesh.yaml:21: spec.rules[1].matches[0].path.value: must not contain '.' or '..' "
       "segments"},
      {21, p + "{value: \"/a?b=1\"}}]",
       "mesh.yaml:21: spec.rules[1].matches[0].path.value: must contain only URI path "
       "characters (found '?')"},
      {21, p + "{value: /a%2fb}}]",
       "mesh.yaml:21: spec.rules[1].matches[0].path.value: must not contain an encoded '/' "
       "(%2F)"},
      {21, p + "{value: /a%zz}}]",
       "mesh.yaml:21: spec.rules[1].matches[0].path.value: has a '%' that is not followed by "
       "two hex digits"},
      {21, p + "{type: Prefix, value: /api}}]",
       "mesh.yaml:21: spec.rules[1].matches[0].path.type: must be Exact, PathPrefix or "
       "RegularExpression"},
      {21, p + "{type: RegularExpression, value: \"/api/(v1\"}}]",
       "mesh.yaml:21: spec.rules[1].matches[0].path.value: invalid RE2 regular expression: "
       "missing ): /api/(v1"},
      {21, p + "/api}]", "mesh.yaml:21: spec.rules[1].matches[0].path: must be a mapping"},
      {20, "      backendRefs: []", "mesh.yaml:20: spec.rules[0].backendRefs: must not be empty"},
      {20, "      backendRef: [{name: reviews}]",
       "mesh.yaml:20: spec.rules[0].backendRef: unknown field"},
      {20, "      backendRefs: [{name: reviews, weight: 0}]",
       "mesh.yaml:20: spec.rules[0].backendRefs: weights add up to 0: at least one backendRef "
       "needs a weight above 0"},
      {20, "      backendRefs: [{name: reviews, weight: 1000001}]",
       "mesh.yaml:20: spec.rules[0].backendRefs[0].weight: must be an integer from 0 to "
       "1000000"},
      {20, "      backendRefs: [{name: reviews, port: 9080}]",
       "mesh.yaml:20: spec.rules[0].backendRefs[0].port: unknown field"},
      {20, "      backendRefs: [{name: reviews, subset: \"\"}]",
       "mesh.yaml:20: spec.rules[0].backendRefs[0].subset: must not be empty"},
      {23, "        - {name: reviews, subset: v1, weight: -1}",
       "mesh.yaml:23: spec.rules[1].backendRefs[0].weight: must be an integer from 0 to "
       "1000000"},
      {25, "      timeouts: {request: 5}",
       "mesh.yaml:25: spec.rules[1].timeouts.request: must be a duration such as 5s, 500ms, 1m "
       "or 1h30m (at most 4 parts of up to 5 digits, units h, m, s, ms; at most "
       "99999h59m59s999ms)"},
      {25, "      timeouts: {request: 1s, backendRequest: 2s}",
       "mesh.yaml:25: spec.rules[1].timeouts.backendRequest: must not be longer than request "
       "(1s)"},
      {25, "      timeouts: {idle: 1s}",
       "mesh.yaml:25: spec.rules[1].timeouts.idle: unknown field"},
      {26, "      retry: {attempts: 11, on: [reset]}",
       "mesh.yaml:26: spec.rules[1].retry.attempts: must be an integer from 0 to 10"},
      {26, "      retry: {on: [reset]}",
       "mesh.yaml:26: spec.rules[1].retry.attempts: required field is missing"},
      {26, "      retry: {attempts: 2}",
       "mesh.yaml:26: spec.rules[1].retry.on: required field is missing"},
      {26, r + "on: []}", "mesh.yaml:26: spec.rules[1].retry.on: must not be empty"},
      {26, r + "on: [timeout]}",
       "mesh.yaml:26: spec.rules[1].retry.on[0]: must be connect-failure, refused-stream, "
       "reset, 5xx, gateway-error or an HTTP status 100-599 such as \"503\""},
      {26, r + "on: [reset, \"600\"]}",
       "mesh.yaml:26: spec.rules[1].retry.on[1]: must be connect-failure, refused-stream, "
       "reset, 5xx, gateway-error or an HTTP status 100-599 such as \"503\""},
      {26, r + "on: [reset, reset]}",
       "mesh.yaml:26: spec.rules[1].retry.on[1]: duplicate condition 'reset'"},
      {26, r + "on: [\"503\", \"503\"]}",
       "mesh.yaml:26: spec.rules[1].retry.on[1]: duplicate condition '503'"},
      {26, r + "on: [[reset]]}", "mesh.yaml:26: spec.rules[1].retry.on[0]: must be a string"},
      {26, r + "perTryTimeout: 1x, on: [reset]}",
       "mesh.yaml:26: spec.rules[1].retry.perTryTimeout: must be a duration such as 5s, 500ms, "
       "1m or 1h30m (at most 4 parts of up to 5 digits, units h, m, s, ms; at most "
       "99999h59m59s999ms)"},
      {26, r + "on: [reset], backoff: 1s}",
       "mesh.yaml:26: spec.rules[1].retry.backoff: unknown field"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(errorOf(withLines(kIssueExample, {{c.line, c.text}})), c.error)
        << "line " << c.line << ": " << c.text;
  }
}

TEST(DecodeRouteTest, RulesRequired) {
  std::string no_rules = withRules("");
  EXPECT_EQ(errorOf(withLines(no_rules, {{18, "  rules: []"}})),
            "mesh.yaml:18: spec.rules: must not be empty");
  // A missing field is reported at the mapping that lacks it (spec starts on line 17).
  EXPECT_EQ(errorOf(withLines(no_rules, {{18, ""}})),
            "mesh.yaml:17: spec.rules: required field is missing");
}

}  // namespace
}  // namespace weft::api
