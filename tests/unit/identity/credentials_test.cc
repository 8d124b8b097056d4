#include "identity/credentials.h"

#include <chrono>
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::identity {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kTrustDomain[] = "cluster.local";
constexpr char kIdentity[] = "spiffe://cluster.local/ns/default/sa/web";

std::string message(const absl::Status& st) { return std::string(weft::sv(st.message())); }

// A CA, a leaf issued by it for kIdentity, written out as PEM files in a fresh directory.
class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::makeTempDir();
    ca_ = testutil::makeCert({.common_name = "ca", .is_ca = true}, ca_key_.get());
    leaf_ = issue(kIdentity, leaf_key_.get());
    files_ = {path("cert.pem"), path("key.pem"), path("bundle.pem")};
    testutil::writeFile(files_.cert, testutil::certPem(leaf_.get()));
    testutil::writeFile(files_.key, testutil::keyPem(leaf_key_.get()));
    testutil::writeFile(files_.trust_bundle, testutil::certPem(ca_.get()));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  testutil::X509Ptr issue(const std::string& uri, EVP_PKEY* key) {
    return testutil::makeCert({.common_name = "web", .uri_sans = {uri}}, key, ca_.get(),
                              ca_key_.get());
  }

  absl::StatusOr<std::shared_ptr<const Credentials>> load() {
    return Credentials::load(files_, kTrustDomain, kIdentity);
  }

  std::string dir_;
  testutil::PkeyPtr ca_key_ = testutil::makeKey();
  testutil::PkeyPtr leaf_key_ = testutil::makeKey();
  testutil::X509Ptr ca_;
  testutil::X509Ptr leaf_;
  CredentialFiles files_;
};

TEST_F(CredentialsTest, LoadsMatchingFiles) {
  auto creds = load();
  ASSERT_TRUE(creds.ok()) << creds.status();
  EXPECT_EQ((*creds)->identity(), kIdentity);
  EXPECT_EQ((*creds)->trustDomain(), kTrustDomain);
  auto left = (*creds)->notAfter() - std::chrono::system_clock::now();
  EXPECT_GT(left, std::chrono::hours(23));
  EXPECT_LE(left, std::chrono::hours(24));
  EXPECT_NE((*creds)->serverContext().native_handle(), nullptr);
  EXPECT_NE((*creds)->clientContext().native_handle(), nullptr);
}

TEST_F(CredentialsTest, MissingCertificateNamesPath) {
  files_.cert = path("nope/cert.pem");
  auto creds = load();
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(message(creds.status()), HasSubstr(files_.cert));
}

TEST_F(CredentialsTest, MissingKeyNamesPath) {
  files_.key = path("missing-key.pem");
  auto creds = load();
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(message(creds.status()), HasSubstr(files_.key));
}

TEST_F(CredentialsTest, MissingBundleNamesPath) {
  files_.trust_bundle = path("missing-bundle.pem");
  auto creds = load();
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(message(creds.status()), HasSubstr(files_.trust_bundle));
}

TEST_F(CredentialsTest, GarbageCertificateIsRejected) {
  testutil::writeFile(files_.cert, "not a certificate\n");
  auto creds = load();
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(message(creds.status()), HasSubstr(files_.cert));
}

TEST_F(CredentialsTest, KeyNotMatchingCertificate) {
  testutil::PkeyPtr other = testutil::makeKey();
  testutil::writeFile(files_.key, testutil::keyPem(other.get()));
  auto creds = load();
  ASSERT_FALSE(creds.ok());
  EXPECT_EQ(creds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(creds.status()), AllOf(HasSubstr(files_.key), HasSubstr("match")));
}

TEST_F(CredentialsTest, IdentityMismatchNamesBoth) {
  const std::string other = "spiffe://cluster.local/ns/default/sa/backend";
  testutil::writeFile(files_.cert, testutil::certPem(issue(other, leaf_key_.get()).get()));
  auto creds = load();
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(message(creds.status()),
              AllOf(HasSubstr(files_.cert), HasSubstr(other), HasSubstr(kIdentity)));
}

TEST_F(CredentialsTest, CertificateWithoutSpiffeId) {
  auto plain = testutil::makeCert({.common_name = "web", .dns_sans = {"web"}}, leaf_key_.get(),
                                  ca_.get(), ca_key_.get());
  testutil::writeFile(files_.cert, testutil::certPem(plain.get()));
  auto creds = load();
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(message(creds.status()), AllOf(HasSubstr(files_.cert), HasSubstr("no URI SAN")));
}

TEST_F(CredentialsTest, CertificateNotChainingToBundle) {
  testutil::PkeyPtr other_key = testutil::makeKey();
  auto other_ca = testutil::makeCert({.common_name = "other-ca", .is_ca = true}, other_key.get());
  testutil::writeFile(files_.trust_bundle, testutil::certPem(other_ca.get()));
  auto creds = load();
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(message(creds.status()),
              AllOf(HasSubstr(files_.cert), HasSubstr("does not verify against the trust bundle")));
}

TEST_F(CredentialsTest, SelfSignedLeafDoesNotChain) {
  auto self = testutil::makeCert({.common_name = "web", .uri_sans = {kIdentity}}, leaf_key_.get());
  testutil::writeFile(files_.cert, testutil::certPem(self.get()));
  auto creds = load();
  ASSERT_FALSE(creds.ok());
  EXPECT_THAT(message(creds.status()), HasSubstr("trust bundle"));
}

TEST_F(CredentialsTest, ChainFileWithIntermediate) {
  testutil::PkeyPtr mid_key = testutil::makeKey();
  auto mid = testutil::makeCert({.common_name = "intermediate", .is_ca = true}, mid_key.get(),
                                ca_.get(), ca_key_.get());
  auto leaf = testutil::makeCert({.common_name = "web", .uri_sans = {kIdentity}}, leaf_key_.get(),
                                 mid.get(), mid_key.get());
  testutil::writeFile(files_.cert, testutil::certPem(leaf.get()) + testutil::certPem(mid.get()));
  auto creds = load();
  EXPECT_TRUE(creds.ok()) << creds.status();
}

}  // namespace
}  // namespace weft::identity
