// interception_rules.h: a re-run deletes the jumps a previous run left (however many), skipped
// subnets go to their own family's rules, and CIDRs are checked.

#include "proxy/init/interception_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::proxy::init {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(InterceptionRulesTest, ARerunDeletesThePreviousJumpsFirst) {
  InterceptionSettings s;
  s.proxy_uid = 1337;
  const std::string current =
      "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j WEFT_INBOUND\n"
      "-A PREROUTING -p tcp -j WEFT_INBOUND\n-A OUTPUT -p tcp -j WEFT_OUTPUT\n"
      "-A OUTPUT -p udp -j KUBE-SERVICES\nCOMMIT\n";
  const std::string rules = natRules(s, Family::kIPv4, current);
  EXPECT_THAT(rules, HasSubstr(":WEFT_INBOUND - [0:0]\n:WEFT_OUTPUT - [0:0]\n"
                               "-D PREROUTING -p tcp -j WEFT_INBOUND\n"
                               "-D PREROUTING -p tcp -j WEFT_INBOUND\n"
                               "-D OUTPUT -p tcp -j WEFT_OUTPUT\n"
                               "-A PREROUTING -p tcp -j WEFT_INBOUND\n"
                               "-A OUTPUT -p tcp -j WEFT_OUTPUT\n"));
  EXPECT_THAT(rules, Not(HasSubstr("KUBE")));  // other rules are not ours to touch
  EXPECT_THAT(natRules(s, Family::kIPv4, ""), Not(HasSubstr("-D ")));
}

TEST(InterceptionRulesTest, SkippedSubnetsGoToTheirFamily) {
  InterceptionSettings s;
  s.skip_subnets = {"10.0.0.0/8", "fd00::/8", "192.0.2.1"};
  const std::string v4 = natRules(s, Family::kIPv4, "");
  const std::string v6 = natRules(s, Family::kIPv6, "");
  EXPECT_THAT(v4, HasSubstr("-A WEFT_OUTPUT -d 10.0.0.0/8 -j RETURN\n"));
  EXPECT_THAT(v4, HasSubstr("-A WEFT_OUTPUT -d 192.0.2.1 -j RETURN\n"));
  EXPECT_THAT(v4, Not(HasSubstr("fd00")));
  EXPECT_THAT(v6, HasSubstr("-A WEFT_OUTPUT -d fd00::/8 -j RETURN\n"));
  EXPECT_THAT(v6, HasSubstr("-A WEFT_OUTPUT -d ::1/128 -j RETURN\n"));
  EXPECT_THAT(v6, Not(HasSubstr("10.0.0.0")));
}

TEST(InterceptionRulesTest, CidrsAreChecked) {
  EXPECT_EQ(*cidrFamily("10.0.0.0/8"), Family::kIPv4);
  EXPECT_EQ(*cidrFamily("::/0"), Family::kIPv6);
  EXPECT_FALSE(cidrFamily("10.0.0.0/33").ok());
  EXPECT_FALSE(cidrFamily("fd00::/129").ok());
  EXPECT_FALSE(cidrFamily("10.0.0.0/x").ok());
  EXPECT_THAT(std::string(cidrFamily("example.com").status().message()),
              HasSubstr("'example.com' is not an IPv4 or IPv6 address or CIDR"));
}

}  // namespace
}  // namespace weft::proxy::init
