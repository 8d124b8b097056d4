#include "identity/x509.h"

#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "identity/spiffe.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::identity {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string message(const absl::Status& st) { return std::string(st.message()); }

std::string commonName(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return buf;
}

TEST(ParseCertificatesTest, ReturnsEveryCertificateInOrder) {
  PkeyPtr key_a = testutil::makeKey();
  PkeyPtr key_b = testutil::makeKey();
  X509Ptr a = testutil::makeCert({.common_name = "first"}, key_a.get());
  X509Ptr b = testutil::makeCert({.common_name = "second"}, key_b.get());

  auto certs = parseCertificates(testutil::certPem(a.get()) + testutil::certPem(b.get()));
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(commonName((*certs)[0].get()), "first");
  EXPECT_EQ(commonName((*certs)[1].get()), "second");
  EXPECT_EQ(X509_cmp((*certs)[0].get(), a.get()), 0);
  EXPECT_EQ(X509_cmp((*certs)[1].get(), b.get()), 0);
}

TEST(ParseCertificatesTest, GarbageIsInvalidArgument) {
  auto certs = parseCertificates("this is not a certificate\n");
  ASSERT_FALSE(certs.ok());
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseCertificatesTest, EmptyInputIsAnError) {
  auto certs = parseCertificates("");
  ASSERT_FALSE(certs.ok());
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseCertificatesTest, MalformedBlockAfterAGoodOneIsNamed) {
  PkeyPtr key = testutil::makeKey();
  X509Ptr good = testutil::makeCert({}, key.get());
  const std::string pem =
      testutil::certPem(good.get()) +
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n";
  auto certs = parseCertificates(pem);
  ASSERT_FALSE(certs.ok());
  EXPECT_EQ(certs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(certs.status()), HasSubstr("#2"));
}

TEST(ParseCertificatesTest, StaleErrorsOnTheThreadDoNotFailAGoodParse) {
  // A failure earlier on this thread left its reason queued.
  ERR_raise(ERR_LIB_X509, X509_R_CERT_ALREADY_IN_HASH_TABLE);
  PkeyPtr key = testutil::makeKey();
  X509Ptr cert = testutil::makeCert({}, key.get());
  auto certs = parseCertificates(testutil::certPem(cert.get()));
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_EQ(certs->size(), 1u);
}

TEST(CertificatePemTest, RoundTripsThroughParse) {
  PkeyPtr key = testutil::makeKey();
  X509Ptr cert = testutil::makeCert({.common_name = "round"}, key.get());
  const std::string pem = certificatePem(cert.get());
  EXPECT_THAT(pem, StartsWith("-----BEGIN CERTIFICATE-----"));
  auto certs = parseCertificates(pem);
  ASSERT_TRUE(certs.ok()) << certs.status();
  ASSERT_EQ(certs->size(), 1u);
  EXPECT_EQ(X509_cmp((*certs)[0].get(), cert.get()), 0);
}

TEST(PrivateKeyPemTest, RoundTripsEcKey) {
  PkeyPtr key = generateKey("P-256");
  ASSERT_NE(key, nullptr);
  const std::string pem = privateKeyPem(key.get());
  EXPECT_THAT(pem, StartsWith("-----BEGIN PRIVATE KEY-----"));  // PKCS#8, unencrypted
  auto parsed = parsePrivateKey(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(EVP_PKEY_eq(parsed->get(), key.get()), 1);
}

TEST(PrivateKeyPemTest, RoundTripsEd25519Key) {
  PkeyPtr key = generateKey("ED25519");
  ASSERT_NE(key, nullptr);
  auto parsed = parsePrivateKey(privateKeyPem(key.get()));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(EVP_PKEY_get_id(parsed->get()), EVP_PKEY_ED25519);
  EXPECT_EQ(EVP_PKEY_eq(parsed->get(), key.get()), 1);
}

TEST(PrivateKeyPemTest, GarbageIsInvalidArgument) {
  auto parsed = parsePrivateKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(parsed.status()), HasSubstr("malformed private key"));
}

TEST(ParseCsrTest, GarbageIsInvalidArgument) {
  auto req = parseCsr("not a request");
  ASSERT_FALSE(req.ok());
  EXPECT_EQ(req.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GenerateKeyTest, MakesTheAskedCurve) {
  PkeyPtr p256 = generateKey("P-256");
  ASSERT_NE(p256, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(p256.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(p256.get()), 256);

  PkeyPtr p384 = generateKey("P-384");
  ASSERT_NE(p384, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(p384.get()), 384);

  PkeyPtr ed = generateKey("ED25519");
  ASSERT_NE(ed, nullptr);
  EXPECT_EQ(EVP_PKEY_get_id(ed.get()), EVP_PKEY_ED25519);
}

TEST(GenerateKeyTest, UnknownCurveIsNull) {
  EXPECT_EQ(generateKey("P-999"), nullptr);
  ERR_clear_error();
}

TEST(SerialHexTest, PrintsTheSerialInHex) {
  PkeyPtr key = testutil::makeKey();
  X509Ptr cert = testutil::makeCert({}, key.get());
  EXPECT_FALSE(serialHex(cert.get()).empty());
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 0xABCDEF);
  EXPECT_EQ(serialHex(cert.get()), "ABCDEF");
}

TEST(UriSanExtensionTest, CarriesOneUriEvenWithAComma) {
  // The config-string parser would read ",DNS:evil.example" as a second name.
  const std::string uri = "spiffe://example.org/ns/default/sa/web,DNS:evil.example";
  PkeyPtr key = testutil::makeKey();
  X509Ptr cert(X509_new());
  X509_set_pubkey(cert.get(), key.get());
  X509ExtPtr ext = uriSanExtension(uri);
  ASSERT_NE(ext, nullptr);
  ASSERT_EQ(X509_add_ext(cert.get(), ext.get(), -1), 1);

  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(sk_GENERAL_NAME_num(names), 1);
  GENERAL_NAMES_free(names);
  EXPECT_THAT(uriSans(cert.get()), ElementsAre(uri));
}

TEST(ToTimePointTest, ReadsUtcAndGeneralizedTime) {
  ASN1_TIME* t = ASN1_TIME_new();
  ASN1_TIME_set(t, 1700000000);  // 2023: UTCTime
  EXPECT_EQ(toTimePoint(t), std::chrono::system_clock::from_time_t(1700000000));
  ASN1_TIME_set(t, 2600000000);  // 2052: GeneralizedTime
  EXPECT_EQ(toTimePoint(t), std::chrono::system_clock::from_time_t(2600000000));
  ASN1_TIME_free(t);
}

}  // namespace
}  // namespace weft::identity
