#include "proxy/balancer/load_balancer.h"

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

namespace weft::balancer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// n endpoints' states, and the pointer vector the balancers take (indexed by endpoint).
class Hosts {
 public:
  explicit Hosts(size_t n) : states_(n) {
    for (EndpointState& s : states_) ptrs_.push_back(&s);
    for (uint32_t i = 0; i < n; ++i) all_.push_back(i);
  }
  EndpointState& operator[](size_t i) { return states_[i]; }
  std::span<EndpointState* const> states() const { return ptrs_; }
  std::span<const uint32_t> all() const { return all_; }
  void eject(size_t i, TimePoint until) { states_[i].ejected_until = until; }

 private:
  std::vector<EndpointState> states_;
  std::vector<EndpointState*> ptrs_;
  std::vector<uint32_t> all_;
};

const TimePoint kNow = TimePoint() + std::chrono::hours(1);

// How often each endpoint is picked over `n` picks.
std::map<uint32_t, int> tally(LoadBalancer& lb, std::span<const uint32_t> candidates,
                              const Hosts& hosts, int n, uint64_t seed = 1) {
  Random random(seed);
  std::map<uint32_t, int> counts;
  for (int i = 0; i < n; ++i) counts[lb.pick(candidates, hosts.states(), random, kNow)]++;
  return counts;
}

TEST(LoadBalancerTest, RoundRobinCyclesInOrder) {
  Hosts hosts(3);
  RoundRobinLoadBalancer lb;
  Random random(1);
  std::vector<uint32_t> picks;
  for (int i = 0; i < 7; ++i) picks.push_back(lb.pick(hosts.all(), hosts.states(), random, kNow));
  EXPECT_EQ(picks, (std::vector<uint32_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(LoadBalancerTest, RoundRobinOverASubsetSkipsEjected) {
  Hosts hosts(5);
  std::vector<uint32_t> subset = {1, 3, 4};
  hosts.eject(3, kNow + seconds(1));
  RoundRobinLoadBalancer lb;
  Random random(1);
  std::vector<uint32_t> picks;
  for (int i = 0; i < 4; ++i) picks.push_back(lb.pick(subset, hosts.states(), random, kNow));
  EXPECT_EQ(picks, (std::vector<uint32_t>{1, 4, 1, 4}));
  // Once the ejection is over, 3 is back in the cycle.
  picks.clear();
  for (int i = 0; i < 3; ++i) {
    picks.push_back(lb.pick(subset, hosts.states(), random, kNow + seconds(1)));
  }
  EXPECT_EQ(picks, (std::vector<uint32_t>{1, 3, 4}));
}

TEST(LoadBalancerTest, LeastRequestPrefersTheLessLoaded) {
  Hosts hosts(2);
  hosts[0].outstanding = 5;
  LeastRequestLoadBalancer lb;
  EXPECT_EQ(tally(lb, hosts.all(), hosts, 1000)[1], 1000);

  // Among ten, the idle one wins whenever it is one of the two drawn: 1 - (9/10)(8/9) = 20% of
  // the picks, twice its uniform share; a loaded one never beats it.
  Hosts ten(10);
  for (int i = 1; i < 10; ++i) ten[i].outstanding = 10;
  auto counts = tally(lb, ten.all(), ten, 10'000);
  EXPECT_NEAR(counts[0], 2000, 200);
}

TEST(LoadBalancerTest, LeastRequestBreaksTiesAtRandom) {
  Hosts hosts(2);
  hosts[0].outstanding = hosts[1].outstanding = 3;
  LeastRequestLoadBalancer lb;
  auto counts = tally(lb, hosts.all(), hosts, 10'000);
  EXPECT_NEAR(counts[0], 5000, 200);
  EXPECT_NEAR(counts[1], 5000, 200);
}

TEST(LoadBalancerTest, LeastRequestNeverPicksEjectedWhileOthersAreHealthy) {
  Hosts hosts(4);
  hosts.eject(0, kNow + seconds(30));  // idle, so the most attractive, but ejected
  hosts.eject(2, kNow + seconds(30));
  hosts[1].outstanding = 50;
  LeastRequestLoadBalancer lb;
  auto counts = tally(lb, hosts.all(), hosts, 2000);
  EXPECT_EQ(counts.count(0), 0u);
  EXPECT_EQ(counts.count(2), 0u);
  EXPECT_EQ(counts[1] + counts[3], 2000);
  EXPECT_GT(counts[3], counts[1]);
}

TEST(LoadBalancerTest, AllEjectedPanicsToAllCandidates) {
  Hosts hosts(3);
  for (int i = 0; i < 3; ++i) hosts.eject(i, kNow + seconds(30));
  LeastRequestLoadBalancer p2c;
  RoundRobinLoadBalancer rr;
  PeakEwmaLoadBalancer ewma;
  for (LoadBalancer* lb : std::initializer_list<LoadBalancer*>{&p2c, &rr, &ewma}) {
    auto counts = tally(*lb, hosts.all(), hosts, 3000);
    EXPECT_EQ(counts.size(), 3u);
    for (auto [endpoint, n] : counts) EXPECT_GT(n, 600) << "endpoint " << endpoint;
  }
}

TEST(LoadBalancerTest, EmptyAndSingleCandidates) {
  Hosts hosts(3);
  Random random(1);
  std::vector<uint32_t> none, one = {2};
  for (auto kind : {api::LoadBalancerKind::kLeastRequest, api::LoadBalancerKind::kRoundRobin,
                    api::LoadBalancerKind::kEwma}) {
    LoadBalancerPtr lb = makeLoadBalancer(kind, random);
    EXPECT_EQ(lb->pick(none, hosts.states(), random, kNow), kNoEndpoint);
    EXPECT_EQ(lb->pick(one, hosts.states(), random, kNow), 2u);
  }
}

TEST(LoadBalancerTest, FactoryMakesTheKindAsked) {
  Random random(1);
  EXPECT_NE(dynamic_cast<RoundRobinLoadBalancer*>(
                makeLoadBalancer(api::LoadBalancerKind::kRoundRobin, random).get()),
            nullptr);
  EXPECT_NE(dynamic_cast<LeastRequestLoadBalancer*>(
                makeLoadBalancer(api::LoadBalancerKind::kLeastRequest, random).get()),
            nullptr);
  EXPECT_NE(dynamic_cast<PeakEwmaLoadBalancer*>(
                makeLoadBalancer(api::LoadBalancerKind::kEwma, random).get()),
            nullptr);
}

TEST(LoadBalancerTest, PeakEwmaPrefersTheFasterEndpoint) {
  Hosts hosts(2);
  hosts[0].recordLatency(milliseconds(100), kNow);
  hosts[1].recordLatency(milliseconds(10), kNow);
  PeakEwmaLoadBalancer lb;
  EXPECT_EQ(tally(lb, hosts.all(), hosts, 1000)[1], 1000);

  // Latency × (outstanding + 1): 10 ms with 20 in flight costs more than 100 ms idle.
  hosts[1].outstanding = 20;
  EXPECT_EQ(tally(lb, hosts.all(), hosts, 1000)[0], 1000);
}

TEST(LoadBalancerTest, PeakEwmaTriesNewEndpointsButDoesNotFloodThem) {
  Hosts hosts(2);
  hosts[0].recordLatency(milliseconds(5), kNow);
  PeakEwmaLoadBalancer lb;
  EXPECT_EQ(PeakEwmaLoadBalancer::cost(hosts[1], kNow), 0.0);
  EXPECT_EQ(tally(lb, hosts.all(), hosts, 100)[1], 100);  // unmeasured and idle: tried
  hosts[1].outstanding = 1;
  EXPECT_EQ(tally(lb, hosts.all(), hosts, 100)[0], 100);  // unmeasured and busy: penalized
}

}  // namespace
}  // namespace weft::balancer
