#include "control/auth/join_tokens.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/auth/jws.h"
#include "control/ca/refusal.h"
#include "identity/x509.h"
#include "runtime/atomic_file.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::control::auth {
namespace {

using identity::PkeyPtr;
using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr char kIdentity[] = "spiffe://example.org/ns/default/sa/web";

std::string message(const absl::Status& st) { return std::string(st.message()); }

// The same key, through its PEM: a second holder of the signing key.
PkeyPtr copyOf(EVP_PKEY* key) {
  auto parsed = identity::parsePrivateKey(identity::privateKeyPem(key));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? std::move(*parsed) : nullptr;
}

std::vector<std::string> partsOf(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

class JoinTokensTest : public ::testing::Test {
 protected:
  std::string create(std::string_view ns = "default", std::string_view sa = "web",
                     std::chrono::seconds ttl = hours(1)) {
    auto created = tokens_.create(ns, sa, ttl, now_);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->token : std::string();
  }

  void expectRefused(std::string_view token, const std::string& reason,
                     std::chrono::system_clock::time_point at) {
    auto id = tokens_.verify(token, at);
    ASSERT_FALSE(id.ok()) << "accepted " << token.substr(0, 60);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(reasonOf(id.status()), reason) << id.status();
  }
  void expectRefused(std::string_view token, const std::string& reason) {
    expectRefused(token, reason, now_);
  }

  // header.claims signed with `key` (this control plane's, by default), header fields as given.
  std::string sign(const nlohmann::json& header, const nlohmann::json& claims) {
    return signEdDsa(header, claims, key_.get());
  }
  nlohmann::json goodClaims() const {
    return {{"iss", "weft-control"},
            {"aud", "weft.dev/join"},
            {"sub", kIdentity},
            {"ns", "default"},
            {"sa", "web"},
            {"iat", std::chrono::system_clock::to_time_t(now_)},
            {"exp", std::chrono::system_clock::to_time_t(now_ + hours(1))},
            {"jti", "x"}};
  }

  const std::chrono::system_clock::time_point now_ =
      std::chrono::system_clock::from_time_t(1800000000);
  PkeyPtr key_ = identity::generateKey("ED25519");
  JoinTokens tokens_{copyOf(key_.get()), "example.org"};
};

TEST_F(JoinTokensTest, CreateThenVerifyRoundTrips) {
  auto created = tokens_.create("default", "web", hours(1), now_);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->identity, kIdentity);
  EXPECT_EQ(created->expires, now_ + hours(1));

  auto id = tokens_.verify(created->token, now_);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->identity, kIdentity);
  EXPECT_EQ(id->ns, "default");
  EXPECT_EQ(id->service_account, "web");
  EXPECT_EQ(id->expires, now_ + hours(1));
  EXPECT_EQ(id->kind, "join");
}

TEST_F(JoinTokensTest, ServiceAccountWithDots) {
  auto created = tokens_.create("team-a", "api.v2", hours(1), now_);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->identity, "spiffe://example.org/ns/team-a/sa/api.v2");
  auto id = tokens_.verify(created->token, now_);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->service_account, "api.v2");
}

TEST_F(JoinTokensTest, TokensCarryTheDocumentedHeaderAndClaims) {
  auto jws = parseJws(create());
  ASSERT_TRUE(jws.ok()) << jws.status();
  EXPECT_EQ(jws->header.value("alg", ""), "EdDSA");
  EXPECT_EQ(jws->header.value("typ", ""), "JWT");
  EXPECT_EQ(jws->header.value("kid", ""), tokens_.keyId());
  EXPECT_EQ(jws->claims.value("iss", ""), "weft-control");
  EXPECT_EQ(jws->claims.value("aud", ""), "weft.dev/join");
  EXPECT_EQ(jws->claims.value("sub", ""), kIdentity);
  EXPECT_EQ(jws->claims.value("exp", int64_t{0}),
            std::chrono::system_clock::to_time_t(now_ + hours(1)));
}

TEST_F(JoinTokensTest, EachTokenIsDifferent) { EXPECT_NE(create(), create()); }

TEST_F(JoinTokensTest, ValidUntilItsExpiry) {
  const std::string token = create("default", "web", hours(1));
  EXPECT_TRUE(tokens_.verify(token, now_ + hours(1) - seconds(1)).ok());
  expectRefused(token, "token_expired", now_ + hours(1));
  expectRefused(token, "token_expired", now_ + hours(2));
}

TEST_F(JoinTokensTest, TamperedPayloadIsRefused) {
  const std::vector<std::string> parts = partsOf(create());
  ASSERT_EQ(parts.size(), 3u);
  auto jws = parseJws(parts[0] + "." + parts[1] + "." + parts[2]);
  ASSERT_TRUE(jws.ok()) << jws.status();
  nlohmann::json claims = jws->claims;
  claims["sa"] = "admin";
  claims["sub"] = "spiffe://example.org/ns/default/sa/admin";
  expectRefused(parts[0] + "." + base64Url(claims.dump()) + "." + parts[2], "token_signature");

  nlohmann::json longer = jws->claims;
  longer["exp"] = longer["exp"].get<int64_t>() + 365 * 24 * 3600;
  expectRefused(parts[0] + "." + base64Url(longer.dump()) + "." + parts[2], "token_signature");
}

TEST_F(JoinTokensTest, TamperedSignatureIsRefused) {
  std::vector<std::string> parts = partsOf(create());
  ASSERT_EQ(parts.size(), 3u);
  parts[2][5] = parts[2][5] == 'A' ? 'B' : 'A';
  expectRefused(parts[0] + "." + parts[1] + "." + parts[2], "token_signature");
}

TEST_F(JoinTokensTest, TokenOfAnotherControlPlaneIsRefused) {
  JoinTokens other(identity::generateKey("ED25519"), "example.org");
  auto created = other.create("default", "web", hours(1), now_);
  ASSERT_TRUE(created.ok()) << created.status();
  expectRefused(created->token, "token_signature");
  EXPECT_NE(other.keyId(), tokens_.keyId());
}

TEST_F(JoinTokensTest, AnotherKeyClaimingOurKidIsRefused) {
  PkeyPtr other = identity::generateKey("ED25519");
  const std::string token =
      signEdDsa({{"typ", "JWT"}, {"kid", tokens_.keyId()}}, goodClaims(), other.get());
  expectRefused(token, "token_signature");
}

TEST_F(JoinTokensTest, SameKeyOtherTrustDomainIsRefused) {
  JoinTokens elsewhere(copyOf(key_.get()), "other.org");
  EXPECT_EQ(elsewhere.keyId(), tokens_.keyId());
  auto created = elsewhere.create("default", "web", hours(1), now_);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->identity, "spiffe://other.org/ns/default/sa/web");
  auto id = tokens_.verify(created->token, now_);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(reasonOf(id.status()), "wrong_trust_domain");
  EXPECT_THAT(message(id.status()), HasSubstr("other.org"));
}

TEST_F(JoinTokensTest, MalformedTokensAreRefused) {
  expectRefused("garbage", "malformed_token");
  expectRefused("", "malformed_token");
  const std::vector<std::string> parts = partsOf(create());
  expectRefused(parts[0] + "." + parts[1], "malformed_token");
  std::string huge = create();
  huge.append(kMaxTokenBytes, 'A');
  expectRefused(huge, "malformed_token");
}

TEST_F(JoinTokensTest, AlgNoneIsRefused) {
  const std::vector<std::string> parts = partsOf(create());
  const std::string none =
      base64Url(nlohmann::json{{"alg", "none"}, {"typ", "JWT"}, {"kid", tokens_.keyId()}}.dump());
  expectRefused(none + "." + parts[1] + ".", "token_signature");
  expectRefused(none + "." + parts[1] + "." + parts[2], "token_signature");
}

TEST_F(JoinTokensTest, OtherAlgorithmsAreRefused) {
  const std::vector<std::string> parts = partsOf(create());
  for (const char* alg : {"HS256", "RS256", "ES256"}) {
    const std::string header =
        base64Url(nlohmann::json{{"alg", alg}, {"typ", "JWT"}, {"kid", tokens_.keyId()}}.dump());
    expectRefused(header + "." + parts[1] + "." + parts[2], "token_signature");
  }
}

TEST_F(JoinTokensTest, NonStringHeaderFieldsAreRefusedNotThrown) {
  const std::vector<std::string> parts = partsOf(create());
  const std::string alg_number =
      base64Url(nlohmann::json{{"alg", 5}, {"kid", tokens_.keyId()}}.dump());
  expectRefused(alg_number + "." + parts[1] + "." + parts[2], "token_signature");
  const std::string kid_object =
      base64Url(nlohmann::json{{"alg", "EdDSA"}, {"kid", {{"k", 1}}}}.dump());
  expectRefused(kid_object + "." + parts[1] + "." + parts[2], "token_signature");
}

TEST_F(JoinTokensTest, WrongAudienceOrIssuerIsRefused) {
  const nlohmann::json header = {{"typ", "JWT"}, {"kid", tokens_.keyId()}};
  nlohmann::json claims = goodClaims();
  ASSERT_TRUE(tokens_.verify(sign(header, claims), now_).ok());
  claims["aud"] = "kubernetes.default.svc";
  expectRefused(sign(header, claims), "wrong_audience");
  claims = goodClaims();
  claims["iss"] = "someone-else";
  expectRefused(sign(header, claims), "wrong_audience");
}

TEST_F(JoinTokensTest, SignedButIncoherentClaimsAreMalformed) {
  const nlohmann::json header = {{"typ", "JWT"}, {"kid", tokens_.keyId()}};
  nlohmann::json claims = goodClaims();
  claims.erase("exp");
  expectRefused(sign(header, claims), "malformed_token");

  claims = goodClaims();
  claims["exp"] = "tomorrow";
  expectRefused(sign(header, claims), "malformed_token");

  claims = goodClaims();
  claims["sa"] = "admin";  // sub still says web
  expectRefused(sign(header, claims), "malformed_token");

  claims = goodClaims();
  claims["sub"] = "https://example.org/";
  expectRefused(sign(header, claims), "malformed_token");
}

TEST_F(JoinTokensTest, CreateRefusesABadNamespace) {
  auto created = tokens_.create("Web!", "web", hours(1), now_);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(created.status()), StartsWith("namespace: 'Web!'"));
}

TEST_F(JoinTokensTest, CreateRefusesABadServiceAccount) {
  for (const char* sa : {"", "Web", "web_1", "a..b", "-web", "web/x"}) {
    auto created = tokens_.create("default", sa, hours(1), now_);
    ASSERT_FALSE(created.ok()) << sa;
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(message(created.status()), StartsWith("serviceAccount:")) << sa;
  }
}

TEST_F(JoinTokensTest, CreateRefusesATtlOutsideOneSecondToAYear) {
  for (seconds ttl : {seconds(0), seconds(-5), kMaxJoinTokenTtl + seconds(1)}) {
    auto created = tokens_.create("default", "web", ttl, now_);
    ASSERT_FALSE(created.ok()) << ttl.count();
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(message(created.status()), StartsWith("ttl:"));
  }
  EXPECT_TRUE(tokens_.create("default", "web", seconds(1), now_).ok());
  EXPECT_TRUE(tokens_.create("default", "web", kMaxJoinTokenTtl, now_).ok());
}

TEST_F(JoinTokensTest, KeyIdIsSixteenHexDigits) {
  EXPECT_THAT(tokens_.keyId(), MatchesRegex("[0-9a-f]{16}"));
}

TEST(Dns1123Test, Labels) {
  EXPECT_TRUE(isDns1123Label("a"));
  EXPECT_TRUE(isDns1123Label("default"));
  EXPECT_TRUE(isDns1123Label("kube-system"));
  EXPECT_TRUE(isDns1123Label("0abc9"));
  EXPECT_TRUE(isDns1123Label(std::string(63, 'a')));
  EXPECT_FALSE(isDns1123Label(std::string(64, 'a')));
  EXPECT_FALSE(isDns1123Label(""));
  EXPECT_FALSE(isDns1123Label("-a"));
  EXPECT_FALSE(isDns1123Label("a-"));
  EXPECT_FALSE(isDns1123Label("Web"));
  EXPECT_FALSE(isDns1123Label("a_b"));
  EXPECT_FALSE(isDns1123Label("a.b"));
  EXPECT_FALSE(isDns1123Label("a b"));
  EXPECT_FALSE(isDns1123Label("\xc3\xa9t\xc3\xa9"));
}

TEST(Dns1123Test, Subdomains) {
  EXPECT_TRUE(isDns1123Subdomain("web"));
  EXPECT_TRUE(isDns1123Subdomain("api.v2"));
  EXPECT_TRUE(isDns1123Subdomain("a-b.c-d.e"));
  const std::string l63(63, 'a');
  const std::string max = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
  ASSERT_EQ(max.size(), 253u);
  EXPECT_TRUE(isDns1123Subdomain(max));
  EXPECT_FALSE(isDns1123Subdomain(max + "b"));
  EXPECT_FALSE(isDns1123Subdomain(""));
  EXPECT_FALSE(isDns1123Subdomain("."));
  EXPECT_FALSE(isDns1123Subdomain(".a"));
  EXPECT_FALSE(isDns1123Subdomain("a."));
  EXPECT_FALSE(isDns1123Subdomain("a..b"));
  EXPECT_FALSE(isDns1123Subdomain("a.-b"));
  EXPECT_FALSE(isDns1123Subdomain("a-.b"));
  EXPECT_FALSE(isDns1123Subdomain("A.b"));
  EXPECT_FALSE(isDns1123Subdomain(std::string(64, 'a') + ".b"));
}

// ---------------------------------------------------------------- the key on disk

class JoinTokensFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testutil::makeTempDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  const std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
};

TEST_F(JoinTokensFileTest, LoadOrCreateWritesAPrivateKeyThatTheNextStartReuses) {
  const std::string path = dir_ + "/token-signing.key";
  auto first = JoinTokens::loadOrCreate(path, "example.org");
  ASSERT_TRUE(first.ok()) << first.status();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  auto created = (*first)->create("default", "web", hours(1), now_);
  ASSERT_TRUE(created.ok()) << created.status();

  auto second = JoinTokens::loadOrCreate(path, "example.org");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->keyId(), (*first)->keyId());
  auto id = (*second)->verify(created->token, now_);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->identity, kIdentity);
}

TEST_F(JoinTokensFileTest, TwoDataDirsHaveDifferentKeys) {
  auto a = JoinTokens::loadOrCreate(dir_ + "/a.key", "example.org");
  auto b = JoinTokens::loadOrCreate(dir_ + "/b.key", "example.org");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->keyId(), (*b)->keyId());
}

TEST_F(JoinTokensFileTest, RefusesAKeyFileThatIsNotEd25519) {
  const std::string path = dir_ + "/token-signing.key";
  PkeyPtr ec = identity::generateKey("P-256");
  testutil::writeFile(path, identity::privateKeyPem(ec.get()));
  auto tokens = JoinTokens::loadOrCreate(path, "example.org");
  ASSERT_FALSE(tokens.ok());
  EXPECT_THAT(message(tokens.status()), HasSubstr("Ed25519"));
  EXPECT_THAT(message(tokens.status()), HasSubstr(path));
}

TEST_F(JoinTokensFileTest, RefusesAGarbageKeyFileWithoutReplacingIt) {
  const std::string path = dir_ + "/token-signing.key";
  testutil::writeFile(path, "garbage");
  auto tokens = JoinTokens::loadOrCreate(path, "example.org");
  ASSERT_FALSE(tokens.ok());
  EXPECT_THAT(message(tokens.status()), HasSubstr(path));
  auto text = runtime::readFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "garbage");
}

}  // namespace
}  // namespace weft::control::auth
