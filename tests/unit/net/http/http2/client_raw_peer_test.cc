// The HTTP/2 client codec against a raw-socket peer writing frames byte by byte (RFC 9113 §6):
// GOAWAY, RST_STREAM, interim heads and withheld windows, which nghttpd cannot be made to send.
#include "net/http/http2/client_connection.h"

#include <poll.h>

#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <boost/asio/write.hpp>

#include "tests/unit/net/http/http2/client_test_support.h"
#include "tests/unit/net/http/http2/raw_frames.h"

namespace weft::http::http2 {
namespace {

using namespace clienttest;  // NOLINT
using rawframes::frame;
using rawframes::u32;

// A peer that reads the client's first bytes, then writes `frames` and keeps reading (into
// `received`) until the client closes the connection.
awaitable<void> rawPeer(tcp::acceptor& acceptor, const std::string& frames, std::string& received) {
  auto [aec, socket] = co_await acceptor.async_accept(kUseTuple);
  if (aec) co_return;
  char buffer[16384];
  auto [rec, n] = co_await socket.async_read_some(asio::buffer(buffer), kUseTuple);
  if (rec) co_return;
  received.append(buffer, n);
  co_await asio::async_write(socket, asio::buffer(frames), kUseTuple);
  for (;;) {
    auto [ec, m] = co_await socket.async_read_some(asio::buffer(buffer), kUseTuple);
    received.append(buffer, m);
    if (ec) break;
  }
}

// Counts the HEADERS frames that reach `peer` (non-blocking) within `wait_ms` of being asked,
// or that are there already (0); `wire` keeps a partial frame between calls.
size_t headersArriving(tcp::socket& peer, std::string& wire, int wait_ms) {
  size_t count = 0;
  pollfd ready{peer.native_handle(), POLLIN, 0};
  while (::poll(&ready, 1, wait_ms) > 0) {
    char chunk[16384];
    error_code ec;
    const size_t n = peer.read_some(asio::buffer(chunk), ec);
    if (ec) break;
    wire.append(chunk, n);
    if (wire.starts_with(std::string_view(kClientPreface, kClientPrefaceSize))) {
      wire.erase(0, kClientPrefaceSize);
    }
    for (const auto& f : rawframes::takeFrames(wire)) count += f.type == rawframes::kHeaders;
    wait_ms = 0;  // and what came with it
  }
  return count;
}

class Http2ClientRawTest : public ClientFixture {
 protected:
  // Sends two GETs (streams 1 and 3) to a raw peer answering with `frames`; reads both heads.
  void exchangeTwo(const std::string& frames, Fetched& one, Fetched& three) {
    startPeer(frames);
    run([&]() -> awaitable<void> {
      co_await connectH2c(acceptor_.local_endpoint().port(), conn_);
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
        out[i]->sent = streams[i]->requestSent();
      }
      ids_ = {s1->id(), s3->id()};
    }());
  }

  void startPeer(std::string frames) {
    frames_ = std::move(frames);
    asio::co_spawn(io_, rawPeer(acceptor_, frames_, received_), asio::detached);
  }

  tcp::acceptor acceptor_{io_, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)};
  std::string frames_;
  std::string received_;
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
  // Both HEADERS left (the peer may have seen them); stream 3 is refused all the same.
  EXPECT_TRUE(one.sent);
  EXPECT_TRUE(three.sent);
  EXPECT_FALSE(conn_->reusable());
  EXPECT_FALSE(conn_->canOpenStream());
  Fetched later;
  run([&]() -> awaitable<void> {
    auto stream = conn_->openStream();
    const RequestHead head = request("GET", "/");
    later.ec = co_await stream->sendRequestHead(head, true);
    later.sent = stream->requestSent();
  }());
  EXPECT_TRUE(isRefused(later.ec)) << later.ec.message();
  EXPECT_FALSE(later.sent) << "a request that never left the client must say so";
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

TEST_F(Http2ClientRawTest, InterimResponseIsSkippedForTheFinalOne) {
  // HPACK: 0x08 0x03 "100" is :status (static index 8) with the literal value 100; 0x88 is
  // :status 200; 0x00 <len> name <len> value is a literal field with a new name. The interim
  // head's field must not end up in the final head.
  startPeer(frame(4, 0, 0, "") +
            frame(1, 0x4, 1,
                  std::string("\x08\x03"
                              "100"
                              "\x00\x07x-early\x01"
                              "1",
                              16)) +
            frame(1, 0x5, 1,
                  std::string("\x88\x00\x07x-final\x01"
                              "2",
                              12)));
  Fetched got;
  run([&]() -> awaitable<void> {
    co_await connectH2c(acceptor_.local_endpoint().port(), conn_);
    if (!conn_) co_return;
    auto stream = conn_->openStream();
    const RequestHead head = request("GET", "/");
    co_await exchange(*stream, head, kNoBody, got);
  }());
  ASSERT_TRUE(conn_);
  ASSERT_FALSE(got.ec) << got.ec.message();
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(got.headers.get("x-early"), nullptr);
  ASSERT_NE(got.headers.get("x-final"), nullptr);
  EXPECT_EQ(*got.headers.get("x-final"), "2");
}

TEST_F(Http2ClientRawTest, DroppingAnUnfinishedStreamSendsRstStreamCancel) {
  startPeer(frame(4, 0, 0, "") + frame(1, 0x4, 1, "\x88"));  // a head, the body never comes
  const std::string cancel = frame(3, 0, 1, u32(0x8));
  unsigned status = 0;
  bool seen = false;
  run([&]() -> awaitable<void> {
    co_await connectH2c(acceptor_.local_endpoint().port(), conn_);
    if (!conn_) co_return;
    auto stream = conn_->openStream();
    const RequestHead head = request("GET", "/");
    co_await stream->sendRequestHead(head, true);
    ResponseHead response;
    co_await stream->readResponseHead(response);
    status = response.status;
    stream.reset();
    seen = co_await eventually([&] { return received_.find(cancel) != std::string::npos; });
  }());
  ASSERT_TRUE(conn_);
  EXPECT_EQ(status, 200u);
  EXPECT_TRUE(seen) << "no RST_STREAM(CANCEL) for stream 1 on the wire";
  EXPECT_EQ(conn_->activeStreams(), 0u);
  EXPECT_TRUE(conn_->reusable());
}

TEST_F(Http2ClientRawTest, RequestBodyWaitsForTheFlowControlWindow) {
  settings_.read_timeout = 300ms;
  startPeer(frame(4, 0, 0, ""));  // never a WINDOW_UPDATE: 65535 bytes of window in all
  const std::string body = randomBytes(1 << 20, 4);
  size_t accepted = 0;
  error_code ec;
  run([&]() -> awaitable<void> {
    co_await connectH2c(acceptor_.local_endpoint().port(), conn_);
    if (!conn_) co_return;
    auto stream = conn_->openStream();
    RequestHead head = request("POST", "/");
    head.body.present = true;
    ec = co_await stream->sendRequestHead(head, true);
    while (!ec && accepted < body.size()) {
      std::span<const char> piece(body.data() + accepted, 16384);
      ec = co_await stream->sendRequestBody(piece, false);
      if (!ec) accepted += piece.size();
    }
  }());
  ASSERT_TRUE(conn_);
  EXPECT_EQ(ec, beast::error::timeout);
  // The window plus the 64 KiB queue bound and one piece: the rest stayed with the caller.
  EXPECT_LE(accepted, 65535u + kMaxQueuedRequestBytes + 16384u);
  EXPECT_GE(accepted, 65535u);
  EXPECT_LT(received_.size(), 100u * 1024u);
}

TEST_F(Http2ClientRawTest, ALoneRequestAndEverySixteenthOfABurstLeaveWithoutWaitingForTheWriter) {
  tcp::socket peer(io_);
  std::vector<size_t> on_wire;  // HEADERS frames the peer has after each request
  run([&]() -> awaitable<void> {
    co_await connectH2c(acceptor_.local_endpoint().port(), conn_);
    if (!conn_) co_return;
    acceptor_.accept(peer);
    peer.non_blocking(true);
    std::string wire;
    headersArriving(peer, wire, 0);  // the preface's SETTINGS
    std::vector<std::unique_ptr<Http2ClientStream>> streams;
    const RequestHead head = request("GET", "/");
    size_t total = 0;
    // The event loop does not turn from here on (the writer does not run): what reaches the
    // peer was written by a request itself.
    for (unsigned i = 1; i <= 2 * kFlushAfterMessages; ++i) {
      streams.push_back(conn_->openStream());
      if (error_code ec = co_await streams.back()->sendRequestHead(head, true); ec) {
        ADD_FAILURE() << ec.message();
        co_return;
      }
      const bool flushed = (i - 1) % kFlushAfterMessages == 0;
      total += headersArriving(peer, wire, flushed ? 5000 : 0);
      on_wire.push_back(total);
    }
  }());
  // The first request is alone on the connection and goes at once; the 16 after it are
  // written together when the last of them is queued.
  std::vector<size_t> expected;
  for (unsigned i = 1; i <= 2 * kFlushAfterMessages; ++i) {
    expected.push_back((i - 1) / kFlushAfterMessages * kFlushAfterMessages + 1);
  }
  EXPECT_EQ(on_wire, expected);
}

// ---------------------------------------------------------------------------------------------
// WebSocket over HTTP/2: extended CONNECT (RFC 8441).

// A server that opens with `settings`, then waits for the client's first HEADERS (decoding its
// fields into `fields`) and answers it with :status 200, leaving the stream open.
awaitable<void> connectPeer(tcp::acceptor& acceptor, std::string settings,
                            std::vector<std::pair<std::string, std::string>>& fields,
                            bool& saw_headers) {
  auto [aec, socket] = co_await acceptor.async_accept(kUseTuple);
  if (aec) co_return;
  co_await asio::async_write(socket, asio::buffer(settings), kUseTuple);
  std::string in;
  size_t preface = kClientPrefaceSize;
  char buffer[16384];
  // Owned by the frame: the test may end with this coroutine still waiting to read.
  nghttp2_hd_inflater* raw_inflater = nullptr;
  nghttp2_hd_inflate_new(&raw_inflater);
  std::unique_ptr<nghttp2_hd_inflater, void (*)(nghttp2_hd_inflater*)> owner(
      raw_inflater, nghttp2_hd_inflate_del);
  nghttp2_hd_inflater* inflater = owner.get();
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), kUseTuple);
    if (ec) break;
    in.append(buffer, n);
    const size_t skip = std::min(preface, in.size());
    in.erase(0, skip);
    preface -= skip;
    for (const auto& f : rawframes::takeFrames(in)) {
      if (f.type != rawframes::kHeaders || saw_headers) continue;
      saw_headers = true;
      auto* block = reinterpret_cast<const uint8_t*>(f.payload.data());
      size_t left = f.payload.size();
      for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        const ssize_t used = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, block, left, 1);
        if (used < 0) break;
        block += used;
        left -= static_cast<size_t>(used);
        if (flags & NGHTTP2_HD_INFLATE_EMIT) {
          fields.emplace_back(std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                              std::string(reinterpret_cast<char*>(nv.value), nv.valuelen));
        }
        if (flags & NGHTTP2_HD_INFLATE_FINAL) break;
        if (used == 0 && left == 0) break;
      }
      const std::string ok = frame(1, 0x4, f.stream, "\x88");  // HEADERS :status 200
      co_await asio::async_write(socket, asio::buffer(ok), kUseTuple);
    }
  }
}

class Http2ExtendedConnectTest : public ClientFixture {
 protected:
  // Sends a WebSocket request to a peer whose SETTINGS are `settings`.
  void openTunnel(const std::string& settings) {
    asio::co_spawn(io_, connectPeer(acceptor_, settings, fields_, saw_headers_), asio::detached);
    run([&]() -> awaitable<void> {
      co_await connectH2c(acceptor_.local_endpoint().port(), conn_);
      if (!conn_) co_return;
      auto stream = conn_->openStream();
      RequestHead head = request("GET", "/chat");
      head.upgrade = "websocket";
      head.body = {true, std::nullopt};
      ec_ = co_await stream->sendRequestHead(head, true);
      sent_ = stream->requestSent();
      if (!ec_) ec_ = co_await stream->readResponseHead(response_);
      conn_->close();
    }());
  }

  tcp::acceptor acceptor_{io_, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)};
  std::unique_ptr<TcpConnection> conn_;
  std::vector<std::pair<std::string, std::string>> fields_;
  bool saw_headers_ = false;
  error_code ec_;
  bool sent_ = false;
  ResponseHead response_;
};

TEST_F(Http2ExtendedConnectTest, GoesOutAsConnectWithProtocolAnd200OpensTheTunnel) {
  // SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8) = 1.
  openTunnel(frame(4, 0, 0, std::string("\x00\x08", 2) + u32(1)));
  ASSERT_FALSE(ec_) << ec_.message();
  EXPECT_TRUE(saw_headers_);
  using Field = std::pair<std::string, std::string>;
  ASSERT_GE(fields_.size(), 5u);
  EXPECT_EQ(std::vector<Field>(fields_.begin(), fields_.begin() + 5),
            (std::vector<Field>{{":method", "CONNECT"},
                                {":protocol", "websocket"},
                                {":scheme", "http"},
                                {":authority", "localhost"},
                                {":path", "/chat"}}));
  EXPECT_EQ(response_.status, kTunnelOpen);
  EXPECT_TRUE(response_.body.present);
}

TEST_F(Http2ExtendedConnectTest, ServerWithoutTheSettingGetsNothing) {
  openTunnel(frame(4, 0, 0, ""));
  EXPECT_EQ(ec_, make_error_code(ClientErrc::kNoExtendedConnect)) << ec_.message();
  EXPECT_FALSE(sent_);
  EXPECT_FALSE(saw_headers_);
}

}  // namespace
}  // namespace weft::http::http2
