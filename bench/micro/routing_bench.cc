// Route matching, weighted backend choice and endpoint picking: the per-request work of the
// outbound router. Each must stay far below 1 µs (issue #3). See bench/micro/README.md.

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "common/strings.h"
#include "control/api/resources.h"
#include "proxy/balancer/load_balancer.h"
#include "proxy/balancer/random.h"
#include "proxy/router/route_table.h"

namespace weft {
namespace {

using router::RouteTable;

api::Service service(std::string name, size_t endpoints) {
  api::Service svc{std::move(name),
                   "default",
                   80,
                   {{"v1", {{"version", "v1"}}}, {"v2", {{"version", "v2"}}}},
                   {}};
  for (size_t i = 0; i < endpoints; ++i) {
    api::Endpoint ep;
    ep.host = "127.0.0.1";
    ep.port = static_cast<uint16_t>(20000 + i);
    ep.address = weft::strCat("127.0.0.1:", ep.port);
    ep.identity = "spiffe://cluster.local/ns/default/sa/bench";
    ep.labels = {{"version", i % 2 == 0 ? "v1" : "v2"}};
    svc.endpoints.push_back(std::move(ep));
  }
  return svc;
}

api::RouteRule rule(api::RouteMatch match, std::string backend) {
  api::RouteRule r;
  r.matches = {std::move(match)};
  r.backend_refs = {{backend, "", "v1", 90}, {backend, "", "v2", 10}};
  return r;
}

api::HTTPRoute route(std::string name, std::string parent, std::vector<api::RouteRule> rules) {
  return api::HTTPRoute{std::move(name), "default", {{std::move(parent), ""}}, std::move(rules)};
}

// A request as the HTTP/1 codec hands it over: a handful of ordinary headers.
http::RequestHead request(std::string path, std::vector<http::Header> extra = {}) {
  http::RequestHead req;
  req.method = "GET";
  req.authority = "svc";
  req.path = std::move(path);
  req.headers.add("user-agent", "curl/7.88.1");
  req.headers.add("accept", "*/*");
  req.headers.add("x-request-id", "5f1c2a9e-8c1e-4a43-9b7e-2d6f0c3b1a77");
  req.headers.add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  for (auto& h : extra) req.headers.add(std::move(h.name), std::move(h.value));
  return req;
}

std::shared_ptr<const RouteTable> build(api::Resources resources) {
  auto table =
      RouteTable::build(std::make_shared<const api::MeshConfig>(std::move(resources), "bench", 1));
  if (!table.ok()) std::abort();
  return *table;
}

enum class Shape { kPrefix, kExact, kHeader, kRegex };

// One Service whose route has `n` rules of one shape; rule i matches paths under /r<i>/ (or
// exactly /r<i>/items, or /r<i>/items/<digits>), or the header x-tenant: t<i>.
std::shared_ptr<const RouteTable> manyRules(size_t n, Shape shape) {
  std::vector<api::RouteRule> rules;
  for (size_t i = 0; i < n; ++i) {
    api::RouteMatch m;
    switch (shape) {
      case Shape::kPrefix:
        m.path = {api::PathMatchType::kPathPrefix, weft::strCat("/r", i)};
        break;
      case Shape::kExact:
        m.path = {api::PathMatchType::kExact, weft::strCat("/r", i, "/items")};
        break;
      case Shape::kHeader:
        m.headers = {{api::StringMatchType::kExact, "x-tenant", weft::strCat("t", i)}};
        break;
      case Shape::kRegex:
        m.path = {api::PathMatchType::kRegularExpression, weft::strCat("/r", i, "/items/[0-9]+")};
        break;
    }
    rules.push_back(rule(std::move(m), "svc"));
  }
  return build({.services = {service("svc", 4)}, .routes = {route("many", "svc", rules)}});
}

void runMatch(benchmark::State& state, const RouteTable& table, const http::RequestHead& req,
              bool expect_hit) {
  const api::Service& svc = table.mesh().services()[0];
  if ((table.match(svc, req) != nullptr) != expect_hit) std::abort();
  for (auto _ : state) benchmark::DoNotOptimize(table.match(svc, req));
}

void BM_Match_1000PrefixRules_HitLast(benchmark::State& state) {
  auto table = manyRules(1000, Shape::kPrefix);
  runMatch(state, *table, request("/r999/items/42?page=2"), true);
}
void BM_Match_1000PrefixRules_Miss(benchmark::State& state) {
  auto table = manyRules(1000, Shape::kPrefix);
  runMatch(state, *table, request("/nothing/items/42?page=2"), false);
}
void BM_Match_1000ExactRules_HitLast(benchmark::State& state) {
  auto table = manyRules(1000, Shape::kExact);
  runMatch(state, *table, request("/r999/items?page=2"), true);
}
void BM_Match_1000HeaderRules_HitLast(benchmark::State& state) {
  auto table = manyRules(1000, Shape::kHeader);
  runMatch(state, *table, request("/items/42", {{"x-tenant", "t999"}}), true);
}
void BM_Match_1000HeaderRules_Miss(benchmark::State& state) {
  auto table = manyRules(1000, Shape::kHeader);
  runMatch(state, *table, request("/items/42", {{"x-tenant", "nobody"}}), false);
}
// Regexes are tried one by one (after exact paths, before prefixes): cost grows with their count.
void BM_Match_RegexRules_HitLast(benchmark::State& state) {
  auto n = static_cast<size_t>(state.range(0));
  auto table = manyRules(n, Shape::kRegex);
  runMatch(state, *table, request(weft::strCat("/r", n - 1, "/items/42")), true);
}

// 1,000 Services, each with the route (canary header -> v2, /api -> 90/10).
void BM_Match_1000Services(benchmark::State& state) {
  api::Resources res;
  for (size_t i = 0; i < 1000; ++i) {
    std::string name = weft::strCat("svc", i);
    res.services.push_back(service(name, 2));
    api::RouteMatch canary;
    canary.headers = {{api::StringMatchType::kExact, "canary", "true"}};
    api::RouteMatch api_prefix;
    api_prefix.path = {api::PathMatchType::kPathPrefix, "/api"};
    res.routes.push_back(route(name, name, {rule(canary, name), rule(api_prefix, name)}));
  }
  auto table = build(std::move(res));
  const api::Service& svc = table->mesh().services()[999];
  http::RequestHead req = request("/api/v1/ratings/42");
  if (table->match(svc, req) == nullptr) std::abort();
  for (auto _ : state) benchmark::DoNotOptimize(table->match(svc, req));
}

void BM_PickBackend_90_10(benchmark::State& state) {
  auto table = manyRules(1, Shape::kPrefix);
  const router::RouteEntry* entry = table->match(table->mesh().services()[0], request("/r0/items"));
  balancer::Random random(1);
  for (auto _ : state) benchmark::DoNotOptimize(router::pickBackend(*entry, random));
}

// Picking among 1,000 endpoints with varied load and latency, 5% of them ejected.
void BM_LoadBalancerPick_1000Endpoints(benchmark::State& state, api::LoadBalancerKind kind) {
  constexpr size_t kEndpoints = 1000;
  balancer::Random random(1);
  balancer::TimePoint now = balancer::Clock::now();
  std::vector<balancer::EndpointState> states(kEndpoints);
  std::vector<balancer::EndpointState*> ptrs;
  std::vector<uint32_t> candidates;
  for (uint32_t i = 0; i < kEndpoints; ++i) {
    states[i].outstanding = static_cast<uint32_t>(random.below(20));
    states[i].recordLatency(std::chrono::microseconds(500 + random.below(5000)), now);
    if (i % 20 == 7) states[i].ejected_until = now + std::chrono::seconds(30);
    ptrs.push_back(&states[i]);
    candidates.push_back(i);
  }
  balancer::LoadBalancerPtr lb = balancer::makeLoadBalancer(kind, random);
  for (auto _ : state) benchmark::DoNotOptimize(lb->pick(candidates, ptrs, random, now));
}

BENCHMARK(BM_Match_1000PrefixRules_HitLast);
BENCHMARK(BM_Match_1000PrefixRules_Miss);
BENCHMARK(BM_Match_1000ExactRules_HitLast);
BENCHMARK(BM_Match_1000HeaderRules_HitLast);
BENCHMARK(BM_Match_1000HeaderRules_Miss);
BENCHMARK(BM_Match_RegexRules_HitLast)->Arg(1)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_Match_1000Services);
BENCHMARK(BM_PickBackend_90_10);
BENCHMARK_CAPTURE(BM_LoadBalancerPick_1000Endpoints, round_robin,
                  api::LoadBalancerKind::kRoundRobin);
BENCHMARK_CAPTURE(BM_LoadBalancerPick_1000Endpoints, least_request,
                  api::LoadBalancerKind::kLeastRequest);
BENCHMARK_CAPTURE(BM_LoadBalancerPick_1000Endpoints, ewma, api::LoadBalancerKind::kEwma);

}  // namespace
}  // namespace weft

BENCHMARK_MAIN();
