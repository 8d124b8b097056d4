#include "control/ca/holders.h"

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::control::ca {
namespace {

using std::chrono::hours;

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

}  // namespace
}  // namespace weft::control::ca
