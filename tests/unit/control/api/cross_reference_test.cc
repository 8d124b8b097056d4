// Checks made once every document is decoded (control/api/yaml_decoder.cc): references name
// Services and subsets of the same config, names are unique per kind and namespace, one
// DestinationPolicy per Service. Errors point at the referencing line.

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
using ::testing::StartsWith;
using testing::withLines;

constexpr char kOtherRoute[] = R"(apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: reviews-canary}
spec:
  parentRefs: [{name: reviews}]
  rules:
    - backendRefs:
        - name: ratings
          subset: v9
)";

constexpr char kOtherPolicy[] = R"(apiVersion: weft.dev/v1alpha1
kind: DestinationPolicy
metadata: {name: reviews-2}
spec:
  targetRef:
    name: reviews
)";

TEST(CrossReferenceTest, SubsetsOfTheServiceDecoded) {
  auto config = decodeOk(kIssueExample);
  ASSERT_NE(config, nullptr);
  const Service& svc = config->services()[0];
  ASSERT_EQ(svc.subsets.size(), 2u);
  EXPECT_EQ(svc.subsets[0].name, "v1");
  EXPECT_EQ(svc.subsets[0].labels, (Labels{{"version", "v1"}}));
  EXPECT_EQ(svc.subsets[1].name, "v2");
  EXPECT_EQ(svc.findSubset("v2"), &svc.subsets[1]);
  EXPECT_EQ(svc.findSubset("v3"), nullptr);
}

TEST(CrossReferenceTest, SubsetErrors) {
  EXPECT_EQ(errorOf(withLines(kIssueExample, {{7, "    - {name: V1, labels: {version: v1}}"}})),
            "mesh.yaml:7: spec.subsets[0].name: must be a DNS label ([a-z0-9-], at most 63)");
  EXPECT_EQ(errorOf(withLines(kIssueExample, {{8, "    - {name: v1, labels: {version: v2}}"}})),
            "mesh.yaml:8: spec.subsets[1].name: duplicate subset 'v1'");
  EXPECT_EQ(errorOf(withLines(kIssueExample, {{7, "    - {name: v1}"}})),
            "mesh.yaml:7: spec.subsets[0].labels: must select endpoints by at least one label");
  EXPECT_EQ(
      errorOf(withLines(kIssueExample, {{7, "    - {name: v1, labels: {version: v1}, x: 1}"}})),
      "mesh.yaml:7: spec.subsets[0].x: unknown field");
}

TEST(CrossReferenceTest, UnknownServicesAndSubsets) {
  EXPECT_EQ(errorOf(withLines(kIssueExample, {{17, "  parentRefs: [{name: ratings}]"}})),
            "mesh.yaml:17: spec.parentRefs[0].name: unknown Service default/ratings");
  EXPECT_EQ(
      errorOf(withLines(kIssueExample, {{17, "  parentRefs: [{name: reviews, namespace: prod}]"}})),
      "mesh.yaml:17: spec.parentRefs[0].name: unknown Service prod/reviews");
  EXPECT_EQ(
      errorOf(withLines(kIssueExample, {{20, "      backendRefs: [{name: reviews, subset: v3}]"}})),
      "mesh.yaml:20: spec.rules[0].backendRefs[0].subset: Service default/reviews has no "
      "subset 'v3' (subsets: v1, v2)");
  EXPECT_EQ(errorOf(withLines(kIssueExample, {{24, "        - {name: ratings, weight: 10}"}})),
            "mesh.yaml:24: spec.rules[1].backendRefs[1].name: unknown Service default/ratings");
  // Block style: the error points at the line of the field itself (document starts on line 38).
  std::string yaml = std::string(kIssueExample) + "---\n" + kRatings + "---\n" + kOtherRoute;
  EXPECT_EQ(errorOf(yaml),
            "mesh.yaml:51: spec.rules[0].backendRefs[0].subset: Service default/ratings has no "
            "subset 'v9' (subsets: none)");
}

// A route may send its parent's traffic to another Service, in any namespace of the config.
TEST(CrossReferenceTest, BackendRefToAnotherService) {
  std::string route = withLines(kOtherRoute, {{9, ""}});
  auto config = decodeOk(std::string(kIssueExample) + "---\n" + kRatings + "---\n" + route);
  ASSERT_NE(config, nullptr);
  const Service* reviews = config->findService("reviews", "default");
  ASSERT_NE(reviews, nullptr);
  ASSERT_EQ(config->routesFor(*reviews).size(), 2u);  // both, in file order
  EXPECT_EQ(config->routesFor(*reviews)[1]->name, "reviews-canary");
  EXPECT_EQ(config->routesFor(*reviews)[1]->rules[0].backend_refs[0].name, "ratings");

  std::string prod_route =
      withLines(route, {{3, "metadata: {name: r, namespace: prod}"},
                        {5, "  parentRefs: [{name: reviews, namespace: default}]"},
                        {8, "        - name: ratings\n          namespace: default"}});
  auto cross = decodeOk(std::string(kIssueExample) + "---\n" + kRatings + "---\n" + prod_route);
  ASSERT_NE(cross, nullptr);
  EXPECT_EQ(cross->routes()[1].ns, "prod");
  EXPECT_EQ(cross->routes()[1].parent_refs[0].ns, "default");
  EXPECT_EQ(cross->routes()[1].rules[0].backend_refs[0].ns, "default");
  // Without the namespace, references stay in the route's own namespace.
  std::string unqualified = withLines(route, {{3, "metadata: {name: r, namespace: prod}"}});
  EXPECT_EQ(errorOf(std::string(kIssueExample) + "---\n" + kRatings + "---\n" + unqualified),
            "mesh.yaml:47: spec.parentRefs[0].name: unknown Service prod/reviews");
}

TEST(CrossReferenceTest, DuplicateNamesPerKindAndNamespace) {
  std::string route = withLines(kOtherRoute, {{3, "metadata: {name: reviews}"}, {9, ""}});
  std::string yaml = std::string(kIssueExample) + "---\n" + kRatings + "---\n" + route;
  EXPECT_EQ(errorOf(yaml), "mesh.yaml:45: metadata.name: duplicate HTTPRoute default/reviews");
  // The same name in another namespace, or for another kind, is fine.
  std::string prod = withLines(route, {{3, "metadata: {name: reviews, namespace: prod}"},
                                       {5, "  parentRefs: [{name: reviews, namespace: default}]"},
                                       {8, "        - {name: ratings, namespace: default}"}});
  EXPECT_EQ(errorOf(std::string(kIssueExample) + "---\n" + kRatings + "---\n" + prod), "");

  std::string policy = withLines(kOtherPolicy, {{3, "metadata: {name: reviews}"}});
  EXPECT_EQ(errorOf(std::string(kIssueExample) + "---\n" + policy),
            "mesh.yaml:40: metadata.name: duplicate DestinationPolicy default/reviews");
}

TEST(CrossReferenceTest, OnePolicyPerService) {
  EXPECT_EQ(errorOf(std::string(kIssueExample) + "---\n" + kOtherPolicy),
            "mesh.yaml:43: spec.targetRef: Service default/reviews already has "
            "DestinationPolicy default/reviews");
  std::string other_target = withLines(kOtherPolicy, {{6, "    name: ratings"}});
  EXPECT_EQ(errorOf(std::string(kIssueExample) + "---\n" + kRatings + "---\n" + other_target), "");
}

// Reference errors are found only after every document decoded; a field error anywhere wins.
TEST(CrossReferenceTest, FieldErrorsBeforeReferenceErrors) {
  std::string yaml = withLines(
      kIssueExample, {{17, "  parentRefs: [{name: ratings}]"}, {33, "  loadBalancer: random"}});
  EXPECT_THAT(errorOf(yaml), StartsWith("mesh.yaml:33: spec.loadBalancer: "));
}

}  // namespace
}  // namespace weft::api
