#include "runtime/atomic_file.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string message(const absl::Status& st) { return std::string(st.message()); }

unsigned modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Sets the process umask for one test and puts the old one back.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "weft-atomic-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      out.push_back(e.path().filename().string());
    }
    return out;
  }

  std::string dir_;
};

TEST_F(AtomicFileTest, WriteThenReadRoundTrips) {
  ASSERT_TRUE(writeFileAtomic(path("f"), "hello\n", 0644).ok());
  auto text = readFile(path("f"));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "hello\n");
}

TEST_F(AtomicFileTest, RoundTripsLargeBinaryContents) {
  std::string contents(100000, '\0');
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(writeFileAtomic(path("bin"), contents, 0600).ok());
  auto text = readFile(path("bin"));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, contents);
}

TEST_F(AtomicFileTest, EmptyContents) {
  ASSERT_TRUE(writeFileAtomic(path("empty"), "", 0600).ok());
  auto text = readFile(path("empty"));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "");
}

TEST_F(AtomicFileTest, ModeIsExactly0600WithUmaskZero) {
  ScopedUmask mask(0);
  ASSERT_TRUE(writeFileAtomic(path("secret"), "s", 0600).ok());
  EXPECT_EQ(modeOf(path("secret")), 0600u);
}

TEST_F(AtomicFileTest, ModeIsExactlyAsAskedWhateverTheUmask) {
  ScopedUmask mask(0077);
  ASSERT_TRUE(writeFileAtomic(path("public"), "p", 0644).ok());
  EXPECT_EQ(modeOf(path("public")), 0644u);
}

TEST_F(AtomicFileTest, OverwriteReplacesContentsAndMode) {
  ASSERT_TRUE(writeFileAtomic(path("f"), "the old, longer contents", 0644).ok());
  ASSERT_TRUE(writeFileAtomic(path("f"), "new", 0600).ok());
  auto text = readFile(path("f"));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "new");
  EXPECT_EQ(modeOf(path("f")), 0600u);
}

TEST_F(AtomicFileTest, LeavesNoTemporaryFiles) {
  ASSERT_TRUE(writeFileAtomic(path("f"), "one", 0600).ok());
  ASSERT_TRUE(writeFileAtomic(path("f"), "two", 0600).ok());
  ASSERT_TRUE(writeFileAtomic(path("g"), "three", 0600).ok());
  std::vector<std::string> names = entries();
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names, ElementsAre("f", "g"));
}

TEST_F(AtomicFileTest, WriteIntoAMissingDirectoryFailsNamingThePath) {
  absl::Status st = writeFileAtomic(path("missing/f"), "x", 0600);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(message(st), HasSubstr(path("missing/f")));
  EXPECT_FALSE(std::filesystem::exists(path("missing")));
}

TEST_F(AtomicFileTest, ReadMissingFileIsNotFound) {
  auto text = readFile(path("nope"));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AtomicFileTest, ReadRefusesPastMaxBytes) {
  ASSERT_TRUE(writeFileAtomic(path("f"), std::string(100, 'x'), 0600).ok());
  auto exact = readFile(path("f"), 100);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->size(), 100u);

  auto over = readFile(path("f"), 99);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(message(over.status()), HasSubstr("99"));
}

TEST_F(AtomicFileTest, ReadRefusesPastMaxBytesOverSeveralReads) {
  ASSERT_TRUE(writeFileAtomic(path("big"), std::string(50000, 'x'), 0600).ok());
  EXPECT_FALSE(readFile(path("big"), 20000).ok());
  EXPECT_TRUE(readFile(path("big"), 50000).ok());
}

TEST_F(AtomicFileTest, EnsurePrivateDirCreatesNestedDirectory0700) {
  ScopedUmask mask(0022);
  const std::string dir = path("a/b/c");
  ASSERT_TRUE(ensurePrivateDir(dir).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_EQ(modeOf(dir), 0700u);
}

TEST_F(AtomicFileTest, EnsurePrivateDirAcceptsAnExistingDirectory) {
  ASSERT_TRUE(ensurePrivateDir(path("d")).ok());
  ASSERT_TRUE(writeFileAtomic(path("d/keep"), "k", 0600).ok());
  EXPECT_TRUE(ensurePrivateDir(path("d")).ok());
  EXPECT_TRUE(std::filesystem::exists(path("d/keep")));
}

TEST_F(AtomicFileTest, EnsurePrivateDirRefusesARegularFile) {
  ASSERT_TRUE(writeFileAtomic(path("file"), "x", 0600).ok());
  absl::Status st = ensurePrivateDir(path("file"));
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(message(st), HasSubstr("not a directory"));
}

TEST_F(AtomicFileTest, EnsurePrivateDirRefusesAPathUnderARegularFile) {
  ASSERT_TRUE(writeFileAtomic(path("file"), "x", 0600).ok());
  EXPECT_FALSE(ensurePrivateDir(path("file/sub")).ok());
}

}  // namespace
}  // namespace weft::runtime
