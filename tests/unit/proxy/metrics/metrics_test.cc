// The golden metrics as Prometheus scrapes them (Metrics::serialize): names and labels of a
// request's series, the failure classification, and the per-worker cap on client-chosen
// authorities.

#include "proxy/metrics/metrics.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"

namespace weft::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RequestLabels outbound(std::string_view authority) {
  RequestLabels l;
  l.authority = authority;
  l.dst_service = "reviews.default";
  l.route = "reviews";
  l.dst_subset = "v2";
  l.tls = true;
  return l;
}

TEST(MetricsTest, ARequestAndItsResponseAsScraped) {
  Metrics metrics;
  WorkerMetrics worker(metrics);
  TargetMetrics& t = worker.target(outbound("reviews:9080"));
  t.recordRequest();
  t.recordResponse(503, true, std::chrono::milliseconds(7));
  const std::string text = metrics.serialize();
  EXPECT_THAT(text, HasSubstr("request_total{authority=\"reviews:9080\",direction=\"outbound\","
                              "dst_service=\"reviews.default\",dst_subset=\"v2\",route=\"reviews\","
                              "tls=\"true\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("response_total{authority=\"reviews:9080\",classification=\"failure\","
                        "direction=\"outbound\",dst_service=\"reviews.default\","
                        "dst_subset=\"v2\",route=\"reviews\",status_code=\"503\","
                        "tls=\"true\"} 1"));
  EXPECT_THAT(text, HasSubstr("response_latency_ms_count{authority=\"reviews:9080\","));
}

TEST(MetricsTest, InboundSeriesHaveNoRouteOrSubset) {
  Metrics metrics;
  WorkerMetrics worker(metrics);
  RequestLabels l = outbound("backend");
  l.inbound = true;
  worker.target(l).recordRequest();
  const std::string text = metrics.serialize();
  EXPECT_THAT(text, HasSubstr("request_total{authority=\"backend\",direction=\"inbound\","
                              "dst_service=\"reviews.default\",tls=\"true\"} 1"));
}

TEST(MetricsTest, GrpcStatusDecidesAndIsLabelled) {
  Metrics metrics;
  WorkerMetrics worker(metrics);
  worker.target(outbound("greeter")).recordResponse(200, true, {}, 14);
  EXPECT_THAT(metrics.serialize(),
              HasSubstr("classification=\"failure\",direction=\"outbound\","
                        "dst_service=\"reviews.default\",dst_subset=\"v2\",grpc_status=\"14\","));
}

TEST(MetricsTest, AuthoritiesBeyond256PerWorkerShareOneOverflowSeries) {
  Metrics metrics;
  WorkerMetrics worker(metrics);
  for (int i = 0; i < 300; ++i) worker.target(outbound(weft::strCat("host-", i))).recordRequest();
  EXPECT_EQ(worker.size(), 257u);  // 256 authorities and "overflow"
  const std::string text = metrics.serialize();
  EXPECT_THAT(text, HasSubstr("request_total{authority=\"host-255\","));
  EXPECT_THAT(text, Not(HasSubstr("authority=\"host-256\"")));
  EXPECT_THAT(text, HasSubstr("request_total{authority=\"overflow\",direction=\"outbound\","
                              "dst_service=\"reviews.default\",dst_subset=\"v2\","
                              "route=\"reviews\",tls=\"true\"} 44"));
  // A known authority keeps its own series after the cap is reached.
  worker.target(outbound("host-0")).recordRequest();
  EXPECT_THAT(metrics.serialize(),
              HasSubstr("request_total{authority=\"host-0\",direction="
                        "\"outbound\",dst_service=\"reviews.default\","
                        "dst_subset=\"v2\",route=\"reviews\",tls=\"true\"} 2"));
}

TEST(MetricsTest, RetiredTargetsLeaveTheScrape) {
  Metrics metrics;
  WorkerMetrics worker(metrics);
  worker.target(outbound("gone")).recordRequest();
  worker.target(outbound("kept")).recordRequest();
  auto retired =
      worker.retire([](const prometheus::Labels& l) { return l.at("authority") == "gone"; });
  ASSERT_EQ(retired.size(), 1u);
  retired.clear();
  const std::string text = metrics.serialize();
  EXPECT_THAT(text, Not(HasSubstr("authority=\"gone\"")));
  EXPECT_THAT(text, HasSubstr("authority=\"kept\""));
}

}  // namespace
}  // namespace weft::metrics
