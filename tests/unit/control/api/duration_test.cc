#include "control/api/duration.h"

#include <gtest/gtest.h>

namespace weft::api {
namespace {

TEST(DurationTest, ParsesGatewayApiDurations) {
  EXPECT_EQ(parseDuration("5s"), Duration(5000));
  EXPECT_EQ(parseDuration("500ms"), Duration(500));
  EXPECT_EQ(parseDuration("1m"), Duration(60'000));
  EXPECT_EQ(parseDuration("1h"), Duration(3'600'000));
  EXPECT_EQ(parseDuration("1h30m"), Duration(5'400'000));
  EXPECT_EQ(parseDuration("1m30s500ms"), Duration(90'500));
  EXPECT_EQ(parseDuration("1ms1m"), Duration(60'001));  // any order, as the regex allows
  EXPECT_EQ(parseDuration("0s"), Duration(0));
  EXPECT_EQ(parseDuration("00010s"), Duration(10'000));
  EXPECT_EQ(parseDuration("99999h59m59s999ms"), kMaxDuration);
}

TEST(DurationTest, RejectsEverythingElse) {
  for (const char* bad : {"", "5", "s", "ms", "1.5s", "-1s", "+1s", "1d", "1H", " 5s", "5s ",
                          "100000s", "1h1m1s1ms1h", "1us", "5m s", "99999h60m", "1sms"}) {
    EXPECT_EQ(parseDuration(bad), std::nullopt) << bad;
  }
}

TEST(DurationTest, FormatsCanonicallyAndReadsBack) {
  EXPECT_EQ(formatDuration(Duration(0)), "0s");
  EXPECT_EQ(formatDuration(Duration(5000)), "5s");
  EXPECT_EQ(formatDuration(Duration(1500)), "1s500ms");
  EXPECT_EQ(formatDuration(Duration(5'400'000)), "1h30m");
  EXPECT_EQ(formatDuration(Duration(60'001)), "1m1ms");
  EXPECT_EQ(formatDuration(kMaxDuration), "99999h59m59s999ms");
  for (int64_t ms : {1LL, 999LL, 1000LL, 61'000LL, 3'600'001LL, 86'400'000LL}) {
    EXPECT_EQ(parseDuration(formatDuration(Duration(ms))), Duration(ms)) << ms;
  }
}

}  // namespace
}  // namespace weft::api
