#include "proxy/context/service_state.h"

#include <memory>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

namespace weft {
namespace {

using balancer::Result;
using std::chrono::seconds;

// A Service with four endpoints, a subset holding the first two, and the Service's resilience
// state: outlier_ejected_endpoints must count an endpoint once even when a subset's host set and
// the whole Service's both hold it.
class ServiceStateTest : public ::testing::Test {
 protected:
  ServiceStateTest()
      : metrics_(registry_),
        service_state_(io_.get_executor(), metrics_.forService("backend"), registry_states_,
                       random_) {
    service_.name = "backend";
    service_.ns = "default";
    for (int i = 0; i < 4; ++i) {
      api::Endpoint endpoint;
      endpoint.address = "127.0.0.1:" + std::to_string(9000 + i);
      service_.endpoints.push_back(endpoint);
      states_.push_back(std::make_shared<balancer::EndpointState>());
    }
    policy_.outlier_detection.consecutive_5xx = 1;
    policy_.outlier_detection.max_ejection_percent = 100;
  }

  std::unique_ptr<HostSetState> hostSet(std::vector<uint32_t> endpoints) {
    return std::make_unique<HostSetState>(std::make_shared<const EndpointList>(service_.endpoints),
                                          std::move(endpoints), states_, policy_, service_state_,
                                          random_);
  }

  double ejectedGauge() { return service_state_.metrics().ejected_endpoints->Value(); }

  asio::io_context io_;
  balancer::Random random_{42};
  balancer::EndpointRegistry registry_states_;
  prometheus::Registry registry_;
  metrics::ResilienceMetrics metrics_;
  ServiceState service_state_;
  api::Service service_;
  api::DestinationPolicy policy_;
  std::vector<std::shared_ptr<balancer::EndpointState>> states_;
  const balancer::TimePoint t0_ = balancer::Clock::now();
};

TEST_F(ServiceStateTest, AnEndpointInTwoHostSetsIsCountedOnce) {
  auto subset = hostSet({0, 1});
  auto whole = hostSet({0, 1, 2, 3});
  subset->onResult(0, Result::kHttp5xx, t0_);
  EXPECT_EQ(ejectedGauge(), 1);
  whole->onResult(0, Result::kHttp5xx, t0_);  // already ejected: counted once
  whole->onResult(2, Result::kHttp5xx, t0_);
  EXPECT_EQ(ejectedGauge(), 2);
  service_state_.expireEjections(t0_ + seconds(1));
  EXPECT_EQ(ejectedGauge(), 2);
}

TEST_F(ServiceStateTest, EjectionsLeaveTheGaugeWhenTheyEnd) {
  auto subset = hostSet({0, 1});
  auto whole = hostSet({0, 1, 2, 3});
  subset->onResult(1, Result::kHttp5xx, t0_);
  EXPECT_EQ(ejectedGauge(), 1);
  service_state_.expireEjections(t0_ + seconds(29));  // the base ejection time is 30 s
  EXPECT_EQ(ejectedGauge(), 1);
  service_state_.expireEjections(t0_ + seconds(31));
  EXPECT_EQ(ejectedGauge(), 0);
}

TEST_F(ServiceStateTest, AHostSetThatGoesKeepsTheOthersEjectionsCounted) {
  auto whole = hostSet({0, 1, 2, 3});
  {
    auto subset = hostSet({0, 1});  // an older snapshot's set, say
    subset->onResult(0, Result::kHttp5xx, t0_);
    EXPECT_EQ(ejectedGauge(), 1);
  }
  // Endpoint 0 is still ejected and still in the whole Service's set.
  EXPECT_EQ(ejectedGauge(), 1);
  whole.reset();
  EXPECT_EQ(ejectedGauge(), 0);
}

}  // namespace
}  // namespace weft
