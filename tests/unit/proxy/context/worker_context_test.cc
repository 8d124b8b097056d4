// WorkerContext::installRoutes prunes state keyed by the old config (Service states, metric
// cache entries and their series) without freeing what a request pinning an older snapshot
// still uses: that goes once the last snapshot from before the swap is gone.

#include "proxy/context/worker_context.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/proxy/router/route_test_util.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A config with one Service `name` (one endpoint) and an HTTPRoute `name`-route to it.
router::RouteTableConstSharedPtr config(const std::string& name, uint64_t version) {
  const std::string yaml =
      "apiVersion: weft.dev/v1alpha1\nkind: Service\nmetadata: {name: " + name +
      ", namespace: default}\nspec:\n  port: 80\n  endpoints:\n"
      "    - {address: 127.0.0.1:9, identity: "
      "spiffe://cluster.local/ns/default/sa/" +
      name +
      "}\n---\napiVersion: weft.dev/v1alpha1\nkind: HTTPRoute\n"
      "metadata: {name: " +
      name + "-route, namespace: default}\nspec:\n  parentRefs: [{name: " + name +
      "}]\n  rules:\n    - backendRefs: [{name: " + name + "}]\n";
  return router::testing::tableFromYaml(yaml, version);
}

class WorkerContextTest : public ::testing::Test {
 protected:
  // What a request to `name` does with the current snapshot: pins it, takes the Service's
  // state and host set, counts a request and a response.
  std::shared_ptr<WorkerSnapshot> request(const std::string& name) {
    std::shared_ptr<WorkerSnapshot> pinned = ctx_.snapshot;
    const api::Service* svc = pinned->mesh().findService(name, "default");
    EXPECT_NE(svc, nullptr);
    http::RequestHead req;
    req.method = "GET";
    req.path = "/";
    const router::RouteEntry* entry = pinned->routes().match(*svc, req);
    EXPECT_NE(entry, nullptr);
    std::shared_ptr<HostSetState> hosts = pinned->hostSet(entry->backends[0]);
    hosts->owner().limits();  // in use
    metrics::RequestLabels labels;
    labels.authority = name;
    labels.dst_service = pinned->serviceLabel(*svc);
    labels.route = entry->route_label;
    labels.tls = true;
    metrics::TargetMetrics& target = ctx_.metrics.target(labels);
    target.recordRequest();
    target.recordResponse(200, false, std::chrono::milliseconds(1));
    return pinned;
  }

  std::string exported() { return metrics_.serialize(); }

  asio::io_context io_;
  config::Options options_;
  metrics::Metrics metrics_;
  WorkerContext ctx_{io_, options_, metrics_, config("alpha", 1), nullptr};
};

TEST_F(WorkerContextTest, SwapDropsWhatTheNewConfigLacks) {
  request("alpha").reset();
  EXPECT_THAT(exported(), HasSubstr("dst_service=\"alpha.default\""));
  ctx_.installRoutes(config("beta", 2));
  EXPECT_EQ(ctx_.services.count("default/alpha"), 0u);
  EXPECT_EQ(ctx_.metrics.size(), 0u);
  EXPECT_THAT(exported(), Not(HasSubstr("alpha")));
  request("beta").reset();
  EXPECT_EQ(ctx_.services.count("default/beta"), 1u);
  EXPECT_THAT(exported(), HasSubstr("dst_service=\"beta.default\""));
}

TEST_F(WorkerContextTest, PinnedSnapshotKeepsWhatItUsesUntilItGoes) {
  std::shared_ptr<WorkerSnapshot> in_flight = request("alpha");
  ServiceState* alpha = ctx_.services.at("default/alpha").get();
  ctx_.installRoutes(config("beta", 2));
  ctx_.installRoutes(config("gamma", 3));  // a later swap: the bag chain keeps alpha's too
  request("gamma").reset();
  EXPECT_EQ(ctx_.services.count("default/alpha"), 0u);
  EXPECT_EQ(ctx_.services.size(), 1u);
  // Still alive and exported: the request that pinned the first snapshot is not done.
  EXPECT_EQ(&in_flight->serviceState(*in_flight->mesh().findService("alpha", "default")), alpha);
  alpha->limits();
  EXPECT_THAT(exported(), HasSubstr("dst_service=\"alpha.default\""));
  in_flight.reset();
  EXPECT_THAT(exported(), Not(HasSubstr("alpha")));
  EXPECT_THAT(exported(), HasSubstr("dst_service=\"gamma.default\""));
}

TEST_F(WorkerContextTest, ManySwapsWithAPinnedSnapshotUnwindWithoutRecursion) {
  std::shared_ptr<WorkerSnapshot> in_flight = request("alpha");
  const router::RouteTableConstSharedPtr tables[] = {config("beta", 2), config("gamma", 3)};
  for (int i = 0; i < 200000; ++i) {
    ctx_.installRoutes(tables[i % 2]);
    if (i % 10000 == 0) request(i % 2 ? "gamma" : "beta").reset();
  }
  in_flight.reset();  // frees 200,000 bags, one after another
  EXPECT_THAT(exported(), Not(HasSubstr("alpha")));
}

}  // namespace
}  // namespace weft
