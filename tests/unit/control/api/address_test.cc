#include "control/api/address.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"

namespace weft::api {
namespace {

using ::testing::HasSubstr;

std::string errorOf(std::string_view text) {
  auto hp = parseHostPort(text);
  if (hp.ok()) return "";
  EXPECT_EQ(hp.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(weft::sv(hp.status().message()));
}

TEST(ParseHostPortTest, Ipv4) {
  auto hp = parseHostPort("127.0.0.1:15106");
  ASSERT_TRUE(hp.ok()) << hp.status();
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 15106);
}

TEST(ParseHostPortTest, PortBounds) {
  auto low = parseHostPort("0.0.0.0:0");
  ASSERT_TRUE(low.ok());
  EXPECT_EQ(low->port, 0);
  auto high = parseHostPort("10.1.2.3:65535");
  ASSERT_TRUE(high.ok());
  EXPECT_EQ(high->port, 65535);
}

TEST(ParseHostPortTest, BracketedIpv6) {
  auto loopback = parseHostPort("[::1]:8080");
  ASSERT_TRUE(loopback.ok()) << loopback.status();
  EXPECT_EQ(loopback->host, "::1");
  EXPECT_EQ(loopback->port, 8080);
  auto full = parseHostPort("[fd00:1:2::abcd]:443");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->host, "fd00:1:2::abcd");
  EXPECT_EQ(full->port, 443);
  auto spelled = parseHostPort("[FD00:1:2:0:0::ABCD]:443");  // kept canonical
  ASSERT_TRUE(spelled.ok()) << spelled.status();
  EXPECT_EQ(spelled->host, "fd00:1:2::abcd");
}

TEST(ParseHostPortTest, NoPort) {
  EXPECT_THAT(errorOf("127.0.0.1"), HasSubstr("has no port"));
  EXPECT_THAT(errorOf("[::1]"), HasSubstr("is not [ipv6]:port"));
  EXPECT_THAT(errorOf("[::1]8080"), HasSubstr("is not [ipv6]:port"));
  EXPECT_THAT(errorOf("[::1:8080"), HasSubstr("is not [ipv6]:port"));
  EXPECT_THAT(errorOf(""), HasSubstr("has no port"));
}

TEST(ParseHostPortTest, BadPort) {
  for (const char* text :
       {"127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:http", "127.0.0.1:-1", "127.0.0.1:+80",
        "127.0.0.1: 80", "[::1]:", "[::1]:99999", "127.0.0.1:4294967376"}) {
    std::string err = errorOf(text);
    EXPECT_THAT(err, HasSubstr("invalid port")) << text;
    EXPECT_THAT(err, HasSubstr(text)) << text;
  }
}

TEST(ParseHostPortTest, HostnameRejected) {
  EXPECT_THAT(errorOf("localhost:80"), HasSubstr("host must be an IP address"));
  EXPECT_THAT(errorOf("backend.default.svc:8080"), HasSubstr("host must be an IP address"));
  EXPECT_THAT(errorOf("[backend]:80"), HasSubstr("host must be an IP address"));
  EXPECT_THAT(errorOf(":80"), HasSubstr("host must be an IP address"));
  EXPECT_THAT(errorOf("256.0.0.1:80"), HasSubstr("host must be an IP address"));
  EXPECT_THAT(errorOf("1.2.3:80"), HasSubstr("host must be an IP address"));
}

TEST(CanonicalIpTest, OneSpellingPerAddress) {
  EXPECT_EQ(canonicalIp("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(canonicalIp("0:0::1"), "::1");
  EXPECT_EQ(canonicalIp("FD00:0000::0A"), "fd00::a");
  EXPECT_EQ(canonicalIp("10.0.0"), "");
  EXPECT_EQ(canonicalIp("reviews"), "");
  EXPECT_EQ(addressKey("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ(addressKey("fd00::a", 80), "[fd00::a]:80");
}

}  // namespace
}  // namespace weft::api
