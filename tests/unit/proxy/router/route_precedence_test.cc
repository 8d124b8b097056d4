// Which rule wins when several HTTPRoute matches hold: Gateway API precedence, and the matching
// of each condition (path types, headers, method, query params).

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "proxy/router/route_table.h"
#include "tests/unit/proxy/router/route_test_util.h"

namespace weft::router {
namespace {

using namespace weft::router::testing;  // NOLINT

// One Service "svc" with one HTTPRoute "r" holding `rules`.
RouteTableConstSharedPtr table(std::vector<api::RouteRule> rules) {
  return buildTable({.services = {service("svc", {endpoint(1)})},
                     .routes = {route("r", "svc", std::move(rules))}});
}

TEST(RoutePrecedenceTest, ExactPathBeatsPrefixWhateverTheOrder) {
  auto t = table({rule({onPath(prefix("/foo"))}), rule({onPath(exact("/foo"))})});
  EXPECT_EQ(matched(*t, "svc", request("/foo")), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/foo?x=1")), "r#1");  // the query is not the path
  EXPECT_EQ(matched(*t, "svc", request("/foo/")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/foo/bar")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/fo")), "404");
}

TEST(RoutePrecedenceTest, LongestPrefixWinsWhateverTheOrder) {
  auto t = table(
      {rule({onPath(prefix("/"))}), rule({onPath(prefix("/a"))}), rule({onPath(prefix("/a/b"))})});
  EXPECT_EQ(matched(*t, "svc", request("/a/b/c")), "r#2");
  EXPECT_EQ(matched(*t, "svc", request("/a/b")), "r#2");
  EXPECT_EQ(matched(*t, "svc", request("/a/bc")), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/a?b")), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/ab")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("*", {}, "OPTIONS")), "r#0");
}

TEST(RoutePrecedenceTest, PrefixMatchesWholePathElements) {
  auto t = table({rule({onPath(prefix("/api/"))})});
  EXPECT_EQ(matched(*t, "svc", request("/api")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/api/")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/api/x/y")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/api?q=1")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/apix")), "404");
  EXPECT_EQ(matched(*t, "svc", request("/ap")), "404");
  EXPECT_EQ(matched(*t, "svc", request("/v1/api")), "404");
}

TEST(RoutePrecedenceTest, RegexSitsBetweenExactAndPrefix) {
  auto t = table({rule({onPath(prefix("/users/admin"))}), rule({onPath(regex("/users/[0-9]+"))}),
                  rule({onPath(exact("/users/0"))})});
  EXPECT_EQ(matched(*t, "svc", request("/users/42")), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/users/42?x=y")), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/users/0")), "r#2");
  EXPECT_EQ(matched(*t, "svc", request("/users/admin")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/users/42/x")), "404");  // a regex matches the whole path
  EXPECT_EQ(matched(*t, "svc", request("/x/users/42")), "404");
}

// With several regexes the table tests them in one RE2::Set pass; precedence must not change.
TEST(RoutePrecedenceTest, ManyRegexesKeepPrecedence) {
  api::RouteMatch with_header = onPath(regex("/b/.*"));
  with_header.headers = {header("x", "1")};
  auto t = table({rule({onPath(regex("/a/.*"))}), rule({onPath(regex("/a/[0-9]+"))}),
                  rule({onPath(regex("/b/.*"))}), rule({with_header}), rule({onPath(regex("/c"))}),
                  rule({onPath(prefix("/"))}), rule({onPath(exact("/a/7"))})});
  EXPECT_EQ(matched(*t, "svc", request("/a/1")), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/a/x")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/a/7")), "r#6");
  EXPECT_EQ(matched(*t, "svc", request("/b/z", {{"x", "1"}})), "r#3");
  EXPECT_EQ(matched(*t, "svc", request("/b/z?x=1")), "r#2");
  EXPECT_EQ(matched(*t, "svc", request("/c")), "r#4");
  EXPECT_EQ(matched(*t, "svc", request("/c/d")), "r#5");  // whole-path match only
  EXPECT_EQ(matched(*t, "svc", request("/xc")), "r#5");
}

TEST(RoutePrecedenceTest, RegexIsNotShadowedByCatchAll) {
  auto t = table({rule({api::RouteMatch{}}), rule({onPath(regex("/img/.*\\.png"))})});
  EXPECT_EQ(matched(*t, "svc", request("/img/a.png")), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/img/a.gif")), "r#0");
}

TEST(RoutePrecedenceTest, LongerRegexFirst) {
  auto t = table({rule({onPath(regex("/a.*"))}), rule({onPath(regex("/a/[a-z]+"))})});
  EXPECT_EQ(matched(*t, "svc", request("/a/bc")), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/a/1")), "r#0");
}

// Our one departure from Gateway API: a match with conditions but no path (header-pinned
// testers) beats every path prefix, so `canary: true` reaches its backend on every path.
TEST(RoutePrecedenceTest, ConditionsOnAnyPathBeatPrefixes) {
  api::RouteMatch canary;
  canary.headers = {header("canary", "true")};
  auto t = table({rule({onPath(prefix("/api"))}), rule({canary})});
  EXPECT_EQ(matched(*t, "svc", request("/api/x", {{"canary", "true"}})), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/web", {{"canary", "true"}})), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/api/x", {{"canary", "false"}})), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/web")), "404");
}

TEST(RoutePrecedenceTest, ExactAndRegexPathsStillBeatConditionsOnAnyPath) {
  api::RouteMatch canary;
  canary.headers = {header("canary", "true")};
  api::RouteMatch by_method;
  by_method.method = "POST";
  auto t = table({rule({canary}), rule({onPath(exact("/login"))}), rule({onPath(regex("/img/.*"))}),
                  rule({by_method})});
  EXPECT_EQ(matched(*t, "svc", request("/login", {{"canary", "true"}})), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/img/a", {{"canary", "true"}})), "r#2");
  EXPECT_EQ(matched(*t, "svc", request("/x", {{"canary", "true"}})), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/x", {}, "POST")), "r#3");
}

TEST(RoutePrecedenceTest, MethodBeatsHeadersBeatQueryParams) {
  api::RouteMatch by_query = onPath(prefix("/p"));
  by_query.query_params = {query("a", "1"), query("b", "2")};
  api::RouteMatch by_header = onPath(prefix("/p"));
  by_header.headers = {header("x", "1")};
  api::RouteMatch by_method = onPath(prefix("/p"));
  by_method.method = "POST";
  auto t = table({rule({by_query}), rule({by_header}), rule({by_method})});
  EXPECT_EQ(matched(*t, "svc", request("/p?a=1&b=2", {{"x", "1"}}, "POST")), "r#2");
  EXPECT_EQ(matched(*t, "svc", request("/p?a=1&b=2", {{"x", "1"}}, "GET")), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/p?a=1&b=2", {}, "GET")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/p?a=1", {}, "GET")), "404");
  EXPECT_EQ(matched(*t, "svc", request("/p", {}, "post")), "404");  // methods are case-sensitive
}

TEST(RoutePrecedenceTest, MoreHeaderMatchesWin) {
  api::RouteMatch one;
  one.headers = {header("x", "1")};
  api::RouteMatch two;
  two.headers = {header("x", "1"), header("y", "2")};
  auto t = table({rule({one}), rule({two})});
  EXPECT_EQ(matched(*t, "svc", request("/", {{"y", "2"}, {"x", "1"}})), "r#1");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x", "1"}})), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x", "2"}})), "404");
}

TEST(RoutePrecedenceTest, TiesGoToRouteOrderThenRuleOrder) {
  auto t = buildTable(
      {.services = {service("svc", {endpoint(1)})},
       .routes = {
           route("first", "svc", {rule({onPath(prefix("/a"))}), rule({onPath(prefix("/a"))})}),
           route("second", "svc", {rule({onPath(prefix("/a"))}), rule({onPath(prefix("/"))})})}});
  EXPECT_EQ(matched(*t, "svc", request("/a/1")), "first#0");
  EXPECT_EQ(matched(*t, "svc", request("/b")), "second#1");
}

TEST(RoutePrecedenceTest, AnyMatchOfARuleSelectsIt) {
  auto t = table({rule({onPath(exact("/a")), onPath(exact("/b"))}), rule({onPath(prefix("/"))})});
  EXPECT_EQ(matched(*t, "svc", request("/a")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/b")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/c")), "r#1");
}

TEST(RoutePrecedenceTest, RuleWithoutMatchesMatchesEverything) {
  auto t = table({rule({})});
  EXPECT_EQ(matched(*t, "svc", request("/anything?x")), "r#0");
}

TEST(RoutePrecedenceTest, HeaderConditions) {
  api::RouteMatch m;
  // Only the first condition on a name counts (Gateway API): x-env must be "prod".
  m.headers = {header("x-env", "prod"), header("x-env", "dev"), headerRegex("x-ver", "v[0-9]+")};
  auto t = table({rule({m})});
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-env", "prod"}, {"x-ver", "v12"}})), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-env", "dev"}, {"x-ver", "v12"}})), "404");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-env", "Prod"}, {"x-ver", "v12"}})), "404");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-env", "prod"}, {"x-ver", "v12b"}})), "404");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-env", "prod"}})), "404");
  // The first value of a repeated header is the one tested.
  EXPECT_EQ(
      matched(*t, "svc", request("/", {{"x-env", "prod"}, {"x-env", "dev"}, {"x-ver", "v1"}})),
      "r#0");
  EXPECT_EQ(
      matched(*t, "svc", request("/", {{"x-env", "dev"}, {"x-env", "prod"}, {"x-ver", "v1"}})),
      "404");
}

TEST(RoutePrecedenceTest, QueryParamConditions) {
  api::RouteMatch m;
  m.query_params = {query("q", "a b"), queryRegex("page", "[0-9]+"), query("flag", "")};
  auto t = table({rule({m})});
  EXPECT_EQ(matched(*t, "svc", request("/s?q=a b&page=3&flag")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/s?flag=&page=3&q=a b&q=zzz")), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/s?q=a%20b&page=3&flag")), "404");  // not decoded
  EXPECT_EQ(matched(*t, "svc", request("/s?q=a b&page=3x&flag")), "404");
  EXPECT_EQ(matched(*t, "svc", request("/s?q=a b&page=3")), "404");
  EXPECT_EQ(matched(*t, "svc", request("/s?Q=a b&page=3&flag")), "404");  // names case-sensitive
}

// Many rules told apart by one header's value are indexed by that value; the index must keep
// precedence with the rules that do not test that header.
TEST(RoutePrecedenceTest, HeaderIndexedRulesKeepPrecedence) {
  std::vector<api::RouteRule> rules;
  for (int i = 0; i < 10; ++i) {
    api::RouteMatch m;
    m.headers = {header("x-tenant", weft::strCat("t", i))};
    rules.push_back(rule({m}));
  }
  api::RouteMatch vip;  // rule 10: two headers, so it precedes the one-header rules
  vip.headers = {headerRegex("x-tenant", "t[0-9]"), header("x-vip", "yes")};
  rules.push_back(rule({vip}));
  rules.push_back(rule({api::RouteMatch{}}));  // rule 11: the catch-all
  api::RouteMatch beta;                        // rule 12: keyed too, with two headers
  beta.headers = {header("x-tenant", "t5"), header("x-beta", "1")};
  rules.push_back(rule({beta}));
  auto t = table(std::move(rules));

  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-tenant", "t3"}})), "r#3");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-tenant", "t9"}})), "r#9");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-tenant", "t3"}, {"x-vip", "yes"}})), "r#10");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-tenant", "t5"}, {"x-beta", "1"}})), "r#12");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-tenant", "t5"}})), "r#5");
  EXPECT_EQ(matched(*t, "svc", request("/", {{"x-tenant", "t10"}})), "r#11");
  EXPECT_EQ(matched(*t, "svc", request("/")), "r#11");
}

TEST(RoutePrecedenceTest, ThousandRulesMatchTheRightOne) {
  std::vector<api::RouteRule> rules;
  for (int i = 0; i < 1000; ++i) {
    api::RouteMatch m = onPath(prefix(weft::strCat("/svc", i)));
    m.headers = {header("x-tenant", weft::strCat("t", i % 7))};
    rules.push_back(rule({m}));
  }
  auto t = table(std::move(rules));
  EXPECT_EQ(matched(*t, "svc", request("/svc999/items?id=1", {{"x-tenant", "t5"}})), "r#999");
  EXPECT_EQ(matched(*t, "svc", request("/svc999/items", {{"x-tenant", "t6"}})), "404");
  EXPECT_EQ(matched(*t, "svc", request("/svc0", {{"x-tenant", "t0"}})), "r#0");
  EXPECT_EQ(matched(*t, "svc", request("/svc1000", {{"x-tenant", "t6"}})), "404");
}

}  // namespace
}  // namespace weft::router
