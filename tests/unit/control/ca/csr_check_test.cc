#include "control/ca/csr_check.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/dsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "control/ca/refusal.h"
#include "identity/csr.h"
#include "identity/x509.h"

namespace weft::control::ca {
namespace {

using identity::PkeyPtr;
using identity::X509ReqPtr;
using ::testing::HasSubstr;

constexpr char kIdentity[] = "spiffe://example.org/ns/default/sa/web";

std::string message(const absl::Status& st) { return std::string(st.message()); }

PkeyPtr ecKey(const char* curve) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  EXPECT_NE(key, nullptr) << curve;
  return key;
}

PkeyPtr rsaKey(size_t bits) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  EXPECT_NE(key, nullptr) << "RSA " << bits;
  return key;
}

// DSA needs its domain parameters generated first.
PkeyPtr dsaKey() {
  EVP_PKEY* params = nullptr;
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr);
  const bool have_params = pctx != nullptr && EVP_PKEY_paramgen_init(pctx) == 1 &&
                           EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx, 2048) == 1 &&
                           EVP_PKEY_paramgen(pctx, &params) == 1;
  EVP_PKEY_CTX_free(pctx);
  EXPECT_TRUE(have_params) << identity::opensslError();
  if (!have_params) return nullptr;
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* kctx = EVP_PKEY_CTX_new_from_pkey(nullptr, params, nullptr);
  const bool have_key =
      kctx != nullptr && EVP_PKEY_keygen_init(kctx) == 1 && EVP_PKEY_keygen(kctx, &key) == 1;
  EVP_PKEY_CTX_free(kctx);
  EVP_PKEY_free(params);
  EXPECT_TRUE(have_key) << identity::opensslError();
  return PkeyPtr(key);
}

std::string csrFor(EVP_PKEY* key, std::string_view identity = kIdentity) {
  auto pem = identity::makeCsr(key, identity);
  EXPECT_TRUE(pem.ok()) << pem.status();
  return pem.ok() ? *pem : std::string();
}

std::string pemOf(X509_REQ* req) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, req);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// A request built by hand with exactly these subjectAltNames (type GEN_URI, GEN_DNS, ...), or
// none at all: what a client other than weft's own could send.
std::string csrWithNames(EVP_PKEY* key, const std::vector<std::pair<int, std::string>>& names) {
  X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
  X509_REQ_set_pubkey(req.get(), key);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("client"), -1, -1, 0);
  if (!names.empty()) {
    GENERAL_NAMES* gens = GENERAL_NAMES_new();
    for (const auto& [type, value] : names) {
      ASN1_IA5STRING* text = ASN1_IA5STRING_new();
      ASN1_STRING_set(text, value.data(), static_cast<int>(value.size()));
      GENERAL_NAME* gen = GENERAL_NAME_new();
      GENERAL_NAME_set0_value(gen, type, text);
      sk_GENERAL_NAME_push(gens, gen);
    }
    X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
    GENERAL_NAMES_free(gens);
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    sk_X509_EXTENSION_push(exts, ext);
    EXPECT_EQ(X509_REQ_add_extensions(req.get(), exts), 1);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  EXPECT_GT(X509_REQ_sign(req.get(), key, EVP_sha256()), 0);
  return pemOf(req.get());
}

// The same request with one bit of its signature flipped, re-encoded byte for byte otherwise.
std::string withAlteredSignature(const std::string& pem) {
  auto req = identity::parseCsr(pem);
  EXPECT_TRUE(req.ok()) << req.status();
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req->get(), &der);
  EXPECT_GT(len, 0);
  der[len - 1] ^= 0x01;  // the signature ends the encoding
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio(bio, "CERTIFICATE REQUEST", "", der, len);
  OPENSSL_free(der);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

void expectAccepted(const std::string& pem, EVP_PKEY* key) {
  auto checked = checkCsr(pem, kIdentity);
  ASSERT_TRUE(checked.ok()) << checked.status();
  ASSERT_NE(*checked, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(checked->get(), key), 1);  // the request's key is what comes back
}

void expectRefused(const absl::StatusOr<PkeyPtr>& checked, const std::string& reason) {
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reasonOf(checked.status()), reason) << checked.status();
}

TEST(CheckCsrTest, AcceptsP256) {
  PkeyPtr key = ecKey("P-256");
  expectAccepted(csrFor(key.get()), key.get());
}

TEST(CheckCsrTest, AcceptsP384) {
  PkeyPtr key = ecKey("P-384");
  expectAccepted(csrFor(key.get()), key.get());
}

TEST(CheckCsrTest, AcceptsRsa2048) {
  PkeyPtr key = rsaKey(2048);
  expectAccepted(csrFor(key.get()), key.get());
}

TEST(CheckCsrTest, RefusesRsa1024AsWeak) {
  PkeyPtr key = rsaKey(1024);
  auto checked = checkCsr(csrFor(key.get()), kIdentity);
  expectRefused(checked, "weak_key");
  EXPECT_THAT(message(checked.status()), HasSubstr("1024"));
}

TEST(CheckCsrTest, RefusesDsaAsUnsupported) {
  PkeyPtr key = dsaKey();
  ASSERT_NE(key, nullptr);
  auto checked = checkCsr(csrFor(key.get()), kIdentity);
  expectRefused(checked, "unsupported_key");
  EXPECT_THAT(message(checked.status()), HasSubstr("DSA"));
}

TEST(CheckCsrTest, RefusesEd25519AsUnsupported) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_NE(key, nullptr);
  auto checked = checkCsr(csrFor(key.get()), kIdentity);
  expectRefused(checked, "unsupported_key");
  EXPECT_THAT(message(checked.status()), HasSubstr("ED25519"));
}

TEST(CheckCsrTest, RefusesOtherCurvesAsUnsupported) {
  PkeyPtr key = ecKey("P-521");
  auto checked = checkCsr(csrFor(key.get()), kIdentity);
  expectRefused(checked, "unsupported_key");
  EXPECT_THAT(message(checked.status()), HasSubstr("secp521r1"));
}

TEST(CheckCsrTest, RefusesAnAlteredSignature) {
  PkeyPtr key = ecKey("P-256");
  const std::string good = csrFor(key.get());
  const std::string bad = withAlteredSignature(good);
  ASSERT_NE(bad, good);
  expectRefused(checkCsr(bad, kIdentity), "bad_signature");
}

TEST(CheckCsrTest, RefusesAnAlteredRsaSignature) {
  PkeyPtr key = rsaKey(2048);
  expectRefused(checkCsr(withAlteredSignature(csrFor(key.get())), kIdentity), "bad_signature");
}

TEST(CheckCsrTest, RefusesARequestSignedByAnotherKey) {
  // Signed by the sender's key, but carrying someone else's public key.
  PkeyPtr signer = ecKey("P-256");
  PkeyPtr victim = ecKey("P-256");
  auto req = identity::parseCsr(csrFor(signer.get()));
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_EQ(X509_REQ_set_pubkey(req->get(), victim.get()), 1);
  expectRefused(checkCsr(pemOf(req->get()), kIdentity), "bad_signature");
}

TEST(CheckCsrTest, RefusesADnsSanNamingIt) {
  PkeyPtr key = ecKey("P-256");
  auto checked = checkCsr(csrWithNames(key.get(), {{GEN_DNS, "evil.example.org"}}), kIdentity);
  expectRefused(checked, "identity_mismatch");
  EXPECT_THAT(message(checked.status()), HasSubstr("dns:evil.example.org"));
  EXPECT_THAT(message(checked.status()), HasSubstr(kIdentity));
}

TEST(CheckCsrTest, RefusesADnsSanBesideTheGrantedUri) {
  PkeyPtr key = ecKey("P-256");
  auto checked = checkCsr(
      csrWithNames(key.get(), {{GEN_URI, kIdentity}, {GEN_DNS, "evil.example.org"}}), kIdentity);
  expectRefused(checked, "identity_mismatch");
  EXPECT_THAT(message(checked.status()), HasSubstr("dns:evil.example.org"));
}

TEST(CheckCsrTest, RefusesAnotherUriNamingIt) {
  PkeyPtr key = ecKey("P-256");
  const std::string other = "spiffe://example.org/ns/default/sa/admin";
  auto checked = checkCsr(csrFor(key.get(), other), kIdentity);
  expectRefused(checked, "identity_mismatch");
  EXPECT_THAT(message(checked.status()), HasSubstr("uri:" + other));
}

TEST(CheckCsrTest, RefusesAnEmailSan) {
  PkeyPtr key = ecKey("P-256");
  auto checked = checkCsr(csrWithNames(key.get(), {{GEN_EMAIL, "root@example.org"}}), kIdentity);
  expectRefused(checked, "identity_mismatch");
  EXPECT_THAT(message(checked.status()), HasSubstr("email:root@example.org"));
}

TEST(CheckCsrTest, AcceptsARequestWithoutSan) {
  PkeyPtr key = ecKey("P-256");
  expectAccepted(csrWithNames(key.get(), {}), key.get());
}

TEST(CheckCsrTest, AcceptsAHandBuiltRequestForTheGrantedUri) {
  PkeyPtr key = ecKey("P-256");
  expectAccepted(csrWithNames(key.get(), {{GEN_URI, kIdentity}}), key.get());
}

TEST(CheckCsrTest, RefusesGarbageAsMalformed) {
  expectRefused(checkCsr("hello, CA", kIdentity), "malformed_csr");
  expectRefused(checkCsr("", kIdentity), "malformed_csr");
  expectRefused(checkCsr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                         "-----END CERTIFICATE REQUEST-----\n",
                         kIdentity),
                "malformed_csr");
}

TEST(CheckCsrTest, RefusesOverSixteenKibAsMalformed) {
  PkeyPtr key = ecKey("P-256");
  std::string pem = csrFor(key.get());
  pem.resize(kMaxCsrBytes, '\n');  // still a good request
  expectAccepted(pem, key.get());
  pem.push_back('\n');
  auto checked = checkCsr(pem, kIdentity);
  expectRefused(checked, "malformed_csr");
  EXPECT_THAT(message(checked.status()), HasSubstr("16384"));
}

}  // namespace
}  // namespace weft::control::ca
