#include "control/ca/trust_rotation.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "control/ca/cert_builder.h"
#include "control/ca/certificate_authority.h"
#include "control/ca/refusal.h"
#include "identity/x509.h"
#include "runtime/atomic_file.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::control::ca {
namespace {

using identity::PkeyPtr;
using identity::X509Ptr;
using std::chrono::hours;
using ::testing::HasSubstr;

constexpr char kIdentity[] = "spiffe://example.org/ns/default/sa/web";

unsigned modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string message(const absl::Status& st) { return std::string(st.message()); }

X509Ptr parseOne(const std::string& pem) {
  auto certs = identity::parseCertificates(pem);
  EXPECT_TRUE(certs.ok()) << certs.status();
  if (!certs.ok() || certs->empty()) return nullptr;
  EXPECT_EQ(certs->size(), 1u);
  return std::move(certs->front());
}

// The SHA-256 fingerprints of the certificates of `pem`, in order.
std::vector<std::string> fingerprintsOf(const std::string& pem) {
  auto certs = identity::parseCertificates(pem);
  EXPECT_TRUE(certs.ok()) << certs.status();
  std::vector<std::string> out;
  if (!certs.ok()) return out;
  for (const X509Ptr& c : *certs) out.push_back(fingerprint(c.get()));
  return out;
}

std::vector<std::string> rootFingerprints(const CaMaterial& m) {
  std::vector<std::string> out;
  for (const X509Ptr& r : m.roots) out.push_back(fingerprint(r.get()));
  return out;
}

// Whether `leaf` verifies now against the roots of `roots_pem`, through `chain_pem`.
bool verifies(X509* leaf, const std::string& chain_pem, const std::string& roots_pem) {
  auto roots = identity::parseCertificates(roots_pem);
  auto chain = identity::parseCertificates(chain_pem);
  EXPECT_TRUE(roots.ok() && chain.ok());
  if (!roots.ok() || !chain.ok()) return false;
  X509_STORE* store = X509_STORE_new();
  for (const X509Ptr& root : *roots) X509_STORE_add_cert(store, root.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (const X509Ptr& c : *chain) sk_X509_push(untrusted, c.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, untrusted);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  return ok;
}

// Whether `cert` names `ca` as its issuer and carries `ca`'s signature.
bool signedBy(X509* cert, X509* ca) {
  return X509_check_issued(ca, cert) == X509_V_OK && X509_verify(cert, X509_get0_pubkey(ca)) == 1;
}

class TrustRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::makeTempDir();
    ca_dir_ = dir_ + "/ca";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TrustRotation> open() {
    auto r = TrustRotation::open(ca_dir_, "example.org", now_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : nullptr;
  }

  // A rotation past begin() and advance() (no holders): issuing from the new generation.
  std::unique_ptr<TrustRotation> openIssuingNew() {
    auto r = open();
    if (r == nullptr) return nullptr;
    EXPECT_TRUE(r->begin(now_).ok());
    auto moved = r->advance({});
    EXPECT_TRUE(moved.ok() && *moved);
    EXPECT_EQ(r->phase(), RotationPhase::kIssuingNew);
    return r;
  }

  Holding holding(const std::string& identity, const std::string& serial, const std::string& issuer,
                  uint64_t bundle_version) const {
    return {.identity = identity,
            .serial = serial,
            .issuer_fingerprint = issuer,
            .peer = "10.0.0.7:41000",
            .issued_at = now_,
            .not_after = now_ + hours(1),
            .bundle_version = bundle_version};
  }

  static std::string issuerOf(const TrustRotation& r) {
    return fingerprint(r.material()->issuer.get());
  }
  static std::string rootOf(const TrustRotation& r, size_t i) {
    return fingerprint(r.material()->roots.at(i).get());
  }

  std::string dir_;
  std::string ca_dir_;
  const SystemTime now_ = std::chrono::system_clock::now();
};

// ---------------------------------------------------------------- open

TEST_F(TrustRotationTest, OpenOnAnEmptyDirIsSteadyWithOneRoot) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->phase(), RotationPhase::kSteady);
  const CaMaterial& m = *r->material();
  EXPECT_EQ(m.bundle_version, 1u);
  ASSERT_EQ(m.roots.size(), 1u);
  EXPECT_EQ(fingerprintsOf(m.bundle_pem), rootFingerprints(m));
  EXPECT_FALSE(m.operator_supplied);
  for (const char* name : {"root.pem", "root.key", "intermediate.pem", "intermediate.key"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(ca_dir_ + "/" + name)) << name;
  }
  EXPECT_EQ(modeOf(ca_dir_ + "/root.key"), 0600u);
  EXPECT_EQ(modeOf(ca_dir_ + "/intermediate.key"), 0600u);
  EXPECT_TRUE(signedBy(m.issuer.get(), m.roots[0].get()));
  EXPECT_EQ(std::string(phaseName(r->phase())), "steady");
}

TEST_F(TrustRotationTest, ReopenKeepsTheSameRootAndIssuer) {
  auto first = open();
  ASSERT_NE(first, nullptr);
  auto second = open();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(rootOf(*second, 0), rootOf(*first, 0));
  EXPECT_EQ(issuerOf(*second), issuerOf(*first));
  EXPECT_EQ(second->material()->bundle_version, 1u);
  EXPECT_EQ(second->phase(), RotationPhase::kSteady);
}

TEST_F(TrustRotationTest, OpenRefusesACorruptStateFile) {
  ASSERT_NE(open(), nullptr);
  for (const char* text : {
           "not json",
           "[1, 2]",
           R"({"phase": "steady"})",
           R"({"phase": "steady", "trusted": ["."]})",
           R"({"phase": "steady", "issuer": "."})",
           R"({"phase": "sideways", "trusted": ["."], "issuer": "."})",
           R"({"phase": "steady", "trusted": [5], "issuer": "."})",
           R"({"phase": "steady", "trusted": ["."], "issuer": ".", "bundleVersion": "two"})",
           R"({"phase": "steady", "trusted": ["."], "issuer": "gen-9"})",
       }) {
    SCOPED_TRACE(text);
    testutil::writeFile(ca_dir_ + "/state.json", text);
    auto r = TrustRotation::open(ca_dir_, "example.org", now_);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
    EXPECT_THAT(message(r.status()), HasSubstr("state.json"));
  }
}

// ---------------------------------------------------------------- begin

TEST_F(TrustRotationTest, BeginAddsANewRootAfterTheOld) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  const std::string old_root = rootOf(*r, 0);
  const std::string old_issuer = issuerOf(*r);

  ASSERT_TRUE(r->begin(now_).ok());
  EXPECT_EQ(r->phase(), RotationPhase::kAdding);
  const CaMaterial& m = *r->material();
  EXPECT_EQ(m.bundle_version, 2u);
  ASSERT_EQ(m.roots.size(), 2u);
  EXPECT_EQ(rootOf(*r, 0), old_root);
  EXPECT_NE(rootOf(*r, 1), old_root);
  EXPECT_EQ(fingerprintsOf(m.bundle_pem), rootFingerprints(m));
  // Issuance stays with the old intermediate until everyone trusts the new root.
  EXPECT_EQ(issuerOf(*r), old_issuer);
  EXPECT_TRUE(signedBy(m.issuer.get(), m.roots[0].get()));

  const std::string gen = ca_dir_ + "/gen-2";
  EXPECT_EQ(modeOf(gen), 0700u);
  for (const char* name : {"root.pem", "root.key", "intermediate.pem", "intermediate.key"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(gen + "/" + name)) << name;
  }
  EXPECT_EQ(modeOf(gen + "/root.key"), 0600u);
  EXPECT_EQ(modeOf(gen + "/intermediate.key"), 0600u);
  auto gen_root = runtime::readFile(gen + "/root.pem");
  ASSERT_TRUE(gen_root.ok()) << gen_root.status();
  EXPECT_THAT(fingerprintsOf(*gen_root), ::testing::ElementsAre(rootOf(*r, 1)));
  EXPECT_EQ(modeOf(ca_dir_ + "/state.json"), 0600u);
}

TEST_F(TrustRotationTest, ASecondBeginIsRefused) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->begin(now_).ok());
  const auto roots = rootFingerprints(*r->material());

  const absl::Status st = r->begin(now_);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reasonOf(st), "rotation_in_progress");
  EXPECT_THAT(message(st), HasSubstr("adding"));
  EXPECT_EQ(r->phase(), RotationPhase::kAdding);
  EXPECT_EQ(r->material()->bundle_version, 2u);
  EXPECT_EQ(rootFingerprints(*r->material()), roots);
  EXPECT_FALSE(std::filesystem::exists(ca_dir_ + "/gen-3"));

  // Also in issuing-new.
  ASSERT_TRUE(r->advance({}).ok());
  EXPECT_EQ(reasonOf(r->begin(now_)), "rotation_in_progress");
  EXPECT_EQ(r->phase(), RotationPhase::kIssuingNew);
}

TEST_F(TrustRotationTest, ReopenInAddingKeepsPhaseVersionAndRoots) {
  std::vector<std::string> roots;
  std::string issuer;
  {
    auto r = open();
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(r->begin(now_).ok());
    roots = rootFingerprints(*r->material());
    issuer = issuerOf(*r);
  }
  auto r = open();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->phase(), RotationPhase::kAdding);
  EXPECT_EQ(r->material()->bundle_version, 2u);
  EXPECT_EQ(rootFingerprints(*r->material()), roots);
  EXPECT_EQ(issuerOf(*r), issuer);
}

TEST_F(TrustRotationTest, AMissingGenerationIsRefusedNotRecreated) {
  {
    auto r = open();
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(r->begin(now_).ok());
  }
  std::filesystem::remove_all(ca_dir_ + "/gen-2");
  auto reopened = TrustRotation::open(ca_dir_, "example.org", now_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_TRUE(absl::IsDataLoss(reopened.status())) << reopened.status();
  EXPECT_NE(std::string(reopened.status().message()).find("names generation 'gen-2'"),
            std::string::npos)
      << reopened.status();
  EXPECT_FALSE(std::filesystem::exists(ca_dir_ + "/gen-2"));
}

TEST_F(TrustRotationTest, AnIssuerNearItsEndIsRenewedFromTheSameRootWhileRunning) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  const std::vector<std::string> roots = rootFingerprints(*r->material());
  const std::string issuer = issuerOf(*r);
  auto early = r->renewIssuerIfDue(now_ + std::chrono::hours(24));
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_FALSE(*early);
  EXPECT_EQ(issuerOf(*r), issuer);

  const auto late_time = now_ + std::chrono::hours(24 * 320);
  auto late = r->renewIssuerIfDue(late_time);
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_TRUE(*late);
  EXPECT_NE(issuerOf(*r), issuer);
  EXPECT_EQ(rootFingerprints(*r->material()), roots);
  EXPECT_EQ(r->material()->bundle_version, 1u);
  auto again = r->renewIssuerIfDue(late_time);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  // A restart finds the renewed intermediate on disk.
  auto reopened = TrustRotation::open(ca_dir_, "example.org", late_time);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(issuerOf(**reopened), issuerOf(*r));
}

// ---------------------------------------------------------------- advance

TEST_F(TrustRotationTest, AdvanceWaitsForAHolderOfTheOldBundle) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  const std::string old_issuer = issuerOf(*r);
  ASSERT_TRUE(r->begin(now_).ok());

  auto moved = r->advance({holding("spiffe://example.org/ns/a/sa/x", "01", old_issuer, 2),
                           holding("spiffe://example.org/ns/b/sa/x", "02", old_issuer, 1)});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_FALSE(*moved);
  EXPECT_EQ(r->phase(), RotationPhase::kAdding);
  EXPECT_EQ(issuerOf(*r), old_issuer);

  // A holder that never said which bundle it holds counts as holding none.
  moved = r->advance({holding("spiffe://example.org/ns/a/sa/x", "01", old_issuer, 0)});
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(*moved);
  EXPECT_EQ(r->phase(), RotationPhase::kAdding);
}

TEST_F(TrustRotationTest, AdvanceIssuesFromTheNewRootOnceEveryHolderHasTheBundle) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  const std::string old_issuer = issuerOf(*r);
  ASSERT_TRUE(r->begin(now_).ok());
  const auto roots = rootFingerprints(*r->material());

  auto moved = r->advance({holding("spiffe://example.org/ns/a/sa/x", "01", old_issuer, 2),
                           holding("spiffe://example.org/ns/b/sa/x", "02", old_issuer, 2)});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_TRUE(*moved);
  EXPECT_EQ(r->phase(), RotationPhase::kIssuingNew);
  const CaMaterial& m = *r->material();
  EXPECT_NE(issuerOf(*r), old_issuer);
  ASSERT_EQ(m.roots.size(), 2u);
  EXPECT_TRUE(signedBy(m.issuer.get(), m.roots[1].get()));
  EXPECT_FALSE(signedBy(m.issuer.get(), m.roots[0].get()));
  EXPECT_EQ(rootFingerprints(m), roots);
  EXPECT_EQ(m.bundle_version, 2u);
  EXPECT_EQ(fingerprintsOf(m.bundle_pem), roots);
  EXPECT_THAT(fingerprintsOf(m.chain_pem), ::testing::ElementsAre(issuerOf(*r)));

  // A restart resumes issuing from the new intermediate.
  const std::string new_issuer = issuerOf(*r);
  r.reset();
  r = open();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->phase(), RotationPhase::kIssuingNew);
  EXPECT_EQ(issuerOf(*r), new_issuer);
  EXPECT_EQ(rootFingerprints(*r->material()), roots);
  EXPECT_EQ(r->material()->bundle_version, 2u);
}

TEST_F(TrustRotationTest, AdvanceWithNoHoldersMoves) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  const std::string old_issuer = issuerOf(*r);
  ASSERT_TRUE(r->begin(now_).ok());
  auto moved = r->advance({});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_TRUE(*moved);
  EXPECT_EQ(r->phase(), RotationPhase::kIssuingNew);
  EXPECT_NE(issuerOf(*r), old_issuer);
}

TEST_F(TrustRotationTest, AdvanceOutsideAddingDoesNothing) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  const std::string issuer = issuerOf(*r);
  auto moved = r->advance({});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_FALSE(*moved);
  EXPECT_EQ(r->phase(), RotationPhase::kSteady);
  EXPECT_EQ(issuerOf(*r), issuer);
  EXPECT_EQ(r->material()->bundle_version, 1u);
  EXPECT_FALSE(std::filesystem::exists(ca_dir_ + "/gen-2"));

  ASSERT_TRUE(r->begin(now_).ok());
  ASSERT_TRUE(*r->advance({}));
  const std::string new_issuer = issuerOf(*r);
  moved = r->advance({});
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(*moved);
  EXPECT_EQ(r->phase(), RotationPhase::kIssuingNew);
  EXPECT_EQ(issuerOf(*r), new_issuer);
}

// ---------------------------------------------------------------- finish

TEST_F(TrustRotationTest, FinishInAddingIsRefused) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->begin(now_).ok());
  const absl::Status st = r->finish({});
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reasonOf(st), "rotation_not_ready");
  EXPECT_EQ(r->phase(), RotationPhase::kAdding);
  EXPECT_EQ(r->material()->roots.size(), 2u);
  EXPECT_EQ(r->material()->bundle_version, 2u);
}

TEST_F(TrustRotationTest, FinishIsRefusedWhileAnOldLeafIsHeld) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  const std::string old_issuer = issuerOf(*r);
  ASSERT_TRUE(r->begin(now_).ok());
  ASSERT_TRUE(*r->advance({}));
  const std::string new_issuer = issuerOf(*r);

  const absl::Status st =
      r->finish({holding("spiffe://example.org/ns/a/sa/new", "0a", new_issuer, 2),
                 holding("spiffe://example.org/ns/b/sa/old", "0b", old_issuer, 2)});
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reasonOf(st), "old_leaves_held");
  EXPECT_THAT(message(st), HasSubstr("spiffe://example.org/ns/b/sa/old"));
  EXPECT_THAT(message(st), HasSubstr("0b"));
  EXPECT_THAT(message(st), ::testing::Not(HasSubstr("spiffe://example.org/ns/a/sa/new")));
  EXPECT_EQ(r->phase(), RotationPhase::kIssuingNew);
  EXPECT_EQ(r->material()->roots.size(), 2u);
  EXPECT_EQ(r->material()->bundle_version, 2u);
  EXPECT_EQ(issuerOf(*r), new_issuer);
}

TEST_F(TrustRotationTest, FinishDropsTheOldRoot) {
  auto r = openIssuingNew();
  ASSERT_NE(r, nullptr);
  const std::string new_root = rootOf(*r, 1);
  const std::string new_issuer = issuerOf(*r);

  const absl::Status st =
      r->finish({holding("spiffe://example.org/ns/a/sa/x", "01", new_issuer, 2),
                 holding("spiffe://example.org/ns/b/sa/x", "02", new_issuer, 1)});
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(r->phase(), RotationPhase::kSteady);
  const CaMaterial& m = *r->material();
  EXPECT_THAT(rootFingerprints(m), ::testing::ElementsAre(new_root));
  EXPECT_THAT(fingerprintsOf(m.bundle_pem), ::testing::ElementsAre(new_root));
  EXPECT_EQ(m.bundle_version, 3u);
  EXPECT_EQ(issuerOf(*r), new_issuer);

  r.reset();
  r = open();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->phase(), RotationPhase::kSteady);
  EXPECT_THAT(rootFingerprints(*r->material()), ::testing::ElementsAre(new_root));
  EXPECT_EQ(r->material()->bundle_version, 3u);
  EXPECT_EQ(issuerOf(*r), new_issuer);
}

TEST_F(TrustRotationTest, FinishInSteadyIsRefused) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  const absl::Status st = r->finish({});
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reasonOf(st), "rotation_not_ready");
  EXPECT_THAT(message(st), HasSubstr("no rotation in progress"));
  EXPECT_EQ(r->material()->bundle_version, 1u);

  // And again once a rotation has finished.
  r = openIssuingNew();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->finish({}).ok());
  EXPECT_THAT(message(r->finish({})), HasSubstr("no rotation in progress"));
}

TEST_F(TrustRotationTest, ASecondRotationMakesTheNextGeneration) {
  std::string second_root;
  {
    auto r = openIssuingNew();
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(r->finish({}).ok());
    second_root = rootOf(*r, 0);
  }
  auto r = open();
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->begin(now_).ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(ca_dir_ + "/gen-3/root.key"));
  ASSERT_EQ(r->material()->roots.size(), 2u);
  EXPECT_EQ(rootOf(*r, 0), second_root);
  EXPECT_NE(rootOf(*r, 1), second_root);
  EXPECT_EQ(r->material()->bundle_version, 4u);
}

// ---------------------------------------------------------------- leaves across the rotation

TEST_F(TrustRotationTest, LeavesFromBeforeTheRotationVerifyAgainstTheTwoRootBundle) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  CertificateAuthorityImpl ca(r->material(), IssuancePolicy{});
  PkeyPtr key = identity::generateKey("P-256");
  auto issued = ca.issueForKey(key.get(), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  X509Ptr leaf = parseOne(issued->certificate_pem);
  ASSERT_NE(leaf, nullptr);

  ASSERT_TRUE(r->begin(now_).ok());
  EXPECT_TRUE(verifies(leaf.get(), issued->chain_pem, r->material()->bundle_pem));
  ASSERT_TRUE(*r->advance({}));
  EXPECT_TRUE(verifies(leaf.get(), issued->chain_pem, r->material()->bundle_pem));
  // Only the old root vouches for it: finishing must wait for its holder.
  const std::string new_root_pem = identity::certificatePem(r->material()->roots[1].get());
  EXPECT_FALSE(verifies(leaf.get(), issued->chain_pem, new_root_pem));
}

TEST_F(TrustRotationTest, LeavesFromAfterAdvanceVerifyAgainstTheNewRootOnly) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  CertificateAuthorityImpl ca(r->material(), IssuancePolicy{});
  ASSERT_TRUE(r->begin(now_).ok());
  ASSERT_TRUE(*r->advance({}));
  ca.setMaterial(r->material());

  PkeyPtr key = identity::generateKey("P-256");
  auto issued = ca.issueForKey(key.get(), kIdentity);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->issuer_fingerprint, issuerOf(*r));
  EXPECT_EQ(issued->bundle_version, 2u);
  EXPECT_EQ(issued->trust_bundle_pem, r->material()->bundle_pem);
  X509Ptr leaf = parseOne(issued->certificate_pem);
  ASSERT_NE(leaf, nullptr);

  const std::string old_root_pem = identity::certificatePem(r->material()->roots[0].get());
  const std::string new_root_pem = identity::certificatePem(r->material()->roots[1].get());
  EXPECT_TRUE(verifies(leaf.get(), issued->chain_pem, r->material()->bundle_pem));
  EXPECT_TRUE(verifies(leaf.get(), issued->chain_pem, new_root_pem));
  EXPECT_FALSE(verifies(leaf.get(), issued->chain_pem, old_root_pem));

  // Still valid after finish, against the one-root bundle.
  ASSERT_TRUE(r->finish({}).ok());
  EXPECT_TRUE(verifies(leaf.get(), issued->chain_pem, r->material()->bundle_pem));
}

// ---------------------------------------------------------------- describe

TEST_F(TrustRotationTest, DescribeSaysWhatThePhaseWaitsFor) {
  auto r = open();
  ASSERT_NE(r, nullptr);
  const std::string old_issuer = issuerOf(*r);
  nlohmann::json d = r->describe({});
  EXPECT_EQ(d.value("phase", ""), "steady");
  EXPECT_EQ(d.value("bundleVersion", uint64_t{0}), 1u);
  EXPECT_FALSE(d.contains("waitingFor"));

  ASSERT_TRUE(r->begin(now_).ok());
  const std::vector<Holding> holders = {
      holding("spiffe://example.org/ns/a/sa/x", "01", old_issuer, 1),
      holding("spiffe://example.org/ns/b/sa/x", "02", old_issuer, 2),
      holding("spiffe://example.org/ns/c/sa/x", "03", old_issuer, 0)};
  d = r->describe(holders);
  EXPECT_EQ(d.value("phase", ""), "adding");
  EXPECT_EQ(d.value("bundleVersion", uint64_t{0}), 2u);
  EXPECT_EQ(d.value("waitingFor", ""), "2 proxies to report bundle version 2");

  ASSERT_TRUE(*r->advance({}));
  d = r->describe({holding("spiffe://example.org/ns/a/sa/x", "04", issuerOf(*r), 2),
                   holding("spiffe://example.org/ns/b/sa/x", "02", old_issuer, 2)});
  EXPECT_EQ(d.value("phase", ""), "issuing-new");
  EXPECT_EQ(d.value("waitingFor", ""), "1 proxies to renew from the new issuer");
}

}  // namespace
}  // namespace weft::control::ca
