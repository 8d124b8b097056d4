// Endpoint churn without a new route table (issue #17): WorkerContext::updateEndpoints gives a
// destination its new endpoints; only the host sets whose members changed are replaced, the
// endpoints that stay keep their state (load, ejection), the states of departed endpoints are
// pruned, requests in flight keep the host set they picked from, and a request of an older
// snapshot does not bring the old endpoints back.

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/context/worker_context.h"
#include "tests/unit/proxy/router/route_test_util.h"

namespace weft {
namespace {

// Service "reviews" with subsets v1 and v2, a route sending to both, endpoints as given.
router::RouteTableConstSharedPtr config(uint64_t version, const std::vector<int>& v1_ports,
                                        const std::vector<int>& v2_ports) {
  std::string endpoints;
  auto add = [&](int port, const char* v) {
    endpoints += weft::strCat("    - {address: 127.0.0.1:", port,
                              ", identity: spiffe://cluster.local/ns/default/sa/reviews, "
                              "labels: {version: ",
                              v, "}}\n");
  };
  for (int p : v1_ports) add(p, "v1");
  for (int p : v2_ports) add(p, "v2");
  const std::string yaml = weft::strCat(
      "apiVersion: weft.dev/v1alpha1\nkind: Service\nmetadata: {name: reviews, namespace: "
      "default}\nspec:\n  port: 80\n  subsets:\n    - {name: v1, labels: {version: v1}}\n"
      "    - {name: v2, labels: {version: v2}}\n  endpoints:\n",
      endpoints.empty() ? "    []\n" : endpoints,
      "---\napiVersion: weft.dev/v1alpha1\nkind: HTTPRoute\nmetadata: {name: r, namespace: "
      "default}\nspec:\n  parentRefs: [{name: reviews}]\n  rules:\n    - backendRefs:\n"
      "        - {name: reviews, subset: v1, weight: 50}\n"
      "        - {name: reviews, subset: v2, weight: 50}\n");
  return router::testing::tableFromYaml(yaml, version);
}

// The endpoints of `table`'s reviews, as an update would carry them.
EndpointListPtr endpointsOf(const router::RouteTableConstSharedPtr& table) {
  const api::Service* svc = table->mesh().findService("reviews", "default");
  return EndpointListPtr(table->meshPtr(), &svc->endpoints);
}

class EndpointUpdateTest : public ::testing::Test {
 protected:
  std::shared_ptr<HostSetState> hosts(const std::string& subset) {
    std::shared_ptr<WorkerSnapshot> snapshot = ctx_.snapshot;
    const router::RouteEntry* entry =
        snapshot->routes().match(*snapshot->mesh().findService("reviews", "default"), request_);
    EXPECT_NE(entry, nullptr);
    for (const router::Backend& b : entry->backends) {
      if (b.subset == subset) return snapshot->hostSet(b);
    }
    return nullptr;
  }
  std::vector<std::string> addresses(const HostSetState& set) {
    std::vector<std::string> out;
    for (uint32_t e : set.endpoints()) out.push_back(set.endpoint(e).address);
    return out;
  }

  asio::io_context io_;
  config::Options options_;
  metrics::Metrics metrics_;
  router::RouteTableConstSharedPtr first_ = config(1, {9001, 9002}, {9003});
  WorkerContext ctx_{io_, options_, metrics_, first_, nullptr};
  http::RequestHead request_ = [] {
    http::RequestHead r;
    r.method = "GET";
    r.path = "/";
    return r;
  }();
};

TEST_F(EndpointUpdateTest, OnlyTheChangedHostSetIsReplaced) {
  std::shared_ptr<HostSetState> v1 = hosts("v1");
  std::shared_ptr<HostSetState> v2 = hosts("v2");
  EXPECT_THAT(addresses(*v2), ::testing::ElementsAre("127.0.0.1:9003"));
  const router::RouteTable* table = &ctx_.snapshot->routes();
  // A v2 pod joins.
  EXPECT_EQ(
      ctx_.updateEndpoints("default/reviews", endpointsOf(config(2, {9001, 9002}, {9003, 9004}))),
      1u);
  EXPECT_EQ(&ctx_.snapshot->routes(), table);  // no new route table, no new snapshot
  EXPECT_EQ(hosts("v1"), v1);                  // untouched, balancer and all
  std::shared_ptr<HostSetState> v2_now = hosts("v2");
  EXPECT_NE(v2_now, v2);
  EXPECT_THAT(addresses(*v2_now), ::testing::ElementsAre("127.0.0.1:9003", "127.0.0.1:9004"));
  // The request that picked from the old set still has it, endpoints included.
  EXPECT_EQ(v2->endpoint(v2->endpoints()[0]).address, "127.0.0.1:9003");
}

TEST_F(EndpointUpdateTest, EndpointsThatStayKeepTheirStateAndDepartedOnesArePruned) {
  std::shared_ptr<HostSetState> v1 = hosts("v1");
  const uint32_t first = v1->endpoints()[0];
  v1->state(first).requestStarted();  // in flight on 9001
  v1.reset();
  const size_t before = ctx_.endpoints.size();
  // 9002 leaves.
  ctx_.updateEndpoints("default/reviews", endpointsOf(config(2, {9001}, {9003})));
  std::shared_ptr<HostSetState> now = hosts("v1");
  ASSERT_EQ(now->endpoints().size(), 1u);
  EXPECT_EQ(now->state(now->endpoints()[0]).outstanding, 1u);  // the same 9001 state
  EXPECT_EQ(ctx_.endpoints.size(), before - 1);                // 9002's state is gone
}

TEST_F(EndpointUpdateTest, AnOlderSnapshotDoesNotBringOldEndpointsBack) {
  std::shared_ptr<WorkerSnapshot> old = ctx_.snapshot;  // a request of the first config
  ctx_.installRoutes(config(2, {9001}, {9003}));        // a full update: 9002 gone
  ctx_.updateEndpoints("default/reviews", endpointsOf(config(3, {9001}, {9003, 9005})));
  // The old request reaches the destination after both: it sees what is current.
  const router::RouteEntry* entry =
      old->routes().match(*old->mesh().findService("reviews", "default"), request_);
  ASSERT_NE(entry, nullptr);
  std::shared_ptr<HostSetState> v1 = old->hostSet(entry->backends[0]);
  EXPECT_THAT(addresses(*v1), ::testing::ElementsAre("127.0.0.1:9001"));
  EXPECT_THAT(addresses(*hosts("v2")), ::testing::ElementsAre("127.0.0.1:9003", "127.0.0.1:9005"));
}

TEST_F(EndpointUpdateTest, AServiceNotYetUsedTakesTheUpdateWhenFirstUsed) {
  ctx_.updateEndpoints("default/reviews", endpointsOf(config(2, {}, {9007})));
  EXPECT_TRUE(hosts("v1")->empty());
  EXPECT_THAT(addresses(*hosts("v2")), ::testing::ElementsAre("127.0.0.1:9007"));
  // The next full config replaces the updates.
  ctx_.installRoutes(config(3, {9001}, {9003}));
  EXPECT_THAT(addresses(*hosts("v2")), ::testing::ElementsAre("127.0.0.1:9003"));
}

}  // namespace
}  // namespace weft
