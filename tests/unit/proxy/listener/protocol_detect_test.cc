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
}

}  // namespace
}  // namespace weft::listener
