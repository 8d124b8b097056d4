#include "proxy/balancer/endpoint_state.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/strings.h"

namespace weft::balancer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kNow = TimePoint() + std::chrono::hours(1);

api::Endpoint endpoint(uint16_t port, std::string sa = "backend") {
  api::Endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port;
  ep.address = weft::strCat("127.0.0.1:", port);
  ep.identity = weft::strCat("spiffe://cluster.local/ns/default/sa/", sa);
  return ep;
}

api::MeshConfig config(std::vector<api::Endpoint> endpoints) {
  return api::MeshConfig(
      {.services = {api::Service{"svc", "default", 80, {}, std::move(endpoints)}}}, "test", 1);
}

TEST(EndpointStateTest, PeakEwmaJumpsUpAndDecaysDown) {
  EndpointState s;
  s.recordLatency(milliseconds(100), kNow);
  EXPECT_DOUBLE_EQ(s.ewmaAt(kNow), 100e6);
  // A faster answer 1 s later moves the estimate by 1 - e^-0.1 of the way.
  s.recordLatency(milliseconds(10), kNow + seconds(1));
  double w = std::exp(-0.1);
  EXPECT_NEAR(s.ewmaAt(kNow + seconds(1)), 100e6 * w + 10e6 * (1 - w), 1e3);
  // A slower one counts in full at once.
  s.recordLatency(milliseconds(300), kNow + seconds(2));
  EXPECT_DOUBLE_EQ(s.ewmaAt(kNow + seconds(2)), 300e6);
  // Idle for one decay constant: e^-1 of it is left.
  EXPECT_NEAR(s.ewmaAt(kNow + seconds(12)), 300e6 * std::exp(-1.0), 1e3);
}

TEST(EndpointStateTest, OutstandingCountsRequestsInFlight) {
  EndpointState s;
  s.requestStarted();
  s.requestStarted();
  EXPECT_EQ(s.outstanding, 2u);
  s.requestFinished(milliseconds(7), kNow);
  EXPECT_EQ(s.outstanding, 1u);
  EXPECT_DOUBLE_EQ(s.ewmaAt(kNow), 7e6);
  s.requestFinished();
  s.requestFinished();  // never below zero
  EXPECT_EQ(s.outstanding, 0u);
}

TEST(EndpointRegistryTest, SameAddressAndIdentityKeepTheirStateAcrossConfigs) {
  EndpointRegistry registry;
  api::MeshConfig old_config = config({endpoint(1), endpoint(2)});
  EndpointState& a = registry.get(old_config.services()[0].endpoints[0]);
  a.outstanding = 3;
  a.times_ejected = 2;

  // A new config: the same endpoint is a different object at a different address.
  api::MeshConfig new_config = config({endpoint(2), endpoint(1)});
  EndpointState& again = registry.get(new_config.services()[0].endpoints[1]);
  EXPECT_EQ(&again, &a);
  EXPECT_EQ(again.outstanding, 3u);
  EXPECT_EQ(again.times_ejected, 2u);
  EXPECT_NE(&registry.get(new_config.services()[0].endpoints[0]), &a);
  // Same address, another identity: another endpoint.
  EXPECT_NE(&registry.get(endpoint(1, "impostor")), &a);
  EXPECT_EQ(registry.size(), 3u);
}

TEST(EndpointRegistryTest, PruneDropsOnlyUnsharedStatesOfRemovedEndpoints) {
  EndpointRegistry registry;
  registry.get(endpoint(1)).outstanding = 1;
  std::shared_ptr<EndpointState> pinned = registry.share(endpoint(2));  // an old snapshot
  registry.get(endpoint(3));
  ASSERT_EQ(registry.size(), 3u);

  api::MeshConfig current = config({endpoint(1)});
  EXPECT_EQ(registry.prune(current), 1u);  // endpoint 3: gone and unshared
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(registry.get(endpoint(1)).outstanding, 1u);
  EXPECT_EQ(registry.share(endpoint(2)), pinned);

  pinned.reset();
  EXPECT_EQ(registry.prune(current), 1u);  // endpoint 2, now that nobody holds it
  EXPECT_EQ(registry.size(), 1u);
}

}  // namespace
}  // namespace weft::balancer
