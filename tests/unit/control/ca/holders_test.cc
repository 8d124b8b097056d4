#include "control/ca/holders.h"

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::control::ca {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::chrono::system_clock::time_point kNow =
    std::chrono::system_clock::from_time_t(1800000000);

Holding holding(const std::string& identity, const std::string& serial,
                std::chrono::system_clock::time_point not_after) {
  return {.identity = identity,
          .serial = serial,
          .issuer_fingerprint = "AA:BB",
          .peer = "10.0.0.1:5000",
          .issued_at = kNow,
          .not_after = not_after};
}

TEST(HoldersTest, ListsByIdentityThenSerial) {
  Holders holders;
  holders.record("k1", holding("spiffe://td/ns/b/sa/x", "02", kNow + hours(1)));
  holders.record("k2", holding("spiffe://td/ns/a/sa/x", "09", kNow + hours(1)));
  holders.record("k3", holding("spiffe://td/ns/b/sa/x", "01", kNow + hours(1)));
  auto current = holders.current(kNow);
  ASSERT_EQ(current.size(), 3u);
  EXPECT_EQ(current[0].serial, "09");
  EXPECT_EQ(current[1].serial, "01");
  EXPECT_EQ(current[2].serial, "02");
  EXPECT_EQ(current[0].peer, "10.0.0.1:5000");
}

TEST(HoldersTest, ARenewalReplacesTheKeysEntry) {
  Holders holders;
  holders.record("k1", holding("spiffe://td/ns/a/sa/x", "01", kNow + hours(1)));
  holders.record("k1", holding("spiffe://td/ns/a/sa/x", "02", kNow + hours(2)));
  auto current = holders.current(kNow);
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0].serial, "02");
}

TEST(HoldersTest, DropsExpiredHoldings) {
  Holders holders;
  holders.record("k1", holding("spiffe://td/ns/a/sa/x", "01", kNow + hours(1)));
  holders.record("k2", holding("spiffe://td/ns/a/sa/y", "02", kNow + hours(3)));
  EXPECT_EQ(holders.current(kNow).size(), 2u);
  auto later = holders.current(kNow + hours(1));  // k1's last second is over
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].serial, "02");
  // Dropped for good, not hidden.
  EXPECT_EQ(holders.current(kNow).size(), 1u);
}

TEST(HoldersTest, JsonRoundTripKeepsEveryField) {
  Holders holders;
  holders.record("key-a", {.identity = "spiffe://td/ns/a/sa/x",
                           .serial = "7f01",
                           .issuer_fingerprint = "AA:BB:CC",
                           .peer = "10.0.0.1:5000",
                           .issued_at = kNow + milliseconds(250),
                           .not_after = kNow + hours(24) + milliseconds(999),
                           .bundle_version = 3});
  holders.record("key-b", {.identity = "spiffe://td/ns/b/sa/y",
                           .serial = "02",
                           .issuer_fingerprint = "DD:EE",
                           .peer = "[::1]:6000",
                           .issued_at = kNow - hours(1),
                           .not_after = kNow + hours(2),
                           .bundle_version = 0});
  Holders loaded;
  loaded.loadJson(holders.toJson());
  auto current = loaded.current(kNow);
  ASSERT_EQ(current.size(), 2u);
  const Holding& a = current[0];
  EXPECT_EQ(a.identity, "spiffe://td/ns/a/sa/x");
  EXPECT_EQ(a.serial, "7f01");
  EXPECT_EQ(a.issuer_fingerprint, "AA:BB:CC");
  EXPECT_EQ(a.peer, "10.0.0.1:5000");
  EXPECT_EQ(a.issued_at, kNow);  // to the second
  EXPECT_EQ(a.not_after, kNow + hours(24));
  EXPECT_EQ(a.bundle_version, 3u);
  const Holding& b = current[1];
  EXPECT_EQ(b.identity, "spiffe://td/ns/b/sa/y");
  EXPECT_EQ(b.serial, "02");
  EXPECT_EQ(b.issuer_fingerprint, "DD:EE");
  EXPECT_EQ(b.peer, "[::1]:6000");
  EXPECT_EQ(b.issued_at, kNow - hours(1));
  EXPECT_EQ(b.not_after, kNow + hours(2));
  EXPECT_EQ(b.bundle_version, 0u);

  // The keys survive too: a renewal after a restart replaces the entry instead of adding one.
  loaded.record("key-a", holding("spiffe://td/ns/a/sa/x", "7f02", kNow + hours(48)));
  current = loaded.current(kNow);
  ASSERT_EQ(current.size(), 2u);
  EXPECT_EQ(current[0].serial, "7f02");
  // And a second round trip gives the same text.
  Holders again;
  again.loadJson(loaded.toJson());
  EXPECT_EQ(again.toJson(), loaded.toJson());
}

TEST(HoldersTest, EmptyHoldersRoundTrip) {
  Holders holders;
  Holders loaded;
  loaded.loadJson(holders.toJson());
  EXPECT_TRUE(loaded.current(kNow).empty());
}

TEST(HoldersTest, LoadJsonSkipsWhatDoesNotParse) {
  for (const char* text : {"", "garbage", "{", "[1, 2]", "42", "null", "\"text\"", R"({"k": 5})",
                           R"({"k": [1]})", R"({"k": null})"}) {
    SCOPED_TRACE(text);
    Holders holders;
    holders.loadJson(text);
    EXPECT_TRUE(holders.current(kNow).empty());
  }
}

TEST(HoldersTest, LoadJsonSkipsBadEntriesAndKeepsTheRest) {
  const int64_t later = std::chrono::system_clock::to_time_t(kNow + hours(1));
  nlohmann::json doc = {
      {"good", {{"identity", "spiffe://td/ns/a/sa/x"}, {"serial", "01"}, {"notAfter", later}}},
      {"no-not-after", {{"identity", "spiffe://td/ns/b/sa/x"}, {"serial", "02"}}},
      {"string-not-after",
       {{"identity", "spiffe://td/ns/c/sa/x"}, {"serial", "03"}, {"notAfter", "tomorrow"}}},
      {"no-identity", {{"serial", "04"}, {"notAfter", later}}},
      {"number-identity", {{"identity", 5}, {"serial", "05"}, {"notAfter", later}}},
      {"number-serial",
       {{"identity", "spiffe://td/ns/d/sa/x"}, {"serial", 6}, {"notAfter", later}}},
      {"string-version",
       {{"identity", "spiffe://td/ns/e/sa/x"}, {"notAfter", later}, {"bundleVersion", "2"}}},
      {"not-an-object", "spiffe://td/ns/f/sa/x"},
  };
  Holders holders;
  holders.loadJson(doc.dump());
  auto current = holders.current(kNow);
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0].identity, "spiffe://td/ns/a/sa/x");
  EXPECT_EQ(current[0].serial, "01");
  // Missing optional fields read as empty.
  EXPECT_EQ(current[0].peer, "");
  EXPECT_EQ(current[0].bundle_version, 0u);
}

TEST(HoldersTest, ExpiredEntriesLoadedFromDiskAreDropped) {
  Holders holders;
  holders.record("k1", holding("spiffe://td/ns/a/sa/x", "01", kNow - seconds(1)));
  holders.record("k2", holding("spiffe://td/ns/a/sa/y", "02", kNow + seconds(1)));
  Holders loaded;
  loaded.loadJson(holders.toJson());
  auto current = loaded.current(kNow);
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0].serial, "02");
  EXPECT_TRUE(loaded.current(kNow + seconds(1)).empty());
}

TEST(HoldersTest, SortsByIdentityThenSerialAfterDroppingExpired) {
  Holders holders;
  holders.record("k1", holding("spiffe://td/ns/c/sa/x", "01", kNow + hours(2)));
  holders.record("k2", holding("spiffe://td/ns/a/sa/x", "0b", kNow + hours(2)));
  holders.record("k3", holding("spiffe://td/ns/b/sa/x", "01", kNow - hours(1)));
  holders.record("k4", holding("spiffe://td/ns/a/sa/x", "0a", kNow + hours(2)));
  auto current = holders.current(kNow);
  ASSERT_EQ(current.size(), 3u);
  EXPECT_EQ(current[0].identity, "spiffe://td/ns/a/sa/x");
  EXPECT_EQ(current[0].serial, "0a");
  EXPECT_EQ(current[1].identity, "spiffe://td/ns/a/sa/x");
  EXPECT_EQ(current[1].serial, "0b");
  EXPECT_EQ(current[2].identity, "spiffe://td/ns/c/sa/x");
}

TEST(HoldersTest, RecordWithTheSameKeyReplacesEveryField) {
  Holders holders;
  holders.record("k1", holding("spiffe://td/ns/a/sa/x", "01", kNow + hours(1)));
  Holding renewed = holding("spiffe://td/ns/a/sa/x", "02", kNow + hours(5));
  renewed.issuer_fingerprint = "CC:DD";
  renewed.peer = "10.0.0.2:6000";
  renewed.bundle_version = 2;
  holders.record("k1", renewed);
  holders.record("k2", holding("spiffe://td/ns/a/sa/x", "03", kNow + hours(1)));
  auto current = holders.current(kNow);
  ASSERT_EQ(current.size(), 2u);
  EXPECT_EQ(current[0].serial, "02");
  EXPECT_EQ(current[0].issuer_fingerprint, "CC:DD");
  EXPECT_EQ(current[0].peer, "10.0.0.2:6000");
  EXPECT_EQ(current[0].bundle_version, 2u);
  EXPECT_EQ(current[0].not_after, kNow + hours(5));
  EXPECT_EQ(current[1].serial, "03");
}

}  // namespace
}  // namespace weft::control::ca
