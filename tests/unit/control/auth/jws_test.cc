#include "control/auth/jws.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/ca/refusal.h"
#include "identity/x509.h"

namespace weft::control::auth {
namespace {

using identity::PkeyPtr;

void expectMalformed(std::string_view token) {
  auto jws = parseJws(token);
  ASSERT_FALSE(jws.ok()) << token.substr(0, 40);
  EXPECT_EQ(jws.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(reasonOf(jws.status()), "malformed_token") << jws.status();
}

TEST(Base64UrlTest, UsesTheUrlAlphabetWithoutPadding) {
  EXPECT_EQ(base64Url(""), "");
  EXPECT_EQ(base64Url("f"), "Zg");
  EXPECT_EQ(base64Url("fo"), "Zm8");
  EXPECT_EQ(base64Url("foo"), "Zm9v");
  EXPECT_EQ(base64Url("\xfb\xff"), "-_8");
}

TEST(JwsTest, SignThenParseRoundTrips) {
  PkeyPtr key = identity::generateKey("ED25519");
  const nlohmann::json claims = {{"sub", "someone"}, {"n", 7}};
  const std::string token = signEdDsa({{"typ", "JWT"}}, claims, key.get());

  auto jws = parseJws(token);
  ASSERT_TRUE(jws.ok()) << jws.status();
  EXPECT_EQ(jws->header.value("alg", ""), "EdDSA");
  EXPECT_EQ(jws->header.value("typ", ""), "JWT");
  EXPECT_EQ(jws->claims, claims);
  EXPECT_EQ(jws->signing_input, token.substr(0, token.rfind('.')));
  EXPECT_EQ(jws->signature.size(), 64u);
  EXPECT_TRUE(verifyEdDsa(key.get(), jws->signing_input, jws->signature));
}

TEST(JwsTest, SignatureDoesNotVerifyWithAnotherKeyOrInput) {
  PkeyPtr key = identity::generateKey("ED25519");
  PkeyPtr other = identity::generateKey("ED25519");
  auto jws = parseJws(signEdDsa({}, {{"a", 1}}, key.get()));
  ASSERT_TRUE(jws.ok()) << jws.status();
  EXPECT_FALSE(verifyEdDsa(other.get(), jws->signing_input, jws->signature));
  EXPECT_FALSE(verifyEdDsa(key.get(), jws->signing_input + "x", jws->signature));
  EXPECT_FALSE(verifyEdDsa(key.get(), jws->signing_input, ""));
}

TEST(JwsTest, RefusesWhatIsNotThreeParts) {
  expectMalformed("");
  expectMalformed("garbage");
  expectMalformed("e30.e30");
  expectMalformed("e30.e30.AAAA.AAAA");
}

TEST(JwsTest, RefusesPartsThatAreNotBase64Url) {
  expectMalformed("e30.e30.***");
  expectMalformed("e3!0.e30.AAAA");
}

TEST(JwsTest, RefusesHeaderOrClaimsThatAreNotJsonObjects) {
  const std::string array = base64Url("[1,2]");
  const std::string object = base64Url("{}");
  const std::string text = base64Url("not json");
  expectMalformed(array + "." + object + ".AAAA");
  expectMalformed(object + "." + array + ".AAAA");
  expectMalformed(object + "." + text + ".AAAA");
  expectMalformed("." + object + ".AAAA");
  EXPECT_TRUE(parseJws(object + "." + object + ".AAAA").ok());
}

TEST(JwsTest, RefusesOverEightKib) {
  const std::string object = base64Url("{}");
  std::string token = object + "." + object + ".";
  token.resize(kMaxTokenBytes, 'A');
  auto at_limit = parseJws(token);
  ASSERT_TRUE(at_limit.ok()) << at_limit.status();  // the size alone is fine
  token.push_back('A');
  expectMalformed(token);
}

}  // namespace
}  // namespace weft::control::auth
