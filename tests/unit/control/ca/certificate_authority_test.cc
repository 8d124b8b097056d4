#include "control/ca/certificate_authority.h"

#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "control/ca/cert_builder.h"
#include "control/ca/refusal.h"
#include "identity/csr.h"
#include "identity/spiffe.h"
#include "identity/x509.h"

namespace weft::control::ca {
namespace {

using identity::PkeyPtr;
using identity::X509Ptr;
using std::chrono::hours;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;

constexpr char kIdentity[] = "spiffe://example.org/ns/default/sa/web";

X509Ptr parseOne(const std::string& pem) {
  auto certs = identity::parseCertificates(pem);
  EXPECT_TRUE(certs.ok()) << certs.status();
  if (!certs.ok() || certs->empty()) return nullptr;
  EXPECT_EQ(certs->size(), 1u);
  return std::move(certs->front());
}

// X509_V_OK when `leaf` verifies at `at` against the roots of `bundle_pem`, through `chain_pem`.
int verify(X509* leaf, const std::string& chain_pem, const std::string& bundle_pem, SystemTime at) {
  auto roots = identity::parseCertificates(bundle_pem);
  auto chain = identity::parseCertificates(chain_pem);
  EXPECT_TRUE(roots.ok() && chain.ok());
  X509_STORE* store = X509_STORE_new();
  for (const X509Ptr& root : *roots) X509_STORE_add_cert(store, root.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const X509Ptr& c : *chain) sk_X509_push(untrusted, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, untrusted);
  X509_STORE_CTX_set_time(ctx, 0, std::chrono::system_clock::to_time_t(at));
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  const int ok = X509_verify_cert(ctx);
  const int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  return err == X509_V_OK && ok != 1 ? X509_V_ERR_UNSPECIFIED : err;
}

std::vector<std::string> allSans(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) {
      out.push_back("non-uri name");
      continue;
    }
    const ASN1_STRING* s = name->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

SystemTime notBefore(X509* cert) { return identity::toTimePoint(X509_get0_notBefore(cert)); }
SystemTime notAfter(X509* cert) { return identity::toTimePoint(X509_get0_notAfter(cert)); }

class CertificateAuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = generateCa("example.org", start_);
    ASSERT_TRUE(m.ok()) << m.status();
    material_ = *m;
  }

  CertificateAuthorityImpl makeCa(IssuancePolicy policy = {.ttl = hours(1)}) {
    return CertificateAuthorityImpl(material_, policy, [this] { return now_; });
  }

  std::string csrFor(EVP_PKEY* key, std::string_view identity = kIdentity) {
    auto pem = identity::makeCsr(key, identity);
    EXPECT_TRUE(pem.ok()) << pem.status();
    return pem.ok() ? *pem : std::string();
  }

  SystemTime issuerExpiry() const { return notAfter(material_->issuer.get()); }

  // Whole seconds, as certificates carry them.
  const SystemTime start_ = std::chrono::system_clock::from_time_t(
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
  SystemTime now_ = start_;
  std::shared_ptr<const CaMaterial> material_;
  PkeyPtr key_ = identity::generateKey("P-256");
};

TEST_F(CertificateAuthorityTest, IssuedLeafVerifiesAgainstTheBundle) {
  CertificateAuthorityImpl ca = makeCa();
  auto issued = ca.issue(csrFor(key_.get()), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr leaf = parseOne(issued->certificate_pem);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(verify(leaf.get(), issued->chain_pem, issued->trust_bundle_pem, now_), X509_V_OK);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(leaf.get()), key_.get()), 1);
}

TEST_F(CertificateAuthorityTest, LeafDoesNotVerifyAgainstAnotherCa) {
  auto other = generateCa("example.org", start_);
  ASSERT_TRUE(other.ok()) << other.status();
  CertificateAuthorityImpl ca = makeCa();
  auto issued = ca.issue(csrFor(key_.get()), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr leaf = parseOne(issued->certificate_pem);
  EXPECT_NE(verify(leaf.get(), (*other)->chain_pem, (*other)->bundle_pem, now_), X509_V_OK);
}

TEST_F(CertificateAuthorityTest, ReportsWhatItSignedWith) {
  CertificateAuthorityImpl ca = makeCa();
  auto issued = ca.issue(csrFor(key_.get()), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->identity, kIdentity);
  EXPECT_EQ(issued->chain_pem, material_->chain_pem);
  EXPECT_EQ(issued->trust_bundle_pem, material_->bundle_pem);
  EXPECT_EQ(issued->issuer_fingerprint, fingerprint(material_->issuer.get()));
  EXPECT_EQ(ca.material(), material_);
}

TEST_F(CertificateAuthorityTest, LeafHasExactlyOneUriSanTheIdentity) {
  CertificateAuthorityImpl ca = makeCa();
  auto issued = ca.issue(csrFor(key_.get()), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr leaf = parseOne(issued->certificate_pem);
  EXPECT_THAT(allSans(leaf.get()), ElementsAre(kIdentity));
}

TEST_F(CertificateAuthorityTest, IssueForKeyNamesOnlyTheIdentityEvenWithAComma) {
  // The identity is written as one value, never parsed as an OpenSSL config string.
  const std::string smuggler = std::string(kIdentity) + ",DNS:evil.example.org";
  CertificateAuthorityImpl ca = makeCa();
  auto issued = ca.issueForKey(key_.get(), smuggler);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr leaf = parseOne(issued->certificate_pem);
  EXPECT_THAT(allSans(leaf.get()), ElementsAre(smuggler));
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(leaf.get()), key_.get()), 1);
}

TEST_F(CertificateAuthorityTest, IssueForKeyVerifies) {
  CertificateAuthorityImpl ca = makeCa();
  auto issued = ca.issueForKey(key_.get(), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr leaf = parseOne(issued->certificate_pem);
  EXPECT_THAT(allSans(leaf.get()), ElementsAre(kIdentity));
  EXPECT_EQ(verify(leaf.get(), issued->chain_pem, issued->trust_bundle_pem, now_), X509_V_OK);
}

TEST_F(CertificateAuthorityTest, LeafIsNotACaAndServesBothEnds) {
  CertificateAuthorityImpl ca = makeCa();
  auto issued = ca.issue(csrFor(key_.get()), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr leaf = parseOne(issued->certificate_pem);
  const uint32_t flags = X509_get_extension_flags(leaf.get());
  EXPECT_TRUE(flags & EXFLAG_BCONS) << "basicConstraints present";
  EXPECT_FALSE(flags & EXFLAG_CA) << "CA:FALSE";
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()), uint32_t{XKU_SSL_SERVER | XKU_SSL_CLIENT});
  EXPECT_TRUE(X509_get_key_usage(leaf.get()) & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(X509_get_key_usage(leaf.get()) & KU_KEY_CERT_SIGN);
}

TEST_F(CertificateAuthorityTest, ValidityIsBackdatedTwentySecondsAndLastsTheTtl) {
  CertificateAuthorityImpl ca = makeCa({.ttl = hours(1)});
  auto issued = ca.issue(csrFor(key_.get()), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr leaf = parseOne(issued->certificate_pem);
  EXPECT_EQ(notBefore(leaf.get()), now_ - seconds(20));
  EXPECT_EQ(notAfter(leaf.get()), now_ + hours(1));
  EXPECT_EQ(issued->not_before, now_ - seconds(20));
  EXPECT_EQ(issued->not_after, now_ + hours(1));
}

TEST_F(CertificateAuthorityTest, ReadsTheClockAtEachIssue) {
  CertificateAuthorityImpl ca = makeCa({.ttl = hours(2), .backdate = seconds(5)});
  now_ = start_ + hours(30);
  auto issued = ca.issueForKey(key_.get(), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->not_before, start_ + hours(30) - seconds(5));
  EXPECT_EQ(issued->not_after, start_ + hours(32));
}

TEST_F(CertificateAuthorityTest, TtlPastTheIssuerIsClampedToIt) {
  CertificateAuthorityImpl ca = makeCa({.ttl = hours(24 * 400)});
  auto issued = ca.issue(csrFor(key_.get()), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr leaf = parseOne(issued->certificate_pem);
  EXPECT_EQ(notAfter(leaf.get()), issuerExpiry());
  EXPECT_EQ(issued->not_after, issuerExpiry());
  EXPECT_EQ(
      verify(leaf.get(), issued->chain_pem, issued->trust_bundle_pem, issuerExpiry() - seconds(1)),
      X509_V_OK);
}

TEST_F(CertificateAuthorityTest, ClampsNearTheIssuersEnd) {
  CertificateAuthorityImpl ca = makeCa({.ttl = hours(24)});
  now_ = issuerExpiry() - hours(1);
  auto issued = ca.issueForKey(key_.get(), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->not_after, issuerExpiry());
}

TEST_F(CertificateAuthorityTest, ExpiredIssuerIsRefused) {
  CertificateAuthorityImpl ca = makeCa();
  now_ = issuerExpiry() + seconds(1);
  auto issued = ca.issue(csrFor(key_.get()), kIdentity);
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(reasonOf(issued.status()), "issuer_expired");
  EXPECT_EQ(issued.status().code(), absl::StatusCode::kUnavailable);

  now_ = issuerExpiry();  // its last second is over too
  auto at_end = ca.issueForKey(key_.get(), kIdentity);
  ASSERT_FALSE(at_end.ok());
  EXPECT_EQ(reasonOf(at_end.status()), "issuer_expired");
}

TEST_F(CertificateAuthorityTest, RefusesWhatCheckCsrRefusesWithItsReason) {
  CertificateAuthorityImpl ca = makeCa();
  auto other = ca.issue(csrFor(key_.get(), "spiffe://example.org/ns/default/sa/admin"), kIdentity);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(reasonOf(other.status()), "identity_mismatch");

  auto garbage = ca.issue("not a csr", kIdentity);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(reasonOf(garbage.status()), "malformed_csr");
}

TEST_F(CertificateAuthorityTest, SerialsDiffer) {
  CertificateAuthorityImpl ca = makeCa();
  auto a = ca.issue(csrFor(key_.get()), kIdentity);
  auto b = ca.issue(csrFor(key_.get()), kIdentity);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(a->serial.empty());
  EXPECT_NE(a->serial, b->serial);
  X509Ptr leaf = parseOne(a->certificate_pem);
  EXPECT_EQ(a->serial, identity::serialHex(leaf.get()));
}

TEST_F(CertificateAuthorityTest, KeyIdFollowsTheKey) {
  CertificateAuthorityImpl ca = makeCa();
  PkeyPtr other = identity::generateKey("P-256");
  auto a = ca.issue(csrFor(key_.get()), kIdentity);
  auto b = ca.issueForKey(key_.get(), kIdentity);
  auto c = ca.issue(csrFor(other.get()), kIdentity);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(a->key_id, MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(a->key_id, b->key_id);
  EXPECT_NE(a->key_id, c->key_id);
}

}  // namespace
}  // namespace weft::control::ca
