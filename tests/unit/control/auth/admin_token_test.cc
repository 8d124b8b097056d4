#include "control/auth/admin_token.h"

#include <sys/stat.h>

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/atomic_file.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::control::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class AdminTokenTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testutil::makeTempDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name = "admin.token") const { return dir_ + "/" + name; }

  // The token as written to `file`, without its newline.
  std::string tokenIn(const std::string& file) {
    auto text = runtime::readFile(file);
    EXPECT_TRUE(text.ok()) << text.status();
    std::string token = text.ok() ? *text : std::string();
    if (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
  }

  std::string dir_;
};

TEST_F(AdminTokenTest, LoadOrCreateWritesAPrivateFile) {
  auto token = AdminToken::loadOrCreate(path());
  ASSERT_TRUE(token.ok()) << token.status();
  struct stat st {};
  ASSERT_EQ(::stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const std::string written = tokenIn(path());
  EXPECT_THAT(written, StartsWith("weft-admin-"));
  EXPECT_GE(written.size(), 40u);
  EXPECT_TRUE(token->accepts("Bearer " + written));
}

TEST_F(AdminTokenTest, SecondLoadKeepsTheToken) {
  auto first = AdminToken::loadOrCreate(path());
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string written = tokenIn(path());
  auto second = AdminToken::loadOrCreate(path());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(tokenIn(path()), written);
  EXPECT_TRUE(first->accepts("Bearer " + written));
  EXPECT_TRUE(second->accepts("Bearer " + written));
}

TEST_F(AdminTokenTest, TwoDataDirsHaveDifferentTokens) {
  auto a = AdminToken::loadOrCreate(path("a.token"));
  auto b = AdminToken::loadOrCreate(path("b.token"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(tokenIn(path("a.token")), tokenIn(path("b.token")));
  EXPECT_FALSE(a->accepts("Bearer " + tokenIn(path("b.token"))));
}

TEST_F(AdminTokenTest, KeepsAnOperatorsOwnToken) {
  testutil::writeFile(path(), "an-operator-chosen-secret\r\n");
  auto token = AdminToken::loadOrCreate(path());
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_TRUE(token->accepts("Bearer an-operator-chosen-secret"));
}

TEST_F(AdminTokenTest, RefusesATooShortFile) {
  testutil::writeFile(path(), "short\n");
  auto token = AdminToken::loadOrCreate(path());
  ASSERT_FALSE(token.ok());
  EXPECT_THAT(std::string(token.status().message()), HasSubstr(path()));
}

TEST(AdminTokenAcceptsTest, BearerSchemeInAnyCase) {
  const AdminToken token("weft-admin-0123456789abcdef");
  EXPECT_TRUE(token.accepts("Bearer weft-admin-0123456789abcdef"));
  EXPECT_TRUE(token.accepts("bearer weft-admin-0123456789abcdef"));
  EXPECT_TRUE(token.accepts("BEARER weft-admin-0123456789abcdef"));
}

TEST(AdminTokenAcceptsTest, RefusesEverythingElse) {
  const std::string secret = "weft-admin-0123456789abcdef";
  const AdminToken token(secret);
  EXPECT_FALSE(token.accepts(""));
  EXPECT_FALSE(token.accepts(secret));  // no scheme
  EXPECT_FALSE(token.accepts("Bearer "));
  EXPECT_FALSE(token.accepts("Bearer"));
  EXPECT_FALSE(token.accepts("Basic " + secret));
  EXPECT_FALSE(token.accepts("Bearer weft-admin-0123456789abcdeX"));
  EXPECT_FALSE(token.accepts("Bearer " + secret.substr(0, secret.size() - 1)));  // a prefix
  EXPECT_FALSE(token.accepts("Bearer weft-admin-"));
  EXPECT_FALSE(token.accepts("Bearer " + secret + "0"));
  EXPECT_FALSE(token.accepts("Bearer" + secret));
  EXPECT_FALSE(token.accepts("Bearerx" + secret));
}

TEST(BearerTokenTest, ExtractsTheCredential) {
  EXPECT_EQ(bearerToken("Bearer abc"), "abc");
  EXPECT_EQ(bearerToken("bEaReR abc"), "abc");
  EXPECT_EQ(bearerToken("Bearer   abc  "), "abc");
  EXPECT_EQ(bearerToken("Basic abc"), "");
  EXPECT_EQ(bearerToken("Bearer"), "");
  EXPECT_EQ(bearerToken("Bearer "), "");
  EXPECT_EQ(bearerToken(""), "");
}

}  // namespace
}  // namespace weft::control::auth
