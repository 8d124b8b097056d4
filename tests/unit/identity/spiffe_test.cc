#include "identity/spiffe.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::identity {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string message(const absl::Status& st) { return std::string(weft::sv(st.message())); }

TEST(ParseSpiffeIdTest, WorkloadId) {
  auto id = parseSpiffeId("spiffe://cluster.local/ns/default/sa/backend");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->trust_domain, "cluster.local");
  EXPECT_EQ(id->path, "ns/default/sa/backend");
  EXPECT_EQ(id->uri(), "spiffe://cluster.local/ns/default/sa/backend");
}

TEST(ParseSpiffeIdTest, AllowedCharacters) {
  auto id = parseSpiffeId("spiffe://my-td_1.example/Path-1/with_Under.score/9");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->trust_domain, "my-td_1.example");
  EXPECT_EQ(id->path, "Path-1/with_Under.score/9");
}

TEST(ParseSpiffeIdTest, TrustDomainOnly) {
  auto id = parseSpiffeId("spiffe://cluster.local");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->trust_domain, "cluster.local");
  EXPECT_EQ(id->path, "");
}

// uri() must give back a string the parser accepts: the ID it was parsed from.
TEST(ParseSpiffeIdTest, TrustDomainOnlyUriRoundTrips) {
  auto id = parseSpiffeId("spiffe://cluster.local");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->uri(), "spiffe://cluster.local");
  EXPECT_TRUE(parseSpiffeId(id->uri()).ok()) << id->uri();
}

TEST(ParseSpiffeIdTest, RejectsUppercaseTrustDomain) {
  auto id = parseSpiffeId("spiffe://Cluster.local/ns/default/sa/web");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(id.status()), HasSubstr("trust domain has invalid character 'C'"));
}

TEST(ParseSpiffeIdTest, RejectsBadTrustDomains) {
  EXPECT_FALSE(parseSpiffeId("spiffe://").ok());
  EXPECT_FALSE(parseSpiffeId("spiffe:///ns/default").ok());
  EXPECT_FALSE(parseSpiffeId("spiffe://td:8443/ns/default").ok());  // port
  EXPECT_FALSE(parseSpiffeId("spiffe://user@td/ns/default").ok());  // userinfo
  EXPECT_FALSE(parseSpiffeId("spiffe://td?x=1").ok());              // query
}

TEST(ParseSpiffeIdTest, RejectsEmptySegments) {
  for (const char* uri : {"spiffe://td/", "spiffe://td//a", "spiffe://td/a//b", "spiffe://td/a/"}) {
    auto id = parseSpiffeId(uri);
    ASSERT_FALSE(id.ok()) << uri;
    EXPECT_THAT(message(id.status()), HasSubstr("invalid path")) << uri;
    EXPECT_THAT(message(id.status()), HasSubstr(uri));
  }
}

TEST(ParseSpiffeIdTest, RejectsDotSegments) {
  EXPECT_FALSE(parseSpiffeId("spiffe://td/ns/../sa").ok());
  EXPECT_FALSE(parseSpiffeId("spiffe://td/./ns").ok());
  EXPECT_FALSE(parseSpiffeId("spiffe://td/..").ok());
  EXPECT_TRUE(parseSpiffeId("spiffe://td/ns/..a/.b").ok());  // dots inside a segment are fine
}

TEST(ParseSpiffeIdTest, RejectsQueryFragmentAndEscapes) {
  for (const char* uri : {"spiffe://td/ns/default?x=1", "spiffe://td/ns/default#frag",
                          "spiffe://td/ns/de%41ult", "spiffe://td/ns/a b", "spiffe://td/ns/a:b"}) {
    auto id = parseSpiffeId(uri);
    ASSERT_FALSE(id.ok()) << uri;
    EXPECT_THAT(message(id.status()), HasSubstr("path has invalid character")) << uri;
  }
}

TEST(ParseSpiffeIdTest, LengthLimitIs2048Bytes) {
  std::string prefix = "spiffe://td/";
  std::string at_limit = prefix + std::string(2048 - prefix.size(), 'a');
  EXPECT_TRUE(parseSpiffeId(at_limit).ok());
  auto too_long = parseSpiffeId(at_limit + "a");
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(message(too_long.status()), HasSubstr("longer than 2048"));
}

TEST(ParseSpiffeIdTest, RejectsOtherSchemes) {
  for (const char* uri :
       {"https://td/ns/default", "SPIFFE://td/ns/default", "spiffe:/td/ns", "", "web"}) {
    auto id = parseSpiffeId(uri);
    ASSERT_FALSE(id.ok()) << uri;
    EXPECT_THAT(message(id.status()), HasSubstr("not a SPIFFE ID")) << uri;
  }
}

TEST(WorkloadIdentityTest, BuildsNsSaPath) {
  EXPECT_EQ(workloadIdentity("cluster.local", "default", "backend"),
            "spiffe://cluster.local/ns/default/sa/backend");
  auto id = parseSpiffeId(workloadIdentity("example.org", "prod", "web"));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->path, "ns/prod/sa/web");
}

class CertIdentityTest : public ::testing::Test {
 protected:
  testutil::X509Ptr cert(std::vector<std::string> uris, std::vector<std::string> dns = {}) {
    return testutil::makeCert({.uri_sans = std::move(uris), .dns_sans = std::move(dns)},
                              key_.get());
  }
  testutil::PkeyPtr key_ = testutil::makeKey();
};

TEST_F(CertIdentityTest, SingleSpiffeId) {
  auto c = cert({"spiffe://cluster.local/ns/default/sa/web"}, {"web.default.svc"});
  EXPECT_THAT(uriSans(c.get()), ElementsAre("spiffe://cluster.local/ns/default/sa/web"));
  auto id = spiffeIdOf(c.get());
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->uri(), "spiffe://cluster.local/ns/default/sa/web");
}

TEST_F(CertIdentityTest, NoSubjectAltName) {
  auto c = cert({});
  EXPECT_THAT(uriSans(c.get()), IsEmpty());
  auto id = spiffeIdOf(c.get());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(message(id.status()), HasSubstr("no URI SAN"));
}

TEST_F(CertIdentityTest, OnlyDnsSans) {
  auto c = cert({}, {"web.default.svc"});
  EXPECT_THAT(uriSans(c.get()), IsEmpty());
  EXPECT_EQ(spiffeIdOf(c.get()).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(CertIdentityTest, NonSpiffeUriIsNamed) {
  auto c = cert({"https://web.example/"});
  auto id = spiffeIdOf(c.get());
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(message(id.status()), HasSubstr("https://web.example/"));
}

TEST_F(CertIdentityTest, TwoSpiffeIdsAreRejectedAndNamed) {
  auto c = cert({"spiffe://td/ns/a/sa/x", "https://other/", "spiffe://td/ns/b/sa/y"});
  EXPECT_THAT(uriSans(c.get()),
              ElementsAre("spiffe://td/ns/a/sa/x", "https://other/", "spiffe://td/ns/b/sa/y"));
  auto id = spiffeIdOf(c.get());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(message(id.status()), HasSubstr("several SPIFFE IDs"));
  EXPECT_THAT(message(id.status()), HasSubstr("spiffe://td/ns/a/sa/x"));
  EXPECT_THAT(message(id.status()), HasSubstr("spiffe://td/ns/b/sa/y"));
}

TEST_F(CertIdentityTest, SpiffeIdPlusOtherUriIsAccepted) {
  auto c = cert({"https://web.example/", "spiffe://td/ns/a/sa/x"});
  auto id = spiffeIdOf(c.get());
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->path, "ns/a/sa/x");
}

TEST_F(CertIdentityTest, MalformedSpiffeIdIsInvalid) {
  auto c = cert({"spiffe://TD/ns/a"});
  auto id = spiffeIdOf(c.get());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace weft::identity
