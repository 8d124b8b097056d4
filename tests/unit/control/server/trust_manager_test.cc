#include "control/server/trust_manager.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/ca/cert_builder.h"
#include "control/ca/refusal.h"
#include "identity/x509.h"
#include "runtime/atomic_file.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::control {
namespace {

using ca::Holding;
using ca::RotationPhase;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;

constexpr char kWeb[] = "spiffe://example.org/ns/default/sa/web";
constexpr char kApi[] = "spiffe://example.org/ns/default/sa/api";

std::string fingerprintOf(const std::shared_ptr<const ca::CaMaterial>& m) {
  return ca::fingerprint(m->issuer.get());
}

class TrustManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::makeTempDir();
    ca_dir_ = dir_ + "/ca";
    holders_path_ = ca_dir_ + "/holders.json";
    auto rotation =
        ca::TrustRotation::open(ca_dir_, "example.org", std::chrono::system_clock::now());
    ASSERT_TRUE(rotation.ok()) << rotation.status();
    ca_ = std::make_unique<ca::CertificateAuthorityImpl>((*rotation)->material(),
                                                         ca::IssuancePolicy{});
    old_issuer_ = fingerprintOf(ca_->material());
    manager_ = std::make_unique<TrustManager>(
        io_, std::move(*rotation), *ca_, holders_, holders_path_, [this] {
          // What the CA issues with when it is called.
          material_issuers_.push_back(fingerprintOf(ca_->material()));
        });
  }

  void TearDown() override {
    if (manager_) {
      manager_->stop();
      drain();
      manager_.reset();
    }
    std::filesystem::remove_all(dir_);
  }

  // Runs what is ready (the cancelled timers' handlers) without waiting.
  void drain() {
    io_.restart();
    io_.poll();
  }

  // Runs the io_context until `done` or `limit`; whether `done`.
  bool runUntil(const std::function<bool()>& done, milliseconds limit) {
    const auto deadline = steady_clock::now() + limit;
    while (!done() && steady_clock::now() < deadline) {
      if (io_.stopped()) io_.restart();
      if (io_.run_one_for(milliseconds(50)) == 0 && io_.stopped()) break;  // nothing left to do
    }
    return done();
  }

  // A leaf from the CA as it is now, recorded as the identity service does.
  ca::IssuedCertificate issueAndRecord(const std::string& key_id, const std::string& identity,
                                       uint64_t held_version) {
    identity::PkeyPtr key = identity::generateKey("P-256");
    auto issued = ca_->issueForKey(key.get(), identity);
    EXPECT_TRUE(issued.ok()) << issued.status();
    if (!issued.ok()) return {};
    holders_.record(key_id, Holding{issued->identity, issued->serial, issued->issuer_fingerprint,
                                    "10.0.0.9:40000", std::chrono::system_clock::now(),
                                    issued->not_after, held_version});
    return *issued;
  }

  std::string phase() { return manager_->rotationStatus().value("phase", ""); }

  std::string dir_;
  std::string ca_dir_;
  std::string holders_path_;
  asio::io_context io_;
  ca::Holders holders_;
  std::unique_ptr<ca::CertificateAuthorityImpl> ca_;
  std::string old_issuer_;
  std::vector<std::string> material_issuers_;
  std::unique_ptr<TrustManager> manager_;
};

// ---------------------------------------------------------------- the holders file

TEST_F(TrustManagerTest, StartLoadsTheHoldersWrittenBefore) {
  ca::Holders before;
  before.record("key-1", {.identity = kWeb,
                          .serial = "0abc",
                          .issuer_fingerprint = old_issuer_,
                          .peer = "10.0.0.1:5000",
                          .issued_at = std::chrono::system_clock::now(),
                          .not_after = std::chrono::system_clock::now() + hours(1),
                          .bundle_version = 1});
  ASSERT_TRUE(runtime::writeFileAtomic(holders_path_, before.toJson(), 0600).ok());

  EXPECT_TRUE(holders_.current(std::chrono::system_clock::now()).empty());
  manager_->start();
  auto current = holders_.current(std::chrono::system_clock::now());
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0].identity, kWeb);
  EXPECT_EQ(current[0].serial, "0abc");
  EXPECT_EQ(current[0].issuer_fingerprint, old_issuer_);
  EXPECT_EQ(current[0].bundle_version, 1u);
}

TEST_F(TrustManagerTest, StartSurvivesAMissingOrGarbledHoldersFile) {
  manager_->start();
  EXPECT_TRUE(holders_.current(std::chrono::system_clock::now()).empty());
  manager_->stop();
  drain();

  testutil::writeFile(holders_path_, "{ this is not json");
  ca::Holders holders;
  TrustManager other(io_, nullptr, *ca_, holders, holders_path_, nullptr);
  other.start();
  EXPECT_TRUE(holders.current(std::chrono::system_clock::now()).empty());
  other.stop();
  drain();
}

TEST_F(TrustManagerTest, HoldersChangedSavesWithinASecond) {
  manager_->start();
  const auto issued = issueAndRecord("key-1", kWeb, 1);
  const auto t0 = steady_clock::now();
  manager_->holdersChanged();
  // Not written on the spot: a burst of issuances makes one write.
  EXPECT_FALSE(std::filesystem::exists(holders_path_));
  ASSERT_TRUE(runUntil([&] { return std::filesystem::exists(holders_path_); }, milliseconds(2500)));
  EXPECT_LT(steady_clock::now() - t0, milliseconds(1800));

  struct stat st {};
  ASSERT_EQ(::stat(holders_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto text = runtime::readFile(holders_path_);
  ASSERT_TRUE(text.ok()) << text.status();
  ca::Holders loaded;
  loaded.loadJson(*text);
  auto current = loaded.current(std::chrono::system_clock::now());
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0].identity, kWeb);
  EXPECT_EQ(current[0].serial, issued.serial);

  // A later change is saved too.
  issueAndRecord("key-2", kApi, 1);
  manager_->holdersChanged();
  ASSERT_TRUE(runUntil(
      [&] {
        ca::Holders h;
        auto t = runtime::readFile(holders_path_);
        if (t.ok()) h.loadJson(*t);
        return h.current(std::chrono::system_clock::now()).size() == 2;
      },
      milliseconds(2500)));
}

TEST_F(TrustManagerTest, StopFlushesAPendingSave) {
  manager_->start();
  const auto issued = issueAndRecord("key-1", kWeb, 1);
  manager_->holdersChanged();
  EXPECT_FALSE(std::filesystem::exists(holders_path_));
  manager_->stop();
  auto text = runtime::readFile(holders_path_);
  ASSERT_TRUE(text.ok()) << text.status();
  ca::Holders loaded;
  loaded.loadJson(*text);
  auto current = loaded.current(std::chrono::system_clock::now());
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0].serial, issued.serial);
  // And the cancelled timer does not write again later.
  std::filesystem::remove(holders_path_);
  EXPECT_FALSE(
      runUntil([&] { return std::filesystem::exists(holders_path_); }, milliseconds(1500)));
}

// ---------------------------------------------------------------- the rotation

TEST_F(TrustManagerTest, BeginWithNoHoldersGoesStraightToIssuingNew) {
  manager_->start();
  ASSERT_TRUE(manager_->beginRotation().ok());
  EXPECT_EQ(phase(), "issuing-new");
  const auto m = ca_->material();
  EXPECT_NE(fingerprintOf(m), old_issuer_);
  EXPECT_EQ(m->roots.size(), 2u);
  EXPECT_EQ(m->bundle_version, 2u);
  // Once for the two-root bundle (still the old issuer), once for the new issuer; each time the
  // CA already had the new material.
  ASSERT_EQ(material_issuers_.size(), 2u);
  EXPECT_EQ(material_issuers_[0], old_issuer_);
  EXPECT_EQ(material_issuers_[1], fingerprintOf(m));

  // What the CA issues now comes from the new intermediate.
  const auto issued = issueAndRecord("key-1", kWeb, 2);
  EXPECT_EQ(issued.issuer_fingerprint, fingerprintOf(m));
  EXPECT_EQ(issued.bundle_version, 2u);
}

TEST_F(TrustManagerTest, BeginWaitsForHoldersOfTheOldBundle) {
  manager_->start();
  issueAndRecord("key-1", kWeb, 1);
  manager_->holdersChanged();

  ASSERT_TRUE(manager_->beginRotation().ok());
  EXPECT_EQ(phase(), "adding");
  EXPECT_EQ(fingerprintOf(ca_->material()), old_issuer_);
  EXPECT_EQ(ca_->material()->bundle_version, 2u);
  EXPECT_EQ(ca_->material()->roots.size(), 2u);
  EXPECT_EQ(material_issuers_.size(), 1u);
  nlohmann::json status = manager_->rotationStatus();
  EXPECT_EQ(status.value("bundleVersion", uint64_t{0}), 2u);
  EXPECT_EQ(status.value("waitingFor", ""), "1 proxies to report bundle version 2");

  // A second begin is refused and changes nothing.
  const absl::Status again = manager_->beginRotation();
  EXPECT_EQ(reasonOf(again), "rotation_in_progress");
  EXPECT_EQ(material_issuers_.size(), 1u);

  // The proxy renews saying it holds version 2 (its leaf still from the old issuer).
  const auto renewed = issueAndRecord("key-1", kWeb, 2);
  EXPECT_EQ(renewed.issuer_fingerprint, old_issuer_);
  EXPECT_EQ(renewed.bundle_version, 2u);
  manager_->holdersChanged();
  EXPECT_EQ(phase(), "issuing-new");
  EXPECT_NE(fingerprintOf(ca_->material()), old_issuer_);
  ASSERT_EQ(material_issuers_.size(), 2u);
  EXPECT_EQ(material_issuers_[1], fingerprintOf(ca_->material()));
  status = manager_->rotationStatus();
  EXPECT_EQ(status.value("waitingFor", ""), "1 proxies to renew from the new issuer");
}

TEST_F(TrustManagerTest, ThePeriodicCheckAdvancesWithoutAnIssuance) {
  manager_->start();
  issueAndRecord("key-1", kWeb, 1);
  ASSERT_TRUE(manager_->beginRotation().ok());
  ASSERT_EQ(phase(), "adding");
  // Recorded without holdersChanged(): the check every few seconds sees it.
  issueAndRecord("key-1", kWeb, 2);
  EXPECT_TRUE(runUntil([&] { return material_issuers_.size() == 2; }, milliseconds(3500)));
  EXPECT_EQ(phase(), "issuing-new");
  EXPECT_NE(fingerprintOf(ca_->material()), old_issuer_);
}

TEST_F(TrustManagerTest, FinishIsRefusedWhileAnOldLeafIsHeld) {
  manager_->start();
  issueAndRecord("key-1", kWeb, 1);
  issueAndRecord("key-2", kApi, 1);
  ASSERT_TRUE(manager_->beginRotation().ok());
  const auto old_leaf = issueAndRecord("key-1", kWeb, 2);
  issueAndRecord("key-2", kApi, 2);
  manager_->holdersChanged();
  ASSERT_EQ(phase(), "issuing-new");
  const std::string new_issuer = fingerprintOf(ca_->material());
  ASSERT_EQ(material_issuers_.size(), 2u);

  // kApi renews from the new issuer; kWeb still holds its leaf from the old one.
  issueAndRecord("key-2", kApi, 2);
  manager_->holdersChanged();
  absl::Status st = manager_->finishRotation();
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reasonOf(st), "old_leaves_held");
  EXPECT_THAT(std::string(st.message()), HasSubstr(kWeb));
  EXPECT_THAT(std::string(st.message()), HasSubstr(old_leaf.serial));
  EXPECT_THAT(std::string(st.message()), ::testing::Not(HasSubstr(kApi)));
  EXPECT_EQ(phase(), "issuing-new");
  EXPECT_EQ(ca_->material()->roots.size(), 2u);
  EXPECT_EQ(material_issuers_.size(), 2u);

  // kWeb renews: nobody holds an old leaf any more.
  const auto new_leaf = issueAndRecord("key-1", kWeb, 2);
  EXPECT_EQ(new_leaf.issuer_fingerprint, new_issuer);
  manager_->holdersChanged();
  st = manager_->finishRotation();
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(phase(), "steady");
  EXPECT_EQ(ca_->material()->roots.size(), 1u);
  EXPECT_EQ(ca_->material()->bundle_version, 3u);
  EXPECT_EQ(fingerprintOf(ca_->material()), new_issuer);
  EXPECT_EQ(material_issuers_.size(), 3u);
  const nlohmann::json status = manager_->rotationStatus();
  EXPECT_EQ(status.value("bundleVersion", uint64_t{0}), 3u);
  EXPECT_FALSE(status.contains("waitingFor"));
}

TEST_F(TrustManagerTest, FinishWithoutARotationIsRefused) {
  manager_->start();
  const absl::Status st = manager_->finishRotation();
  EXPECT_EQ(reasonOf(st), "rotation_not_ready");
  EXPECT_THAT(std::string(st.message()), HasSubstr("no rotation in progress"));
  EXPECT_TRUE(material_issuers_.empty());
  EXPECT_EQ(fingerprintOf(ca_->material()), old_issuer_);
}

TEST_F(TrustManagerTest, StatusInSteadyWaitsForNothing) {
  manager_->start();
  issueAndRecord("key-1", kWeb, 1);
  const nlohmann::json status = manager_->rotationStatus();
  EXPECT_EQ(status.value("phase", ""), "steady");
  EXPECT_EQ(status.value("bundleVersion", uint64_t{0}), 1u);
  EXPECT_FALSE(status.contains("waitingFor"));
}

TEST_F(TrustManagerTest, ARestartMidRotationRemembersWhoHoldsWhat) {
  manager_->start();
  issueAndRecord("key-1", kWeb, 1);
  ASSERT_TRUE(manager_->beginRotation().ok());
  const auto old_leaf = issueAndRecord("key-1", kWeb, 2);
  manager_->holdersChanged();
  ASSERT_EQ(phase(), "issuing-new");
  manager_->stop();
  drain();
  manager_.reset();

  // weft-control restarts: the rotation state and the holders come back from disk.
  auto rotation = ca::TrustRotation::open(ca_dir_, "example.org", std::chrono::system_clock::now());
  ASSERT_TRUE(rotation.ok()) << rotation.status();
  ca::CertificateAuthorityImpl ca((*rotation)->material(), ca::IssuancePolicy{});
  ca::Holders holders;
  TrustManager restarted(io_, std::move(*rotation), ca, holders, holders_path_, nullptr);
  restarted.start();
  EXPECT_EQ(restarted.rotationStatus().value("phase", ""), "issuing-new");
  const absl::Status st = restarted.finishRotation();
  EXPECT_EQ(reasonOf(st), "old_leaves_held");
  EXPECT_THAT(std::string(st.message()), HasSubstr(old_leaf.serial));
  restarted.stop();
  drain();
}

}  // namespace
}  // namespace weft::control
