// What `weftctl stat` computes without Prometheus: the exposition text the proxies serve read
// back (escapes, +Inf, timestamps; a malformed line named), histogram quantiles as Prometheus's
// histogram_quantile gives them, and which proxies a workload's stat reads.

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/cli/metrics_text.h"
#include "control/cli/stat_sources.h"

namespace weft::control::cli {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTextTest, ReadsSamplesWithLabelsEscapesAndSpecialValues) {
  auto samples = parseMetricsText(
      "# HELP request_total Total count of HTTP requests.\n"
      "# TYPE request_total counter\n"
      "request_total{direction=\"outbound\",authority=\"a\\\"b\\\\c\\nd\"} 42\n"
      "\n"
      "response_latency_ms_bucket{le=\"+Inf\"} 7 1700000000000\n"
      "process_start_time_seconds 1.7e9\n"
      "x{} NaN\n");
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 4u);
  EXPECT_EQ((*samples)[0].name, "request_total");
  EXPECT_EQ((*samples)[0].labels.at("authority"), "a\"b\\c\nd");
  EXPECT_EQ((*samples)[0].value, 42);
  EXPECT_EQ((*samples)[1].labels.at("le"), "+Inf");
  EXPECT_EQ((*samples)[1].value, 7);
  EXPECT_EQ((*samples)[2].value, 1.7e9);
  EXPECT_TRUE(std::isnan((*samples)[3].value));
}

TEST(MetricsTextTest, AMalformedLineIsNamed) {
  for (const char* bad : {"request_total{a=\"1\" 3\n", "request_total{a=1} 3\n",
                          "request_total 3x\n", "{a=\"1\"} 3\n", "request_total\n"}) {
    auto samples = parseMetricsText(std::string("ok 1\n") + bad);
    ASSERT_FALSE(samples.ok()) << bad;
    EXPECT_THAT(samples.status().message(), HasSubstr("metrics line 2 is malformed")) << bad;
  }
}

TEST(HistogramQuantileTest, InterpolatesWithinTheBucketAsPrometheusDoes) {
  // 100 observations: 50 under 10, 40 in (10, 20], 10 in (20, 50].
  const std::vector<std::pair<double, double>> b = {{10, 50}, {20, 90}, {50, 100}, {INFINITY, 100}};
  EXPECT_DOUBLE_EQ(histogramQuantile(0.5, b), 10);
  EXPECT_DOUBLE_EQ(histogramQuantile(0.25, b), 5);
  EXPECT_DOUBLE_EQ(histogramQuantile(0.7, b), 15);
  EXPECT_DOUBLE_EQ(histogramQuantile(0.95, b), 35);
  EXPECT_TRUE(std::isnan(histogramQuantile(0.5, {{10, 0}, {INFINITY, 0}})));
  // Past the last finite bound: that bound (Prometheus's answer too).
  EXPECT_DOUBLE_EQ(histogramQuantile(0.99, {{10, 1}, {INFINITY, 100}}), 10);
}

TEST(ProxyAdminsTest, AWorkloadReadsOnlyItsOwnProxies) {
  const std::string listed = R"({"proxies": [
    {"service": "web", "namespace": "default", "labels": {"app": "web"}, "admin": "10.0.0.1:15020"},
    {"service": "reviews", "namespace": "default", "labels": {"app": "web"}, "admin": "10.0.0.2:15020"},
    {"service": "web", "namespace": "shop", "labels": {}, "admin": "10.0.0.3:15020"},
    {"service": "web", "namespace": "default", "labels": {}}]})";
  auto deploy = statTargetOf({"stat", "deploy/web"}, "default");
  ASSERT_TRUE(deploy.ok());
  EXPECT_EQ(proxyAdmins(listed, *deploy),
            (std::vector<std::string>{"10.0.0.1:15020", "10.0.0.2:15020"}));
  auto service = statTargetOf({"stat", "service", "reviews"}, "default");
  ASSERT_TRUE(service.ok());
  EXPECT_EQ(proxyAdmins(listed, *service).size(), 3u);
  EXPECT_TRUE(proxyAdmins("not json", *service).empty());
}

}  // namespace
}  // namespace weft::control::cli
