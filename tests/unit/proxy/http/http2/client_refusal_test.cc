// The HTTP/2 client codec against a raw-socket peer writing GOAWAY, RST_STREAM and HEADERS
// frames byte by byte (RFC 9113 §6), for the refusals and resets nghttpd cannot be made to send.
#include "proxy/http/http2/client_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/write.hpp>

#include "tests/unit/proxy/http/http2/client_test_support.h"

namespace weft::http::http2 {
namespace {

using namespace clienttest;  // NOLINT

// A peer that reads the client's first bytes, then writes `frames` and keeps the connection
// open until the client closes it.
awaitable<void> rawPeer(tcp::acceptor& acceptor, const std::string& frames) {
  auto [aec, socket] = co_await acceptor.async_accept(kUseTuple);
  if (aec) co_return;
  char buffer[4096];
  auto [rec, n] = co_await socket.async_read_some(asio::buffer(buffer), kUseTuple);
  if (rec) co_return;
  co_await asio::async_write(socket, asio::buffer(frames), kUseTuple);
  for (;;) {
    auto [ec, m] = co_await socket.async_read_some(asio::buffer(buffer), kUseTuple);
    if (ec) break;
  }
}

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(payload.size() >> 16));
  f.push_back(static_cast<char>(payload.size() >> 8));
  f.push_back(static_cast<char>(payload.size()));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<char>(stream >> shift));
  return f + payload;
}

std::string u32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

class Http2ClientRawTest : public ClientFixture {
 protected:
  // Sends two GETs (streams 1 and 3) to a raw peer answering with `frames`; reads both heads.
  void exchangeTwo(const std::string& frames, Fetched& one, Fetched& three) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    asio::co_spawn(io_, rawPeer(acceptor, frames), asio::detached);
    run([&]() -> awaitable<void> {
      co_await connectH2c(acceptor.local_endpoint().port(), conn_);
      if (!conn_) co_return;
      auto s1 = conn_->openStream();
      auto s3 = conn_->openStream();
      const RequestHead head = request("GET", "/");
      Fetched* out[] = {&one, &three};
      Http2ClientStream* streams[] = {s1.get(), s3.get()};
      for (int i = 0; i < 2; ++i) out[i]->ec = co_await streams[i]->sendRequestHead(head, true);
      for (int i = 0; i < 2; ++i) {
        ResponseHead response;
        if (!out[i]->ec) out[i]->ec = co_await streams[i]->readResponseHead(response);
        out[i]->status = response.status;
      }
      ids_ = {s1->id(), s3->id()};
    }());
  }

  std::unique_ptr<TcpConnection> conn_;
  std::pair<int32_t, int32_t> ids_;
};

TEST_F(Http2ClientRawTest, GoawayRefusesStreamsAboveLastStreamIdAndStopsReuse) {
  const std::string frames = frame(4, 0, 0, "") +              // SETTINGS
                             frame(1, 0x5, 1, "\x88") +        // HEADERS :status 200
                             frame(7, 0, 0, u32(1) + u32(0));  // GOAWAY last=1
  Fetched one, three;
  exchangeTwo(frames, one, three);
  ASSERT_TRUE(conn_);
  EXPECT_EQ(ids_, std::make_pair(1, 3));
  ASSERT_FALSE(one.ec) << one.ec.message();
  EXPECT_EQ(one.status, 200u);
  EXPECT_TRUE(isRefused(three.ec)) << three.ec.message();
  EXPECT_FALSE(conn_->reusable());
  EXPECT_FALSE(conn_->canOpenStream());
  Fetched later;
  run([&]() -> awaitable<void> {
    auto stream = conn_->openStream();
    const RequestHead head = request("GET", "/");
    later.ec = co_await stream->sendRequestHead(head, true);
  }());
  EXPECT_TRUE(isRefused(later.ec)) << later.ec.message();
}

TEST_F(Http2ClientRawTest, RstStreamRefusedIsDistinguishableFromOtherResets) {
  const std::string frames = frame(4, 0, 0, "") + frame(3, 0, 1, u32(0x7)) +  // REFUSED_STREAM
                             frame(3, 0, 3, u32(0x2));                        // INTERNAL_ERROR
  Fetched one, three;
  exchangeTwo(frames, one, three);
  ASSERT_TRUE(conn_);
  EXPECT_TRUE(isRefused(one.ec)) << one.ec.message();
  EXPECT_EQ(three.ec, make_error_code(ClientErrc::kReset));
  EXPECT_FALSE(isRefused(three.ec));
  EXPECT_TRUE(conn_->reusable());  // stream errors leave the connection usable
}

TEST_F(Http2ClientRawTest, SilentPeerTimesOutTheStreamButNotTheConnection) {
  settings_.read_timeout = 200ms;
  Fetched one, three;
  const auto start = std::chrono::steady_clock::now();
  exchangeTwo(frame(4, 0, 0, ""), one, three);
  ASSERT_TRUE(conn_);
  EXPECT_EQ(one.ec, beast::error::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(conn_->alive());
}

}  // namespace
}  // namespace weft::http::http2
