// The bounds on what a chunked body makes the parser hold whole (issue #14 §2): a chunk size
// line with its extensions, and a trailer section.
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "net/http/http1/errors.h"
#include "net/http/http1/stream_ops.h"

namespace weft::http::http1 {
namespace {

namespace bhttp = boost::beast::http;

constexpr ChunkLimits kLimits{64, 256};

// Parses `head` + `body` the way readSome does: put() what is buffered, then the limit check
// when the parser wants more. Returns the check's verdict at the first need_more.
error_code check(const std::string& body) {
  bhttp::request_parser<bhttp::buffer_body> parser;
  char out[4096];
  parser.get().body().data = out;
  parser.get().body().size = sizeof(out);
  beast::flat_buffer buffer;
  const std::string raw = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body;
  auto copied = boost::asio::buffer_copy(buffer.prepare(raw.size()), boost::asio::buffer(raw));
  buffer.commit(copied);
  error_code ec;
  for (int i = 0; i < 10; ++i) {
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec == bhttp::error::need_buffer) {
      parser.get().body().data = out;
      parser.get().body().size = sizeof(out);
      continue;
    }
    if (!ec && !parser.is_done()) continue;  // the head, then the body: one put() each
    if (ec != bhttp::error::need_more) return ec;
    return checkChunkLimits(parser, buffer, kLimits);
  }
  return ec;
}

TEST(ChunkLimitsTest, ShortLinesAndTrailersPass) {
  EXPECT_FALSE(check("5;a=b\r\nhello\r\n"));
  EXPECT_FALSE(check("5\r\nhello\r\n0\r\nx-t: 1\r\n"));
  EXPECT_FALSE(check("5\r\nhel"));  // inside a chunk's data: nothing held
}

TEST(ChunkLimitsTest, SizeLineOverTheLimitWithoutItsEnd) {
  EXPECT_EQ(check("5;ext=" + std::string(100, 'a')), Errc::kChunkLineTooLong);
}

TEST(ChunkLimitsTest, SizeLineAfterAChunkOverTheLimit) {
  EXPECT_EQ(check("5\r\nhello\r\n5;ext=" + std::string(100, 'a')), Errc::kChunkLineTooLong);
}

TEST(ChunkLimitsTest, LastChunkLineOverTheLimitBeforeTrailers) {
  EXPECT_EQ(check("0;ext=" + std::string(100, 'a') + "\r\nx-t: 1\r\n"), Errc::kChunkLineTooLong);
}

TEST(ChunkLimitsTest, TrailersOverTheLimit) {
  std::string trailers;
  for (int i = 0; i < 20; ++i) trailers += "x-trailer: " + std::string(20, 'b') + "\r\n";
  EXPECT_EQ(check("0\r\n" + trailers), Errc::kTrailersTooLarge);
}

TEST(ChunkLimitsTest, MalformedChunkIsBeastsError) {
  const error_code ec = check("zz\r\n");
  EXPECT_TRUE(isMalformed(ec)) << ec.message();
  EXPECT_FALSE(isMalformed(bhttp::error::need_more));
  EXPECT_FALSE(isMalformed(asio::error::eof));
  EXPECT_TRUE(isMalformed(Errc::kChunkLineTooLong));
}

}  // namespace
}  // namespace weft::http::http1
