#include "control/ca/cert_builder.h"

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "identity/spiffe.h"
#include "identity/x509.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::control::ca {
namespace {

using identity::PkeyPtr;
using identity::X509Ptr;
using std::chrono::hours;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

const std::chrono::system_clock::time_point kNow = std::chrono::system_clock::from_time_t(
    std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));

CertSpec caSpec(const std::string& name, int path_len) {
  return {.common_name = name,
          .uri_san = {},
          .ca = true,
          .path_len = path_len,
          .not_before = kNow - hours(1),
          .not_after = kNow + hours(24)};
}

std::string subjectText(X509* cert) {
  char buf[512] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

TEST(BuildCertificateTest, SelfSignedCa) {
  PkeyPtr key = identity::generateKey("P-256");
  auto root = buildCertificate(caSpec("root", 1), key.get(), nullptr, nullptr);
  ASSERT_TRUE(root.ok()) << root.status();
  X509* c = root->get();
  EXPECT_EQ(X509_check_issued(c, c), X509_V_OK);
  EXPECT_EQ(X509_verify(c, key.get()), 1);
  EXPECT_EQ(X509_check_ca(c), 1);
  EXPECT_EQ(X509_get_pathlen(c), 1);
  EXPECT_TRUE(X509_get_key_usage(c) & KU_KEY_CERT_SIGN);
  EXPECT_TRUE(X509_get_key_usage(c) & KU_CRL_SIGN);
  EXPECT_THAT(subjectText(c), HasSubstr("O=weft"));
  EXPECT_THAT(subjectText(c), HasSubstr("CN=root"));
  EXPECT_EQ(identity::toTimePoint(X509_get0_notBefore(c)), kNow - hours(1));
  EXPECT_EQ(identity::toTimePoint(X509_get0_notAfter(c)), kNow + hours(24));
}

TEST(BuildCertificateTest, CaWithoutPathLenIsUnlimited) {
  PkeyPtr key = identity::generateKey("P-256");
  auto root = buildCertificate(caSpec("root", -1), key.get(), nullptr, nullptr);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(X509_check_ca(root->get()), 1);
  EXPECT_EQ(X509_get_pathlen(root->get()), -1);
}

TEST(BuildCertificateTest, LeafIsSignedUnderTheIssuersName) {
  PkeyPtr ca_key = identity::generateKey("P-256");
  auto ca = buildCertificate(caSpec("issuer", 0), ca_key.get(), nullptr, nullptr);
  ASSERT_TRUE(ca.ok()) << ca.status();
  PkeyPtr leaf_key = identity::generateKey("P-256");
  CertSpec spec{.common_name = {},
                .uri_san = "spiffe://example.org/ns/a/sa/b",
                .ca = false,
                .path_len = -1,
                .not_before = kNow,
                .not_after = kNow + hours(1)};
  auto leaf = buildCertificate(spec, leaf_key.get(), ca->get(), ca_key.get());
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(X509_check_issued(ca->get(), leaf->get()), X509_V_OK);
  EXPECT_EQ(X509_verify(leaf->get(), ca_key.get()), 1);
  EXPECT_EQ(X509_check_ca(leaf->get()), 0);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(leaf->get()), leaf_key.get()), 1);
  EXPECT_THAT(identity::uriSans(leaf->get()), ElementsAre("spiffe://example.org/ns/a/sa/b"));
  EXPECT_EQ(subjectText(leaf->get()), "/O=weft");
  // The authority key id names the issuer's key.
  const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(leaf->get());
  const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(ca->get());
  ASSERT_NE(akid, nullptr);
  ASSERT_NE(skid, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(akid, skid), 0);
}

TEST(BuildCertificateTest, IssuerWithoutSubjectKeyIdStillSigns) {
  // An operator's CA made without a subjectKeyIdentifier.
  PkeyPtr ca_key = testutil::makeKey();
  X509Ptr ca = testutil::makeCert({.common_name = "bare", .is_ca = true}, ca_key.get());
  ASSERT_EQ(X509_get0_subject_key_id(ca.get()), nullptr);
  PkeyPtr leaf_key = identity::generateKey("P-256");
  CertSpec spec{.common_name = {},
                .uri_san = "spiffe://example.org/ns/a/sa/b",
                .ca = false,
                .path_len = -1,
                .not_before = kNow,
                .not_after = kNow + hours(1)};
  auto leaf = buildCertificate(spec, leaf_key.get(), ca.get(), ca_key.get());
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  EXPECT_EQ(X509_get0_authority_key_id(leaf->get()), nullptr);
  EXPECT_EQ(X509_check_issued(ca.get(), leaf->get()), X509_V_OK);
  EXPECT_EQ(X509_verify(leaf->get(), ca_key.get()), 1);
}

TEST(BuildCertificateTest, SerialIsPositiveAndSixteenBytes) {
  PkeyPtr key = identity::generateKey("P-256");
  for (int i = 0; i < 20; ++i) {
    auto cert = buildCertificate(caSpec("root", 0), key.get(), nullptr, nullptr);
    ASSERT_TRUE(cert.ok()) << cert.status();
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->get()), nullptr);
    EXPECT_FALSE(BN_is_negative(bn));
    EXPECT_EQ(BN_num_bytes(bn), 16);
    BN_free(bn);
  }
}

TEST(BuildCertificateTest, P384IssuerSignsWithSha384) {
  PkeyPtr key = identity::generateKey("P-384");
  auto cert = buildCertificate(caSpec("root", 0), key.get(), nullptr, nullptr);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(X509_get_signature_nid(cert->get()), NID_ecdsa_with_SHA384);

  PkeyPtr p256 = identity::generateKey("P-256");
  auto other = buildCertificate(caSpec("root", 0), p256.get(), nullptr, nullptr);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(X509_get_signature_nid(other->get()), NID_ecdsa_with_SHA256);
}

TEST(FingerprintTest, IsTheSha256OfTheDerAsOpensslPrintsIt) {
  PkeyPtr key = identity::generateKey("P-256");
  auto cert = buildCertificate(caSpec("root", 0), key.get(), nullptr, nullptr);
  ASSERT_TRUE(cert.ok()) << cert.status();
  const std::string fp = fingerprint(cert->get());
  EXPECT_THAT(fp, MatchesRegex("([0-9A-F]{2}:){31}[0-9A-F]{2}"));

  unsigned char* der = nullptr;
  const int len = i2d_X509(cert->get(), &der);
  ASSERT_GT(len, 0);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  ASSERT_EQ(EVP_Digest(der, static_cast<size_t>(len), md, &n, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  char first[4];
  std::snprintf(first, sizeof(first), "%02X:", md[0]);
  EXPECT_EQ(fp.substr(0, 3), first);
  char last[3];
  std::snprintf(last, sizeof(last), "%02X", md[n - 1]);
  EXPECT_EQ(fp.substr(fp.size() - 2), last);

  auto again = buildCertificate(caSpec("root", 0), key.get(), nullptr, nullptr);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(fingerprint(again->get()), fp);  // another serial, another certificate
  EXPECT_EQ(fingerprint(cert->get()), fp);
}

}  // namespace
}  // namespace weft::control::ca
