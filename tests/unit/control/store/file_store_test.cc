// FileStore (control/store/file_store.h) on a real directory: revisions, compare-and-swap,
// reopening after a clean stop and after a torn write, compaction into a snapshot, the change
// history watchers read, leases, and a write the disk refuses.

#include "control/store/file_store.h"

#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/identity/test_certs.h"

namespace weft::control::store {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testutil::makeTempDir() + "/store"; }
  void TearDown() override {
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
  }

  std::unique_ptr<FileStore> open() {
    auto s = FileStore::open(dir_, now_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::vector<std::string> keys(const Store& s, std::string_view prefix = "") {
    std::vector<std::string> out;
    for (const KeyValue& kv : s.list(prefix)) out.push_back(kv.key);
    return out;
  }

  std::string dir_;
  Clock::time_point now_ = Clock::now();
};

TEST_F(FileStoreTest, EachChangeTakesTheNextRevision) {
  auto s = open();
  EXPECT_EQ(s->revision(), 0);
  ASSERT_EQ(*s->put("/routes/a", "1"), 1);
  ASSERT_EQ(*s->put("/routes/b", "2"), 2);
  ASSERT_EQ(*s->put("/routes/a", "3"), 3);
  auto a = s->get("/routes/a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->value, "3");
  EXPECT_EQ(a->create_revision, 1);
  EXPECT_EQ(a->mod_revision, 3);
  ASSERT_EQ(*s->remove("/routes/b"), 4);
  EXPECT_FALSE(s->get("/routes/b").has_value());
  EXPECT_EQ(s->revision(), 4);
}

TEST_F(FileStoreTest, ListsByPrefixInKeyOrder) {
  auto s = open();
  ASSERT_TRUE(s->put("/services/b", "x").ok());
  ASSERT_TRUE(s->put("/services/a", "x").ok());
  ASSERT_TRUE(s->put("/routes/a", "x").ok());
  EXPECT_EQ(keys(*s, "/services/"), (std::vector<std::string>{"/services/a", "/services/b"}));
  EXPECT_EQ(keys(*s).size(), 3u);
}

TEST_F(FileStoreTest, AStaleUpdateIsAbortedAndChangesNothing) {
  auto s = open();
  ASSERT_EQ(*s->put("/k", "v1", 0), 1);  // 0: create only
  auto again = s->put("/k", "v2", 0);
  EXPECT_TRUE(absl::IsAborted(again.status())) << again.status();
  auto stale = s->put("/k", "v2", 7);
  EXPECT_TRUE(absl::IsAborted(stale.status()));
  EXPECT_THAT(std::string(stale.status().message()),
              HasSubstr("resourceVersion 7 is stale (now 1)"));
  EXPECT_EQ(s->get("/k")->value, "v1");
  EXPECT_EQ(s->revision(), 1);
  ASSERT_EQ(*s->put("/k", "v2", 1), 2);
  EXPECT_TRUE(absl::IsAborted(s->remove("/k", 1).status()));
  EXPECT_TRUE(absl::IsNotFound(s->remove("/nope").status()));
  ASSERT_TRUE(s->remove("/k", 2).ok());
}

TEST_F(FileStoreTest, ReopeningFindsEveryAcknowledgedChange) {
  {
    auto s = open();
    ASSERT_TRUE(s->put("/a", "1").ok());
    ASSERT_TRUE(s->put("/b", "2").ok());
    ASSERT_TRUE(s->put("/a", "3").ok());
    ASSERT_TRUE(s->remove("/b").ok());
  }
  auto s = open();
  EXPECT_EQ(s->revision(), 4);
  EXPECT_EQ(keys(*s), (std::vector<std::string>{"/a"}));
  EXPECT_EQ(s->get("/a")->value, "3");
  EXPECT_EQ(s->get("/a")->create_revision, 1);
  ASSERT_EQ(*s->put("/c", "4"), 5);
}

TEST_F(FileStoreTest, ATornLastRecordIsCutOffAndTheRestKept) {
  {
    auto s = open();
    ASSERT_TRUE(s->put("/a", "1").ok());
    ASSERT_TRUE(s->put("/b", "2").ok());
  }
  {
    std::ofstream log(dir_ + "/log", std::ios::app);
    log << R"({"op":"put","rev":3,"kv":{"key":"/torn")";  // a crash in the middle of a write
  }
  {
    auto s = open();
    EXPECT_EQ(s->revision(), 2);
    EXPECT_EQ(keys(*s), (std::vector<std::string>{"/a", "/b"}));
    ASSERT_EQ(*s->put("/c", "3"), 3);
  }
  auto s = open();
  EXPECT_EQ(keys(*s), (std::vector<std::string>{"/a", "/b", "/c"}));
}

TEST_F(FileStoreTest, CompactionWritesASnapshotAndLosesNothing) {
  {
    auto s = open();
    for (size_t i = 0; i < FileStore::kCompactAfter + 10; ++i) {
      ASSERT_TRUE(s->put("/k" + std::to_string(i % 50), std::to_string(i)).ok());
    }
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/snapshot.json"));
  EXPECT_LT(std::filesystem::file_size(dir_ + "/log"), 4096u);
  auto s = open();
  EXPECT_EQ(s->revision(), static_cast<Revision>(FileStore::kCompactAfter + 10));
  EXPECT_EQ(s->list("").size(), 50u);
  EXPECT_EQ(s->get("/k9")->value, std::to_string(FileStore::kCompactAfter + 9));
}

TEST_F(FileStoreTest, ChangesSinceARevisionAndWatchers) {
  auto s = open();
  std::vector<std::string> seen;
  s->onChange([&](const Event& e) {
    seen.push_back((e.type == Event::Type::kPut ? "put " : "del ") + e.kv.key);
  });
  ASSERT_TRUE(s->put("/routes/a", "1").ok());
  ASSERT_TRUE(s->put("/services/a", "1").ok());
  ASSERT_TRUE(s->remove("/routes/a").ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"put /routes/a", "put /services/a", "del /routes/a"}));
  auto changes = s->changesSince("/routes/", 0);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ((*changes)[1].type, Event::Type::kDelete);
  EXPECT_EQ((*changes)[1].kv.mod_revision, 3);
  EXPECT_TRUE(s->changesSince("", 3)->empty());
  // After a restart the history starts over: an older revision must list again.
  s.reset();
  auto reopened = open();
  EXPECT_TRUE(absl::IsOutOfRange(reopened->changesSince("", 1).status()));
  EXPECT_TRUE(reopened->changesSince("", 3)->empty());
}

TEST_F(FileStoreTest, KeysOnALeaseGoWithIt) {
  auto s = open();
  auto lease = s->grantLease(seconds(10), now_);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(s->put("/registry/web-1", "x", {}, *lease).ok());
  ASSERT_TRUE(s->put("/routes/a", "x").ok());
  EXPECT_EQ(*s->expireLeases(now_ + seconds(9)), 0u);
  ASSERT_TRUE(s->keepAlive(*lease, now_ + seconds(9)).ok());
  EXPECT_EQ(*s->expireLeases(now_ + seconds(15)), 0u);  // kept alive until 19 s
  EXPECT_EQ(*s->expireLeases(now_ + seconds(19)), 1u);
  EXPECT_EQ(keys(*s), (std::vector<std::string>{"/routes/a"}));
  EXPECT_TRUE(absl::IsNotFound(s->keepAlive(*lease, now_ + seconds(20))));
  EXPECT_TRUE(absl::IsNotFound(s->put("/registry/web-2", "x", {}, *lease).status()));
}

TEST_F(FileStoreTest, RevokeDeletesTheLeaseKeysAndALeaseSurvivesARestartWithItsFullTtl) {
  LeaseId kept = 0;
  {
    auto s = open();
    auto gone = s->grantLease(seconds(10), now_);
    kept = *s->grantLease(seconds(10), now_);
    ASSERT_TRUE(s->put("/registry/a", "x", {}, *gone).ok());
    ASSERT_TRUE(s->put("/registry/b", "x", {}, kept).ok());
    ASSERT_TRUE(s->revokeLease(*gone).ok());
    EXPECT_EQ(keys(*s), (std::vector<std::string>{"/registry/b"}));
  }
  now_ += seconds(60);  // weft-control was down for a minute
  auto s = open();
  EXPECT_EQ(keys(*s), (std::vector<std::string>{"/registry/b"}));
  EXPECT_EQ(*s->expireLeases(now_ + seconds(5)), 0u);
  ASSERT_TRUE(s->keepAlive(kept, now_ + seconds(5)).ok());
  EXPECT_EQ(*s->expireLeases(now_ + seconds(16)), 1u);
  EXPECT_TRUE(s->list("").empty());
  EXPECT_NE(*s->grantLease(seconds(1), now_), kept);  // ids are never reused
}

// After a restart the proxies need time to come back (their backoff, a queue of handshakes):
// restored leases live for the grace when it is longer than their ttl; new ones for their ttl.
TEST_F(FileStoreTest, RestoredLeasesLiveForTheRestoreGrace) {
  {
    auto s = open();
    const LeaseId lease = *s->grantLease(seconds(3), now_);
    ASSERT_TRUE(s->put("/registry/a", "x", {}, lease).ok());
  }
  now_ += seconds(30);
  auto reopened = FileStore::open(dir_, now_, seconds(60));
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  FileStore& s = **reopened;
  const LeaseId fresh = *s.grantLease(seconds(3), now_);
  ASSERT_TRUE(s.put("/registry/b", "x", {}, fresh).ok());
  EXPECT_EQ(*s.expireLeases(now_ + seconds(4)), 1u);  // the new one, after its ttl
  EXPECT_EQ(keys(s), (std::vector<std::string>{"/registry/a"}));
  EXPECT_EQ(*s.expireLeases(now_ + seconds(59)), 0u);
  EXPECT_EQ(*s.expireLeases(now_ + seconds(60)), 1u);  // the restored one, after the grace
  EXPECT_TRUE(s.list("").empty());
}

TEST_F(FileStoreTest, AWriteTheDiskRefusesChangesNothing) {
  auto s = open();
  ASSERT_TRUE(s->put("/a", "1").ok());
  const auto size = std::filesystem::file_size(dir_ + "/log");
  // The file size limit stands in for a full disk: the write fails part way.
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit tight = old;
  tight.rlim_cur = size + 16;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
  auto failed = s->put("/b", std::string(4096, 'x'));
  ::setrlimit(RLIMIT_FSIZE, &old);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("cannot write"));
  EXPECT_EQ(s->revision(), 1);
  EXPECT_FALSE(s->get("/b").has_value());
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/log"), size);
  ASSERT_EQ(*s->put("/c", "3"), 2);
  s.reset();
  auto reopened = open();
  EXPECT_EQ(keys(*reopened), (std::vector<std::string>{"/a", "/c"}));
}

TEST_F(FileStoreTest, ACommitIsAllOrNothingUnderOneRevisionAndSurvivesAReopen) {
  {
    auto s = open();
    ASSERT_EQ(*s->put("/a", "1"), 1);
    std::vector<Event> seen;
    s->onChange([&](const Event& e) { seen.push_back(e); });
    // One stale compare refuses the whole commit: nothing written, no revision used.
    auto stale = s->commit({{Op::Type::kPut, "/b", "2"}, {Op::Type::kPut, "/a", "x", 7}});
    EXPECT_TRUE(absl::IsAborted(stale.status())) << stale.status();
    EXPECT_FALSE(s->get("/b").has_value());
    EXPECT_EQ(s->revision(), 1);
    EXPECT_TRUE(seen.empty());
    EXPECT_TRUE(absl::IsNotFound(s->commit({{Op::Type::kDelete, "/nope"}}).status()));
    EXPECT_TRUE(absl::IsInvalidArgument(
        s->commit({{Op::Type::kPut, "/c", "1"}, {Op::Type::kPut, "/c", "2"}}).status()));

    auto rev = s->commit(
        {{Op::Type::kPut, "/b", "2"}, {Op::Type::kPut, "/a", "3", 1}, {Op::Type::kDelete, "/a"}});
    EXPECT_FALSE(rev.ok());  // "/a" twice
    rev = s->commit({{Op::Type::kPut, "/b", "2"}, {Op::Type::kDelete, "/a", "", 1}});
    ASSERT_TRUE(rev.ok()) << rev.status();
    EXPECT_EQ(*rev, 2);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].kv.mod_revision, 2);
    EXPECT_EQ(seen[1].type, Event::Type::kDelete);
    auto changes = s->changesSince("/", 1);
    ASSERT_TRUE(changes.ok());
    EXPECT_EQ(changes->size(), 2u);
  }
  auto s = open();
  EXPECT_EQ(s->revision(), 2);
  EXPECT_EQ(keys(*s), (std::vector<std::string>{"/b"}));
  EXPECT_EQ(s->get("/b")->mod_revision, 2);
}

}  // namespace
}  // namespace weft::control::store
