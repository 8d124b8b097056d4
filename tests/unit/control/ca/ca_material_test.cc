#include "control/ca/ca_material.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "control/ca/cert_builder.h"
#include "control/ca/certificate_authority.h"
#include "identity/x509.h"
#include "runtime/atomic_file.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::control::ca {
namespace {

using identity::PkeyPtr;
using identity::X509Ptr;
using std::chrono::hours;
using ::testing::HasSubstr;

std::string message(const absl::Status& st) { return std::string(st.message()); }

unsigned modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string commonName(X509* cert) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return buf;
}

SystemTime notAfter(X509* cert) { return identity::toTimePoint(X509_get0_notAfter(cert)); }

class CaMaterialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::makeTempDir();
    source_.dir = dir_ + "/ca";
    source_.trust_domain = "example.org";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes `pem` to DIR/name and returns the path.
  std::string file(const std::string& name, const std::string& pem) {
    testutil::writeFile(path(name), pem);
    return path(name);
  }

  std::string dir_;
  CaSource source_;
  const SystemTime now_ = std::chrono::system_clock::now();
};

// ---------------------------------------------------------------- generated CA

TEST_F(CaMaterialTest, CreatesTheCaWithPrivateKeys) {
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(m.ok()) << m.status();
  for (const char* name : {"root.pem", "root.key", "intermediate.pem", "intermediate.key"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(source_.dir + "/" + name)) << name;
  }
  EXPECT_EQ(modeOf(source_.dir + "/root.key"), 0600u);
  EXPECT_EQ(modeOf(source_.dir + "/intermediate.key"), 0600u);
  EXPECT_EQ(modeOf(source_.dir), 0700u);

  const CaMaterial& ca = **m;
  EXPECT_FALSE(ca.operator_supplied);
  ASSERT_EQ(ca.roots.size(), 1u);
  EXPECT_TRUE(ca.intermediates.empty());
  EXPECT_EQ(X509_check_issued(ca.roots[0].get(), ca.issuer.get()), X509_V_OK);
  EXPECT_EQ(X509_check_private_key(ca.issuer.get(), ca.issuer_key.get()), 1);
  EXPECT_EQ(ca.bundle_pem, identity::certificatePem(ca.roots[0].get()));
  EXPECT_EQ(ca.chain_pem, identity::certificatePem(ca.issuer.get()));
  EXPECT_THAT(commonName(ca.roots[0].get()), HasSubstr("example.org"));
  EXPECT_THAT(commonName(ca.issuer.get()), HasSubstr("example.org"));

  // What is on disk is what was loaded.
  auto root_pem = runtime::readFile(source_.dir + "/root.pem");
  ASSERT_TRUE(root_pem.ok()) << root_pem.status();
  EXPECT_EQ(*root_pem, ca.bundle_pem);
}

TEST_F(CaMaterialTest, SecondLoadReusesTheSameCa) {
  auto first = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = loadOrCreateCa(source_, now_ + hours(1));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(fingerprint((*second)->roots[0].get()), fingerprint((*first)->roots[0].get()));
  EXPECT_EQ(fingerprint((*second)->issuer.get()), fingerprint((*first)->issuer.get()));
  EXPECT_EQ(EVP_PKEY_eq((*second)->issuer_key.get(), (*first)->issuer_key.get()), 1);
}

TEST_F(CaMaterialTest, ARootWithoutItsKeyIsRefusedNotReplaced) {
  auto first = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(first.ok()) << first.status();
  std::filesystem::remove(source_.dir + "/root.key");
  auto second = loadOrCreateCa(source_, now_);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsDataLoss(second.status())) << second.status();
  EXPECT_THAT(std::string(second.status().message()), ::testing::HasSubstr("root.pem exists but"));
  EXPECT_FALSE(std::filesystem::exists(source_.dir + "/root.key"));
}

TEST_F(CaMaterialTest, AKeyWithoutItsCertificateIsAPairNeverFinished) {
  // The key is written first: a crash before the certificate leaves only the key.
  ASSERT_TRUE(loadOrCreateCa(source_, now_).ok());
  std::filesystem::remove(source_.dir + "/intermediate.pem");
  auto again = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(std::filesystem::exists(source_.dir + "/intermediate.pem"));
}

TEST_F(CaMaterialTest, KeepsAnIntermediateOutsideTheRenewWindow) {
  auto first = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(first.ok()) << first.status();
  auto later = loadOrCreateCa(source_, now_ + hours(24 * 200));
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(fingerprint((*later)->issuer.get()), fingerprint((*first)->issuer.get()));
}

TEST_F(CaMaterialTest, RenewsAnIntermediateNearItsEndFromTheSameRoot) {
  auto first = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(first.ok()) << first.status();
  const SystemTime later = now_ + hours(24 * 320);  // 45 days left, under kIntermediateRenewBefore
  ASSERT_LT(notAfter((*first)->issuer.get()), later + kIntermediateRenewBefore);

  auto renewed = loadOrCreateCa(source_, later);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(fingerprint((*renewed)->roots[0].get()), fingerprint((*first)->roots[0].get()));
  EXPECT_NE(fingerprint((*renewed)->issuer.get()), fingerprint((*first)->issuer.get()));
  EXPECT_EQ(X509_check_issued((*renewed)->roots[0].get(), (*renewed)->issuer.get()), X509_V_OK);
  EXPECT_GT(notAfter((*renewed)->issuer.get()), later + hours(24 * 300));
  EXPECT_EQ(modeOf(source_.dir + "/intermediate.key"), 0600u);

  // The renewed one is what was written: the next start keeps it.
  auto again = loadOrCreateCa(source_, later + hours(1));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(fingerprint((*again)->issuer.get()), fingerprint((*renewed)->issuer.get()));
}

TEST_F(CaMaterialTest, RefusesADataDirThatIsAFile) {
  testutil::writeFile(source_.dir, "not a directory");
  EXPECT_FALSE(loadOrCreateCa(source_, now_).ok());
}

TEST_F(CaMaterialTest, GenerateCaIsInMemory) {
  auto m = generateCa("example.org", now_);
  ASSERT_TRUE(m.ok()) << m.status();
  const CaMaterial& ca = **m;
  EXPECT_FALSE(ca.operator_supplied);
  ASSERT_EQ(ca.roots.size(), 1u);
  X509* root = ca.roots[0].get();
  EXPECT_EQ(X509_check_issued(root, root), X509_V_OK);
  EXPECT_EQ(X509_check_issued(root, ca.issuer.get()), X509_V_OK);
  EXPECT_EQ(X509_get_pathlen(root), 1);
  EXPECT_EQ(X509_get_pathlen(ca.issuer.get()), 0);
  EXPECT_EQ(X509_check_ca(ca.issuer.get()), 1);
  EXPECT_EQ(X509_check_private_key(ca.issuer.get(), ca.issuer_key.get()), 1);
  EXPECT_FALSE(std::filesystem::exists(source_.dir));
}

// ---------------------------------------------------------------- the operator's CA

class OperatorCaTest : public CaMaterialTest {
 protected:
  // A self-signed root, an intermediate below it, and their keys.
  PkeyPtr root_key_ = testutil::makeKey();
  X509Ptr root_ = testutil::makeCert({.common_name = "op root", .is_ca = true}, root_key_.get());
  PkeyPtr inter_key_ = testutil::makeKey();
  X509Ptr inter_ = testutil::makeCert({.common_name = "op issuing", .is_ca = true},
                                      inter_key_.get(), root_.get(), root_key_.get());

  // An issued leaf verifies against the material's bundle through its chain.
  void expectIssues(const std::shared_ptr<const CaMaterial>& m) {
    CertificateAuthorityImpl ca(m, IssuancePolicy{});
    PkeyPtr key = testutil::makeKey();
    auto issued = ca.issueForKey(key.get(), "spiffe://example.org/ns/default/sa/web");
    ASSERT_TRUE(issued.ok()) << issued.status();
    auto leaf = identity::parseCertificates(issued->certificate_pem);
    auto chain = identity::parseCertificates(issued->chain_pem);
    auto roots = identity::parseCertificates(issued->trust_bundle_pem);
    ASSERT_TRUE(leaf.ok() && chain.ok() && roots.ok());
    X509_STORE* store = X509_STORE_new();
    for (const X509Ptr& r : *roots) X509_STORE_add_cert(store, r.get());
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    for (const X509Ptr& c : *chain) sk_X509_push(untrusted, c.get());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, (*leaf)[0].get(), untrusted);
    EXPECT_EQ(X509_verify_cert(ctx), 1)
        << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
  }
};

TEST_F(OperatorCaTest, SelfSignedCaIsItsOwnRoot) {
  source_.ca_cert_file = file("ca.pem", testutil::certPem(root_.get()));
  source_.ca_key_file = file("ca.key", testutil::keyPem(root_key_.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE((*m)->operator_supplied);
  ASSERT_EQ((*m)->roots.size(), 1u);
  EXPECT_EQ(X509_cmp((*m)->roots[0].get(), root_.get()), 0);
  EXPECT_EQ(X509_cmp((*m)->issuer.get(), root_.get()), 0);
  EXPECT_TRUE((*m)->intermediates.empty());
  EXPECT_FALSE(std::filesystem::exists(source_.dir)) << "nothing is written";
  expectIssues(*m);
}

TEST_F(OperatorCaTest, IntermediateWithoutRootAsksForRootCert) {
  source_.ca_cert_file = file("ca.pem", testutil::certPem(inter_.get()));
  source_.ca_key_file = file("ca.key", testutil::keyPem(inter_key_.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(m.status()), HasSubstr("--root-cert"));
}

TEST_F(OperatorCaTest, IntermediateWithRootCert) {
  source_.ca_cert_file = file("ca.pem", testutil::certPem(inter_.get()));
  source_.ca_key_file = file("ca.key", testutil::keyPem(inter_key_.get()));
  source_.root_cert_file = file("root.pem", testutil::certPem(root_.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE((*m)->operator_supplied);
  EXPECT_EQ(X509_cmp((*m)->issuer.get(), inter_.get()), 0);
  ASSERT_EQ((*m)->roots.size(), 1u);
  EXPECT_EQ(X509_cmp((*m)->roots[0].get(), root_.get()), 0);
  EXPECT_EQ((*m)->bundle_pem, testutil::certPem(root_.get()));
  EXPECT_EQ((*m)->chain_pem, testutil::certPem(inter_.get()));
  expectIssues(*m);
}

TEST_F(OperatorCaTest, ChainFileEndingInTheRoot) {
  source_.ca_cert_file =
      file("ca.pem", testutil::certPem(inter_.get()) + testutil::certPem(root_.get()));
  source_.ca_key_file = file("ca.key", testutil::keyPem(inter_key_.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ((*m)->roots.size(), 1u);
  EXPECT_EQ(X509_cmp((*m)->roots[0].get(), root_.get()), 0);
  EXPECT_TRUE((*m)->intermediates.empty());
  EXPECT_EQ((*m)->chain_pem, testutil::certPem(inter_.get()));  // the root is not sent
  expectIssues(*m);
}

TEST_F(OperatorCaTest, TwoLevelChainKeepsTheMiddleIntermediate) {
  PkeyPtr issuing_key = testutil::makeKey();
  X509Ptr issuing = testutil::makeCert({.common_name = "op leaf CA", .is_ca = true},
                                       issuing_key.get(), inter_.get(), inter_key_.get());
  source_.ca_cert_file =
      file("ca.pem", testutil::certPem(issuing.get()) + testutil::certPem(inter_.get()) +
                         testutil::certPem(root_.get()));
  source_.ca_key_file = file("ca.key", testutil::keyPem(issuing_key.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ((*m)->intermediates.size(), 1u);
  EXPECT_EQ(X509_cmp((*m)->intermediates[0].get(), inter_.get()), 0);
  EXPECT_EQ((*m)->chain_pem, testutil::certPem(issuing.get()) + testutil::certPem(inter_.get()));
  expectIssues(*m);
}

TEST_F(OperatorCaTest, KeyThatDoesNotMatchIsRefused) {
  PkeyPtr other = testutil::makeKey();
  source_.ca_cert_file = file("ca.pem", testutil::certPem(root_.get()));
  source_.ca_key_file = file("ca.key", testutil::keyPem(other.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(message(m.status()), HasSubstr("does not match"));
  EXPECT_THAT(message(m.status()), HasSubstr(source_.ca_cert_file));
}

TEST_F(OperatorCaTest, NonCaCertificateIsRefused) {
  PkeyPtr leaf_key = testutil::makeKey();
  X509Ptr leaf =
      testutil::makeCert({.common_name = "not a ca"}, leaf_key.get(), root_.get(), root_key_.get());
  source_.ca_cert_file = file("ca.pem", testutil::certPem(leaf.get()));
  source_.ca_key_file = file("ca.key", testutil::keyPem(leaf_key.get()));
  source_.root_cert_file = file("root.pem", testutil::certPem(root_.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(message(m.status()), HasSubstr("not a CA"));
}

TEST_F(OperatorCaTest, IssuerThatDoesNotChainToTheRootIsRefused) {
  PkeyPtr stranger_key = testutil::makeKey();
  X509Ptr stranger =
      testutil::makeCert({.common_name = "stranger", .is_ca = true}, stranger_key.get());
  source_.ca_cert_file = file("ca.pem", testutil::certPem(inter_.get()));
  source_.ca_key_file = file("ca.key", testutil::keyPem(inter_key_.get()));
  source_.root_cert_file = file("root.pem", testutil::certPem(stranger.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(message(m.status()), HasSubstr("does not verify"));
}

TEST_F(OperatorCaTest, ExpiredIssuerIsRefused) {
  source_.ca_cert_file = file("ca.pem", testutil::certPem(root_.get()));
  source_.ca_key_file = file("ca.key", testutil::keyPem(root_key_.get()));
  auto m = loadOrCreateCa(source_, now_ + hours(48));  // test certificates last a day
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(message(m.status()), HasSubstr("expired"));
}

TEST_F(OperatorCaTest, CaCertWithoutCaKeyIsRefused) {
  source_.ca_cert_file = file("ca.pem", testutil::certPem(root_.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(m.status()), HasSubstr("--ca-key"));
  EXPECT_FALSE(std::filesystem::exists(source_.dir));
}

TEST_F(OperatorCaTest, RootCertAloneIsRefused) {
  source_.root_cert_file = file("root.pem", testutil::certPem(root_.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(OperatorCaTest, MissingFileIsNamed) {
  source_.ca_cert_file = path("nowhere.pem");
  source_.ca_key_file = file("ca.key", testutil::keyPem(root_key_.get()));
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(message(m.status()), HasSubstr("--ca-cert"));
  EXPECT_THAT(message(m.status()), HasSubstr("nowhere.pem"));
}

TEST_F(OperatorCaTest, GarbageKeyIsNamed) {
  source_.ca_cert_file = file("ca.pem", testutil::certPem(root_.get()));
  source_.ca_key_file = file("ca.key", "not a key");
  auto m = loadOrCreateCa(source_, now_);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(message(m.status()), HasSubstr("--ca-key"));
}

}  // namespace
}  // namespace weft::control::ca
