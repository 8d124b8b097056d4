#include "proxy/pipeline/retry_policy.h"

#include <gtest/gtest.h>

namespace weft::pipeline {
namespace {

using namespace std::chrono_literals;
using api::RetryOn;

api::RetryPolicy policy(std::vector<RetryOn> on, std::vector<unsigned> statuses = {}) {
  api::RetryPolicy p;
  p.attempts = 2;
  p.on = std::move(on);
  p.statuses = std::move(statuses);
  return p;
}

TryResult response(unsigned status) { return {TryFailure::kNone, status}; }

http::RequestHead request(std::string method, std::optional<uint64_t> body_length = std::nullopt,
                          bool body = false) {
  http::RequestHead r;
  r.method = std::move(method);
  r.body.present = body || body_length.has_value();
  r.body.length = body_length;
  return r;
}

TEST(RetryPolicyTest, ConnectFailureWhenAskedOrCoveredBy5xx) {
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kConnectFailure}), {TryFailure::kConnect, 0}));
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::k5xx}), {TryFailure::kConnect, 0}));
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kGatewayError}), {TryFailure::kConnect, 0}));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kReset}), {TryFailure::kConnect, 0}));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kStatus}, {503}), {TryFailure::kConnect, 0}));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kConnectFailure}), response(503)));
}

TEST(RetryPolicyTest, StatusClasses) {
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::k5xx}), response(500)));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::k5xx}), response(404)));
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kGatewayError}), response(502)));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kGatewayError}), response(500)));
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kStatus}, {503}), response(503)));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kStatus}, {503}), response(502)));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::k5xx}), response(200)));
}

TEST(RetryPolicyTest, TimeoutCountsAs504AndResetIsItsOwnCondition) {
  const TryResult timeout{TryFailure::kTimeout, 0};
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kGatewayError}), timeout));
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kStatus}, {504}), timeout));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kConnectFailure}), timeout));
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kReset}), timeout));
  const TryResult reset{TryFailure::kReset, 0};
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kReset}), reset));
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::k5xx}), reset));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kConnectFailure}), reset));
}

TEST(RetryPolicyTest, RefusedStreamWhenAskedOrCoveredByResetAnd5xx) {
  const TryResult refused{TryFailure::kRefused, 0};
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kRefusedStream}), refused));
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::kReset}), refused));
  EXPECT_TRUE(retryOnMatches(policy({RetryOn::k5xx}), refused));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kConnectFailure}), refused));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kRefusedStream}), {TryFailure::kReset, 0}));
  EXPECT_FALSE(retryOnMatches(policy({RetryOn::kRefusedStream}), response(503)));
  // never processed: a POST may go again
  EXPECT_TRUE(safeToResend(request("POST", 10), false, refused));
}

TEST(RetryPolicyTest, NotYetSentIsSafeUnlessTheBodyIsKnownToBeLarge) {
  EXPECT_TRUE(safeToResend(request("POST", std::nullopt, true), false, {TryFailure::kConnect, 0}));
  EXPECT_TRUE(safeToResend(request("POST", 100), false, {TryFailure::kConnect, 0}));
  EXPECT_FALSE(
      safeToResend(request("PUT", kMaxReplayableBody + 1), false, {TryFailure::kConnect, 0}));
}

TEST(RetryPolicyTest, SentRequestsOnlyWhenIdempotentWithReplayableBody) {
  EXPECT_TRUE(safeToResend(request("GET"), true, response(503)));
  EXPECT_TRUE(safeToResend(request("PUT", 10), true, response(503)));
  EXPECT_FALSE(safeToResend(request("POST", 10), true, response(503)));
  EXPECT_FALSE(safeToResend(request("PUT", 10), false, response(503)));
  EXPECT_FALSE(safeToResend(request("PATCH"), true, {TryFailure::kReset, 0}));
}

TEST(RetryPolicyTest, ReplayableBodiesAreSmallAndOfKnownLength) {
  EXPECT_TRUE(bodyReplayable(request("GET")));
  EXPECT_TRUE(bodyReplayable(request("PUT", kMaxReplayableBody)));
  EXPECT_FALSE(bodyReplayable(request("PUT", kMaxReplayableBody + 1)));
  EXPECT_FALSE(bodyReplayable(request("PUT", std::nullopt, /*chunked body*/ true)));
}

TEST(RetryPolicyTest, TryDeadlineIsTheSoonerOfPerTryAndRequest) {
  const auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  api::RouteRule rule;
  EXPECT_FALSE(tryDeadline(&rule, t0, std::nullopt));
  EXPECT_EQ(tryDeadline(&rule, t0, t0 + 5s), t0 + 5s);
  rule.timeouts.backend_request = 2s;
  EXPECT_EQ(tryDeadline(&rule, t0, t0 + 5s), t0 + 2s);
  rule.retry = policy({RetryOn::k5xx});
  rule.retry->per_try_timeout = 1s;  // overrides backendRequest
  EXPECT_EQ(tryDeadline(&rule, t0, t0 + 5s), t0 + 1s);
  EXPECT_EQ(tryDeadline(&rule, t0 + 4500ms, t0 + 5s), t0 + 5s);
  EXPECT_EQ(tryDeadline(nullptr, t0, std::nullopt), std::nullopt);
}

TEST(RetryPolicyTest, IdempotentMethods) {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    EXPECT_TRUE(isIdempotent(m)) << m;
  }
  for (const char* m : {"POST", "PATCH", "CONNECT", "get"}) EXPECT_FALSE(isIdempotent(m)) << m;
}

}  // namespace
}  // namespace weft::pipeline
