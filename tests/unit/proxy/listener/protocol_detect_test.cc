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

// Intercepted connections may speak anything: only a method token and a space are HTTP/1.
TEST(ClassifyInterceptedTest, TellsHttpTlsAndEverythingElseApart) {
  EXPECT_EQ(classifyIntercepted(""), Protocol::kNeedMore);
  EXPECT_EQ(classifyIntercepted("GET / HTTP/1.1\r\n"), Protocol::kHttp1);
  EXPECT_EQ(classifyIntercepted("PROPFIND "), Protocol::kHttp1);
  EXPECT_EQ(classifyIntercepted("GE"), Protocol::kNeedMore);
  EXPECT_EQ(classifyIntercepted(kPreface), Protocol::kHttp2);
  EXPECT_EQ(classifyIntercepted("PRI"), Protocol::kNeedMore);
  EXPECT_EQ(classifyIntercepted("PRI * HTTP/2.0\r\nHost: x\r\n\r\n"), Protocol::kHttp2);
  EXPECT_EQ(classifyIntercepted(std::string("\x16\x03\x01\x02\x00", 5)), Protocol::kTls);
  EXPECT_EQ(classifyIntercepted("\x16"), Protocol::kNeedMore);
  EXPECT_EQ(classifyIntercepted("\x16\x01"), Protocol::kOpaque);
  EXPECT_EQ(classifyIntercepted(std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8)),
            Protocol::kOpaque);  // a PostgreSQL SSLRequest
  EXPECT_EQ(classifyIntercepted("get / HTTP/1.1\r\n"), Protocol::kOpaque);
  EXPECT_EQ(classifyIntercepted(" GET"), Protocol::kOpaque);
  EXPECT_EQ(classifyIntercepted("HELO mail.example\r\n"), Protocol::kHttp1);  // a method token
  EXPECT_EQ(classifyIntercepted("PING\r\n"), Protocol::kOpaque);
  EXPECT_EQ(classifyIntercepted(std::string(24, 'A')), Protocol::kNeedMore);
  EXPECT_EQ(classifyIntercepted(std::string(25, 'A')), Protocol::kOpaque);
}

}  // namespace
}  // namespace weft::listener
