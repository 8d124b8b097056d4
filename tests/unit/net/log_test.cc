// The proxy's log lines as an operator reads them: one line per call, UTC timestamp with
// milliseconds, level, message; levels below the configured one are not written.

#include "net/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::log {
namespace {

// Captures what is written to stderr while it lives.
class StderrCapture {
 public:
  StderrCapture() {
    EXPECT_EQ(::pipe2(fds_, O_NONBLOCK), 0);
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(fds_[1], STDERR_FILENO);
  }
  ~StderrCapture() {
    restore();
    ::close(fds_[0]);
  }
  std::string take() {
    restore();
    std::string out;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fds_[0], buffer, sizeof(buffer))) > 0) out.append(buffer, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(fds_[1]);
    saved_ = -1;
  }
  int fds_[2] = {-1, -1};
  int saved_ = -1;
};

TEST(LogTest, OneLinePerCallWithTimestampLevelAndMessage) {
  setLevel(Level::kInfo);
  StderrCapture capture;
  warn("downstream request rejected: status=", 400, " reason=\"", "bad", "\"");
  info("ready");
  const std::string out = capture.take();
  EXPECT_THAT(out, ::testing::MatchesRegex(
                       "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z WARN "
                       "downstream request rejected: status=400 reason=\"bad\"\n"
                       "[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z INFO ready\n"));
}

TEST(LogTest, LevelsBelowTheConfiguredOneAreNotWritten) {
  setLevel(Level::kWarn);
  StderrCapture capture;
  debug("no");
  info("no");
  warn("yes");
  error("yes too");
  const std::string out = capture.take();
  EXPECT_FALSE(enabled(Level::kInfo));
  setLevel(Level::kInfo);
  EXPECT_THAT(out, ::testing::Not(::testing::HasSubstr(" no")));
  EXPECT_THAT(out, ::testing::HasSubstr(" WARN yes\n"));
  EXPECT_THAT(out, ::testing::HasSubstr(" ERROR yes too\n"));
}

TEST(LogTest, ParseLevel) {
  Level level = Level::kInfo;
  EXPECT_TRUE(parseLevel("debug", &level));
  EXPECT_EQ(level, Level::kDebug);
  EXPECT_TRUE(parseLevel("error", &level));
  EXPECT_EQ(level, Level::kError);
  EXPECT_FALSE(parseLevel("verbose", &level));
  EXPECT_EQ(level, Level::kError);  // unchanged
}

}  // namespace
}  // namespace weft::log
