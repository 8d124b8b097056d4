// What a RouteTable resolves a request to: the issue's canary example, the implicit default
// entry, subsets and their endpoints, weighted picks, and configs it refuses.

#include "proxy/router/route_table.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/proxy/router/route_test_util.h"

namespace weft::router {
namespace {

using namespace weft::router::testing;  // NOLINT
using ::testing::HasSubstr;

// The issue's example: reviews with subsets v1 and v2; canary: true -> v2; /api -> 90/10.
api::Resources reviews() {
  api::RouteMatch canary;
  canary.headers = {header("canary", "true")};
  return {
      .services = {service(
          "reviews", {endpoint(15106, {{"version", "v1"}}), endpoint(15206, {{"version", "v2"}})},
          {{"v1", {{"version", "v1"}}}, {"v2", {{"version", "v2"}}}})},
      .routes = {route(
          "reviews", "reviews",
          {rule({canary}, {to("reviews", "v2")}),
           rule({onPath(prefix("/api"))}, {to("reviews", "v1", 90), to("reviews", "v2", 10)})})}};
}

const RouteEntry* lookup(const RouteTable& table, std::string_view svc,
                         const http::RequestHead& req) {
  return table.match(*table.mesh().findService(svc, "default"), req);
}

TEST(RouteTableTest, IssueExampleCanaryGoesToV2) {
  auto table = buildTable(reviews());
  const RouteEntry* e = lookup(*table, "reviews", request("/", {{"canary", "true"}}));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->route_label, "reviews");
  EXPECT_EQ(e->rule, &table->mesh().routes()[0].rules[0]);
  ASSERT_EQ(e->backends.size(), 1u);
  EXPECT_EQ(e->backends[0].subset, "v2");
  EXPECT_EQ(e->backends[0].service->name, "reviews");
  EXPECT_EQ(lookup(*table, "reviews", request("/x", {{"canary", "false"}})), nullptr);
}

TEST(RouteTableTest, IssueExampleApiSplitsNinetyTen) {
  auto table = buildTable(reviews());
  const RouteEntry* e = lookup(*table, "reviews", request("/api/ratings?id=1"));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->rule_index, 1u);
  ASSERT_EQ(e->backends.size(), 2u);
  EXPECT_EQ(e->total_weight, 100u);
  EXPECT_EQ(e->backends[0].subset, "v1");
  EXPECT_EQ(e->backends[1].subset, "v2");

  balancer::Random random(42);
  int v1 = 0, v2 = 0;
  for (int i = 0; i < 10'000; ++i) {
    size_t b = pickBackend(*e, random);
    ASSERT_LT(b, 2u);
    (e->backends[b].subset == "v1" ? v1 : v2)++;
  }
  EXPECT_NEAR(v1, 9000, 200);
  EXPECT_NEAR(v2, 1000, 200);
}

TEST(RouteTableTest, IssueExampleOtherPathsMatchNothing) {
  auto table = buildTable(reviews());
  EXPECT_EQ(lookup(*table, "reviews", request("/")), nullptr);
  EXPECT_EQ(lookup(*table, "reviews", request("/apix")), nullptr);
  EXPECT_EQ(lookup(*table, "reviews", request("/v1/api")), nullptr);
  // A header-only match outranks path prefixes: canary requests under /api go to v2 too.
  const RouteEntry* e = lookup(*table, "reviews", request("/api", {{"canary", "true"}}));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->rule_index, 0u);
}

TEST(RouteTableTest, ServiceWithoutRoutesGetsTheDefaultEntry) {
  auto table = buildTable(
      {.services = {service("plain", {endpoint(1), endpoint(2), endpoint(3)}), service("empty")}});
  const RouteEntry* e = lookup(*table, "plain", request("/any/path?x", {}, "DELETE"));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->route_label, "default");
  EXPECT_EQ(e->rule, nullptr);
  ASSERT_EQ(e->backends.size(), 1u);
  EXPECT_EQ(e->backends[0].service, table->mesh().findService("plain", "default"));
  EXPECT_EQ(e->backends[0].subset, "");
  EXPECT_EQ(e->total_weight, 1u);
  balancer::Random random(1);
  EXPECT_EQ(pickBackend(*e, random), 0u);

  // A Service without endpoints still has its entry: "no endpoints" is the destination's to say.
  const RouteEntry* empty = lookup(*table, "empty", request("/"));
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->backends[0].service->name, "empty");
}

TEST(RouteTableTest, BackendsMayBeOtherServicesAndRulesWithoutBackendsGoToTheParent) {
  auto table = buildTable(
      {.services = {service("front", {endpoint(1)}), service("back", {endpoint(2), endpoint(3)})},
       .routes = {
           route("r", "front",
                 {rule({onPath(prefix("/back"))}, {to("back")}), rule({onPath(prefix("/"))})})}});
  const RouteEntry* back = lookup(*table, "front", request("/back/x"));
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->backends[0].service->name, "back");
  EXPECT_EQ(back->backends[0].subset, "");
  const RouteEntry* self = lookup(*table, "front", request("/x"));
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->backends[0].service->name, "front");
  EXPECT_EQ(self->total_weight, 1u);
  // "back" has no route of its own: the default entry.
  EXPECT_EQ(lookup(*table, "back", request("/x"))->route_label, "default");
}

TEST(RouteTableTest, RouteWithTwoParentsServesBoth) {
  api::HTTPRoute r = route("shared", "a", {rule({onPath(exact("/x"))})});
  r.parent_refs.push_back({"b", ""});
  auto table = buildTable(
      {.services = {service("a", {endpoint(1)}), service("b", {endpoint(2)})}, .routes = {r}});
  EXPECT_EQ(matched(*table, "a", request("/x")), "shared#0");
  EXPECT_EQ(matched(*table, "b", request("/x")), "shared#0");
  EXPECT_EQ(lookup(*table, "b", request("/x"))->backends[0].service->name, "b");
  EXPECT_EQ(matched(*table, "b", request("/y")), "404");
}

TEST(RouteTableTest, ServiceFromAnotherConfigMatchesNothing) {
  auto table = buildTable(reviews());
  api::Service stranger = service("reviews");
  EXPECT_EQ(table->match(stranger, request("/api")), nullptr);
}

TEST(RouteTableTest, PickBackendFollowsWeightsAndNeverPicksZero) {
  auto table = buildTable(
      {.services = {service("svc", {endpoint(1)}), service("a"), service("b"), service("c")},
       .routes = {
           route("r", "svc",
                 {rule({onPath(prefix("/mix"))}, {to("a", "", 0), to("b", "", 3), to("c", "", 1)}),
                  rule({onPath(prefix("/zero"))}, {to("a", "", 0), to("b", "", 0)})})}});
  const RouteEntry* mix = lookup(*table, "svc", request("/mix"));
  ASSERT_NE(mix, nullptr);
  balancer::Random random(7);
  std::vector<int> counts(3);
  for (int i = 0; i < 40'000; ++i) counts.at(pickBackend(*mix, random))++;
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[1], 30'000, 400);
  EXPECT_NEAR(counts[2], 10'000, 400);

  const RouteEntry* zero = lookup(*table, "svc", request("/zero"));
  ASSERT_NE(zero, nullptr);
  EXPECT_EQ(zero->total_weight, 0u);
  EXPECT_EQ(pickBackend(*zero, random), kNoBackend);
}

TEST(RouteTableTest, RefusesBadRegexUnknownServiceAndUnknownSubset) {
  auto fails = [](api::RouteRule bad) {
    auto table = RouteTable::build(
        mesh({.services = {service("svc", {endpoint(1)}, {{"v1", {{"version", "v1"}}}})},
              .routes = {route("r", "svc", {rule({onPath(prefix("/ok"))}), std::move(bad)})}}));
    return table.ok() ? std::string("built") : std::string(weft::sv(table.status().message()));
  };
  EXPECT_THAT(fails(rule({onPath(regex("/a(b"))})),
              HasSubstr("HTTPRoute default/r: rules[1].matches[0]: invalid regular expression"));
  api::RouteMatch bad_header;
  bad_header.headers = {headerRegex("x", "[")};
  EXPECT_THAT(fails(rule({onPath(prefix("/")), bad_header})),
              HasSubstr("rules[1].matches[1]: invalid regular expression \"[\""));
  EXPECT_THAT(fails(rule({}, {to("svc"), to("nope")})),
              HasSubstr("rules[1].backendRefs[1]: unknown Service default/nope"));
  EXPECT_THAT(fails(rule({}, {to("svc", "v9")})),
              HasSubstr("rules[1].backendRefs[0]: unknown subset v9 of Service default/svc"));
  EXPECT_EQ(fails(rule({onPath(regex("/a(b)?"))})), "built");
}

TEST(RouteTableTest, TableKeepsTheConfigAlive) {
  auto table = buildTable(reviews());
  const RouteEntry* e = lookup(*table, "reviews", request("/api"));
  ASSERT_NE(e, nullptr);
  // Nothing but the table holds the MeshConfig now; its pointers must still be good.
  EXPECT_EQ(table->meshPtr().use_count(), 1);
  EXPECT_EQ(e->backends[0].service->name, "reviews");
  EXPECT_EQ(e->rule->backend_refs.size(), 2u);
}

}  // namespace
}  // namespace weft::router
