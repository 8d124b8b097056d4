#include "net/http/http2/abuse_guard.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <string>

#include "net/http/http2/frame_scanner.h"

namespace weft::http::http2 {
namespace {

using Action = FrameVerdict::Action;
using Clock = AbuseGuard::Clock;

FrameHeader header(uint8_t type, int32_t stream_id, uint8_t flags = 0, uint32_t length = 4) {
  return FrameHeader{length, type, flags, stream_id};
}

FrameHeader requestHeaders(int32_t stream_id) {
  return header(NGHTTP2_HEADERS, stream_id, NGHTTP2_FLAG_END_HEADERS | NGHTTP2_FLAG_END_STREAM);
}

TEST(AbuseGuardTest, PrematureResetsWithinTheBudgetPass) {
  AbuseGuard guard(AbuseLimits{10, 0});
  const auto now = Clock::now();
  for (int32_t id = 1; id <= 21; id += 2) guard.frame(requestHeaders(id), false, now);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(guard.prematureReset());
  EXPECT_FALSE(guard.prematureReset());  // 11 of 11 streams
}

TEST(AbuseGuardTest, OccasionalCancelsAmongManyRequestsStayWithinBudget) {
  AbuseGuard guard(AbuseLimits{10, 0});
  const auto now = Clock::now();
  // 1000 streams, one in four reset before its response: below half of them.
  for (int32_t n = 0; n < 1000; ++n) {
    guard.frame(requestHeaders(2 * n + 1), false, now);
    if (n % 4 == 0) {
      EXPECT_TRUE(guard.prematureReset()) << n;
    }
  }
}

TEST(AbuseGuardTest, NoLimitWhenZero) {
  AbuseGuard guard(AbuseLimits{0, 0});
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(guard.prematureReset());
}

TEST(AbuseGuardTest, ControlFrameFloodIsCalmedPerSecond) {
  AbuseGuard guard(AbuseLimits{0, 100});
  auto now = Clock::now();
  const FrameHeader settings = header(NGHTTP2_SETTINGS, 0, 0, 6);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(guard.frame(settings, false, now).action, Action::kPass);
  }
  FrameVerdict v = guard.frame(settings, false, now);
  EXPECT_EQ(v.action, Action::kConnectionError);
  EXPECT_EQ(v.code, NGHTTP2_ENHANCE_YOUR_CALM);
  // A new second, a new budget.
  now += std::chrono::milliseconds(1001);
  EXPECT_EQ(guard.frame(settings, false, now).action, Action::kPass);
}

TEST(AbuseGuardTest, WhatCountsAsAControlFrame) {
  AbuseGuard guard(AbuseLimits{0, 1});
  const auto now = Clock::now();
  // ACKs, PINGs, DATA with a payload or END_STREAM, and requests are not counted.
  guard.frame(requestHeaders(1), false, now);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(guard.frame(header(NGHTTP2_PING, 0, 0, 8), false, now).action, Action::kPass);
  }
  EXPECT_EQ(guard.frame(header(NGHTTP2_PING, 0, NGHTTP2_FLAG_ACK, 8), false, now).action,
            Action::kPass);
  EXPECT_EQ(guard.frame(header(NGHTTP2_SETTINGS, 0, NGHTTP2_FLAG_ACK, 0), false, now).action,
            Action::kPass);
  EXPECT_EQ(guard.frame(header(NGHTTP2_DATA, 1, 0, 10), true, now).action, Action::kPass);
  EXPECT_EQ(guard.frame(header(NGHTTP2_DATA, 1, NGHTTP2_FLAG_END_STREAM, 0), true, now).action,
            Action::kPass);
  EXPECT_EQ(guard.frame(header(NGHTTP2_WINDOW_UPDATE, 0, 0, 4), false, now).action, Action::kPass);
  // One empty DATA frame without END_STREAM is the budget; the second is over it.
  EXPECT_EQ(guard.frame(header(NGHTTP2_DATA, 1, 0, 0), true, now).action, Action::kPass);
  EXPECT_EQ(guard.frame(header(NGHTTP2_PRIORITY, 3, 0, 5), false, now).action,
            Action::kConnectionError);
}

TEST(AbuseGuardTest, FramesOnStreamsTheClientResetAreStreamClosed) {
  AbuseGuard guard(AbuseLimits{});
  const auto now = Clock::now();
  guard.frame(requestHeaders(1), false, now);
  guard.streamEnded(1, StreamEnd::kPeerReset);
  guard.streamEnded(1, StreamEnd::kLocalReset);  // the close that follows does not overwrite it
  const FrameHeader data = header(NGHTTP2_DATA, 1, NGHTTP2_FLAG_END_STREAM);
  ASSERT_TRUE(guard.needsStreamState(data));
  FrameVerdict v = guard.frame(data, false, now);
  EXPECT_EQ(v.action, Action::kStreamError);
  EXPECT_EQ(v.code, NGHTTP2_STREAM_CLOSED);
  EXPECT_EQ(guard.frame(requestHeaders(1), false, now).action, Action::kStreamError);
}

TEST(AbuseGuardTest, FramesAfterBothEndsAreAConnectionError) {
  AbuseGuard guard(AbuseLimits{});
  const auto now = Clock::now();
  guard.frame(requestHeaders(1), false, now);
  guard.streamEnded(1, StreamEnd::kCompleted);
  FrameVerdict v = guard.frame(header(NGHTTP2_DATA, 1, NGHTTP2_FLAG_END_STREAM), false, now);
  EXPECT_EQ(v.action, Action::kConnectionError);
  EXPECT_EQ(v.code, NGHTTP2_STREAM_CLOSED);
}

TEST(AbuseGuardTest, FramesOnStreamsTheServerResetAreIgnored) {
  AbuseGuard guard(AbuseLimits{});
  const auto now = Clock::now();
  guard.frame(requestHeaders(1), false, now);
  guard.streamEnded(1, StreamEnd::kLocalReset);
  EXPECT_EQ(guard.frame(header(NGHTTP2_DATA, 1), false, now).action, Action::kPass);
}

TEST(AbuseGuardTest, OpenStreamsAndRefusedStreamsPass) {
  AbuseGuard guard(AbuseLimits{});
  const auto now = Clock::now();
  guard.frame(requestHeaders(1), false, now);
  guard.streamEnded(1, StreamEnd::kCompleted);
  // nghttp2 has the stream (trailers after a reset raced, say): its business.
  EXPECT_EQ(guard.frame(header(NGHTTP2_DATA, 1), true, now).action, Action::kPass);
  // Opened and never ended as far as we know (nghttp2 refused it): ignored.
  guard.frame(requestHeaders(3), false, now);
  EXPECT_EQ(guard.frame(header(NGHTTP2_DATA, 3), false, now).action, Action::kPass);
}

TEST(AbuseGuardTest, HeadersOnASkippedStreamIdIsAProtocolError) {
  AbuseGuard guard(AbuseLimits{});
  const auto now = Clock::now();
  guard.frame(requestHeaders(1), false, now);
  guard.frame(requestHeaders(5), false, now);
  FrameVerdict v = guard.frame(requestHeaders(3), false, now);
  EXPECT_EQ(v.action, Action::kConnectionError);
  EXPECT_EQ(v.code, NGHTTP2_PROTOCOL_ERROR);
}

TEST(AbuseGuardTest, HeadersBelowTheFirstStreamIsAProtocolError) {
  AbuseGuard guard(AbuseLimits{});
  const auto now = Clock::now();
  guard.frame(requestHeaders(5), false, now);
  EXPECT_EQ(guard.frame(requestHeaders(3), false, now).action, Action::kConnectionError);
}

TEST(AbuseGuardTest, StreamsOlderThanTheHistoryPass) {
  AbuseGuard guard(AbuseLimits{});
  const auto now = Clock::now();
  for (int32_t n = 0; n < static_cast<int32_t>(AbuseGuard::kHistory) + 10; ++n) {
    guard.frame(requestHeaders(2 * n + 1), false, now);
    guard.streamEnded(2 * n + 1, StreamEnd::kCompleted);
  }
  EXPECT_EQ(guard.frame(header(NGHTTP2_DATA, 1), false, now).action, Action::kPass);
  EXPECT_EQ(guard
                .frame(header(NGHTTP2_DATA, 2 * static_cast<int32_t>(AbuseGuard::kHistory) + 1),
                       false, now)
                .action,
            Action::kConnectionError);
}

std::string frameBytes(uint32_t length, uint8_t type, uint8_t flags, uint32_t stream) {
  std::string out;
  out += static_cast<char>(length >> 16);
  out += static_cast<char>(length >> 8);
  out += static_cast<char>(length);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  out += static_cast<char>(stream >> 24);
  out += static_cast<char>(stream >> 16);
  out += static_cast<char>(stream >> 8);
  out += static_cast<char>(stream);
  out.append(length, 'x');
  return out;
}

TEST(FrameScannerTest, FindsEveryHeaderWhateverTheReadSizes) {
  const std::string input = std::string(kClientPreface, kClientPrefaceSize) +
                            frameBytes(6, NGHTTP2_SETTINGS, 0, 0) +
                            frameBytes(20, NGHTTP2_HEADERS, 5, 1) +
                            frameBytes(0, NGHTTP2_DATA, 1, 1) + frameBytes(8, NGHTTP2_PING, 0, 0);
  for (size_t chunk : {size_t{1}, size_t{5}, size_t{9}, size_t{13}, input.size()}) {
    FrameScanner scanner;
    std::string seen;
    for (size_t off = 0; off < input.size(); off += chunk) {
      const auto* data = reinterpret_cast<const uint8_t*>(input.data()) + off;
      size_t left = std::min(chunk, input.size() - off);
      while (left > 0) {
        FrameScanner::Piece piece = scanner.next(data, left);
        ASSERT_GT(piece.size, 0u);
        if (piece.header) {
          const FrameHeader& f = scanner.frame();
          seen += std::to_string(f.type) + "/" + std::to_string(f.flags) + "/" +
                  std::to_string(f.stream_id) + "/" + std::to_string(f.length) + " ";
        }
        data += piece.size;
        left -= piece.size;
      }
    }
    EXPECT_EQ(seen, "4/0/0/6 1/5/1/20 0/1/1/0 6/0/0/8 ") << "chunk " << chunk;
  }
}

}  // namespace
}  // namespace weft::http::http2
