#include "proxy/balancer/outlier_detector.h"

#include <chrono>
#include <vector>

#include <gtest/gtest.h>

namespace weft::balancer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint() + std::chrono::hours(1);

// A host set of n endpoints under one detector, with the clock in the test's hands.
class OutlierDetectorTest : public ::testing::Test {
 protected:
  void make(size_t n, api::OutlierDetectionSettings settings = {}) {
    states_ = std::vector<EndpointState>(n);
    std::vector<EndpointState*> hosts;
    for (EndpointState& s : states_) hosts.push_back(&s);
    detector_ = std::make_unique<OutlierDetector>(settings, std::move(hosts));
  }

  // `n` results of one kind for endpoint i at `at`; true if one of them ejected it.
  bool fail(size_t i, int n, TimePoint at, Result r = Result::kHttp5xx) {
    bool ejected = false;
    for (int k = 0; k < n; ++k) ejected |= detector_->onResult(states_[i], r, at);
    return ejected;
  }

  std::vector<EndpointState> states_;
  std::unique_ptr<OutlierDetector> detector_;
};

TEST(ClassifyStatusTest, GatewayErrorsAreTheirOwnKind) {
  EXPECT_EQ(classifyStatus(200), Result::kSuccess);
  EXPECT_EQ(classifyStatus(404), Result::kSuccess);
  EXPECT_EQ(classifyStatus(500), Result::kHttp5xx);
  EXPECT_EQ(classifyStatus(501), Result::kHttp5xx);
  EXPECT_EQ(classifyStatus(502), Result::kGatewayError);
  EXPECT_EQ(classifyStatus(503), Result::kGatewayError);
  EXPECT_EQ(classifyStatus(504), Result::kGatewayError);
}

TEST_F(OutlierDetectorTest, EjectsAtTheFifthConsecutive5xxForBaseEjectionTime) {
  make(2);  // defaults: 5 consecutive 5xx, 30 s base, 10% (at least one)
  EXPECT_FALSE(fail(0, 4, kT0));
  EXPECT_FALSE(states_[0].isEjected(kT0));
  EXPECT_TRUE(fail(0, 1, kT0));
  EXPECT_TRUE(states_[0].isEjected(kT0));
  EXPECT_TRUE(states_[0].isEjected(kT0 + seconds(30) - milliseconds(1)));
  EXPECT_FALSE(states_[0].isEjected(kT0 + seconds(30)));
  EXPECT_EQ(detector_->ejectionsTotal(), 1u);
  EXPECT_EQ(detector_->ejectedCount(kT0 + seconds(1)), 1u);
  EXPECT_EQ(detector_->ejectedCount(kT0 + seconds(30)), 0u);
}

TEST_F(OutlierDetectorTest, SecondEjectionSoonAfterLastsTwiceAsLong) {
  make(2);
  ASSERT_TRUE(fail(0, 5, kT0));
  TimePoint back = kT0 + seconds(30);
  ASSERT_TRUE(fail(0, 5, back + seconds(1)));
  EXPECT_EQ(states_[0].times_ejected, 2u);
  EXPECT_TRUE(states_[0].isEjected(back + seconds(61) - milliseconds(1)));
  EXPECT_FALSE(states_[0].isEjected(back + seconds(61)));
}

TEST_F(OutlierDetectorTest, StayingHealthyForgivesOneEjectionPerInterval) {
  make(2);
  ASSERT_TRUE(fail(0, 5, kT0));
  TimePoint back = kT0 + seconds(30);
  ASSERT_TRUE(fail(0, 5, back + seconds(1)));  // times_ejected 2, back at +61 s
  TimePoint back2 = back + seconds(61);
  // 25 s healthy: two intervals of 10 s forgive both ejections; the next one is 30 s again.
  ASSERT_TRUE(fail(0, 5, back2 + seconds(25)));
  EXPECT_EQ(states_[0].times_ejected, 1u);
  EXPECT_FALSE(states_[0].isEjected(back2 + seconds(55)));
}

TEST_F(OutlierDetectorTest, SuccessResetsTheCounts) {
  make(2);
  EXPECT_FALSE(fail(0, 4, kT0));
  detector_->onResult(states_[0], Result::kSuccess, kT0);
  EXPECT_FALSE(fail(0, 4, kT0));
  EXPECT_EQ(states_[0].consecutive_5xx, 4u);
  EXPECT_FALSE(states_[0].isEjected(kT0));
}

TEST_F(OutlierDetectorTest, GatewayErrorsHaveTheirOwnThreshold) {
  api::OutlierDetectionSettings settings;
  settings.consecutive_5xx = 100;
  settings.consecutive_gateway_errors = 3;
  make(2, settings);
  // A plain 500 between gateway errors restarts their count (Envoy).
  EXPECT_FALSE(fail(0, 2, kT0, Result::kGatewayError));
  EXPECT_FALSE(fail(0, 1, kT0, Result::kHttp5xx));
  EXPECT_FALSE(fail(0, 2, kT0, Result::kGatewayError));
  // Connect failures count as gateway errors.
  EXPECT_TRUE(fail(0, 1, kT0, Result::kConnectFailure));
}

TEST_F(OutlierDetectorTest, ZeroThresholdsDisableDetection) {
  api::OutlierDetectionSettings settings;
  settings.consecutive_5xx = 0;
  settings.consecutive_gateway_errors = 0;
  make(2, settings);
  EXPECT_FALSE(fail(0, 50, kT0, Result::kGatewayError));
}

TEST_F(OutlierDetectorTest, MaxEjectionPercentIsRespected) {
  api::OutlierDetectionSettings settings;
  settings.max_ejection_percent = 50;
  make(10, settings);
  EXPECT_EQ(detector_->maxEjected(), 5u);
  for (size_t i = 0; i < 10; ++i) fail(i, 5, kT0);
  EXPECT_EQ(detector_->ejectedCount(kT0), 5u);
  EXPECT_EQ(detector_->ejectionsTotal(), 5u);
  // When the first ones return, room opens for the others.
  EXPECT_TRUE(fail(9, 5, kT0 + seconds(30)));
  EXPECT_EQ(detector_->ejectedCount(kT0 + seconds(30)), 1u);
}

TEST_F(OutlierDetectorTest, AtLeastOneButNeverTheLastEndpoint) {
  make(4);  // 10% of 4 rounds down to 0: one may still be ejected
  EXPECT_EQ(detector_->maxEjected(), 1u);
  EXPECT_TRUE(fail(0, 5, kT0));
  EXPECT_FALSE(fail(1, 5, kT0));

  make(1);
  EXPECT_EQ(detector_->maxEjected(), 0u);
  EXPECT_FALSE(fail(0, 20, kT0));

  api::OutlierDetectionSettings all;
  all.max_ejection_percent = 100;
  make(2, all);
  EXPECT_EQ(detector_->maxEjected(), 1u);
  EXPECT_TRUE(fail(0, 5, kT0));
  EXPECT_FALSE(fail(1, 5, kT0));

  api::OutlierDetectionSettings zero;  // Envoy: at least one host regardless of the percent
  zero.max_ejection_percent = 0;
  make(10, zero);
  EXPECT_EQ(detector_->maxEjected(), 1u);
  EXPECT_TRUE(fail(0, 5, kT0));
  EXPECT_FALSE(fail(1, 5, kT0));
}

TEST_F(OutlierDetectorTest, ResultsWhileEjectedAreIgnored) {
  make(2);
  ASSERT_TRUE(fail(0, 5, kT0));
  EXPECT_FALSE(fail(0, 20, kT0 + seconds(10)));
  EXPECT_EQ(states_[0].consecutive_5xx, 0u);
  EXPECT_EQ(states_[0].times_ejected, 1u);
}

TEST_F(OutlierDetectorTest, EjectionTimeIsCapped) {
  make(2);
  states_[0].times_ejected = 40;
  states_[0].healthy_since = kT0;
  ASSERT_TRUE(fail(0, 5, kT0));
  EXPECT_TRUE(states_[0].isEjected(kT0 + seconds(299)));
  EXPECT_FALSE(states_[0].isEjected(kT0 + seconds(300)));
}

}  // namespace
}  // namespace weft::balancer
