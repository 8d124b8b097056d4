#include "proxy/listener/protocol_detect.h"

#include <string>

#include <gtest/gtest.h>

namespace weft::listener {
namespace {

const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

TEST(ClassifyPrefaceTest, FullPrefaceIsHttp2) {
  EXPECT_EQ(classifyPreface(kPreface), Protocol::kHttp2);
  EXPECT_EQ(classifyPreface(kPreface + std::string("\x00\x00\x00\x04", 4)), Protocol::kHttp2);
}

TEST(ClassifyPrefaceTest, PrefixOfPrefaceNeedsMore) {
  EXPECT_EQ(classifyPreface(""), Protocol::kNeedMore);
  EXPECT_EQ(classifyPreface("P"), Protocol::kNeedMore);
  EXPECT_EQ(classifyPreface(kPreface.substr(0, 23)), Protocol::kNeedMore);
}

TEST(ClassifyPrefaceTest, AnythingElseIsHttp1) {
  EXPECT_EQ(classifyPreface("GET / HTTP/1.1\r\n"), Protocol::kHttp1);
  EXPECT_EQ(classifyPreface("PO"), Protocol::kHttp1);
  EXPECT_EQ(classifyPreface("PRI * HTTP/1.1\r\n"), Protocol::kHttp1);
  EXPECT_EQ(classifyPreface("pri * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Protocol::kHttp1);
  EXPECT_EQ(classifyPreface("PRI * HTTP/2.0\rX"), Protocol::kHttp1);
}

// The preface's request line and then something else: an HTTP/2 client with a broken preface,
// which the HTTP/2 codec answers with GOAWAY rather than HTTP/1.1 with a 400.
TEST(ClassifyPrefaceTest, BrokenPrefaceAfterTheRequestLineIsHttp2) {
  EXPECT_EQ(classifyPreface("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), Protocol::kHttp2);
  EXPECT_EQ(classifyPreface("PRI * HTTP/2.0\r\nHost: x\r\n\r\n"), Protocol::kHttp2);
}

}  // namespace
}  // namespace weft::listener
