// The HTTP/2 client codec's PING keepalive against a raw-socket peer that answers PINGs or not.
#include <gtest/gtest.h>

#include "net/http/http2/client_connection.h"
#include "tests/unit/net/http/http2/client_test_support.h"
#include "tests/unit/net/http/http2/raw_frames.h"

namespace weft::http::http2 {
namespace {

using namespace clienttest;  // NOLINT
using rawframes::PeerLog;

class Http2ClientKeepaliveTest : public ClientFixture {
 protected:
  // Accepts one connection and plays the server on it: SETTINGS, then PING ACKs or silence.
  void startPeer(bool ack_pings) { asio::co_spawn(io_, servePeer(ack_pings), asio::detached); }

  awaitable<void> servePeer(bool ack_pings) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (ec) co_return;
    co_await rawframes::framePeer(socket, hello_, ack_pings, true, peer_);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  tcp::acceptor acceptor_{io_, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)};
  const std::string hello_ = rawframes::frame(rawframes::kSettings, 0, 0, "");
  PeerLog peer_;
  std::unique_ptr<TcpConnection> conn_;
};

TEST_F(Http2ClientKeepaliveTest, PeerThatNeverAcksIsClosedAndItsStreamsFail) {
  settings_.keepalive = {100ms, 100ms};
  startPeer(false);
  error_code ec;
  bool peer_closed = false;
  const auto start = std::chrono::steady_clock::now();
  run([&]() -> awaitable<void> {
    co_await connectH2c(port(), conn_);
    if (!conn_) co_return;
    auto stream = conn_->openStream();
    const RequestHead head = request("GET", "/");
    ec = co_await stream->sendRequestHead(head, true);
    ResponseHead response;
    if (!ec) ec = co_await stream->readResponseHead(response);  // no answer ever comes
    peer_closed = co_await eventually([&] { return peer_.closed; });
  }());
  ASSERT_TRUE(conn_);
  EXPECT_EQ(ec, make_error_code(ClientErrc::kConnectionClosed)) << ec.message();
  // The streams' own read deadline (60 s) did not end it: the missed PING did.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_GE(peer_.pings, 1);
  EXPECT_TRUE(peer_closed) << "the client kept the socket open";
  EXPECT_FALSE(conn_->alive());
  EXPECT_FALSE(conn_->canOpenStream());
  EXPECT_FALSE(conn_->reusable());
  EXPECT_TRUE(conn_->session().unresponsive());
}

TEST_F(Http2ClientKeepaliveTest, PeerThatAcksStaysAliveAcrossManyIntervals) {
  settings_.keepalive = {50ms, 200ms};
  startPeer(true);
  bool alive_throughout = true;
  run([&]() -> awaitable<void> {
    co_await connectH2c(port(), conn_);
    if (!conn_) co_return;
    // Ten intervals and more than three timeouts: each is survived only by an answered PING.
    for (int i = 0; i < 10; ++i) {
      co_await sleepFor(100ms);
      alive_throughout = alive_throughout && conn_->alive();
    }
  }());
  ASSERT_TRUE(conn_);
  EXPECT_TRUE(alive_throughout);
  EXPECT_GE(peer_.pings, 3);
  EXPECT_FALSE(peer_.closed);
  EXPECT_TRUE(conn_->canOpenStream());
  EXPECT_FALSE(conn_->session().unresponsive());
}

TEST_F(Http2ClientKeepaliveTest, NoPingWhenKeepaliveIsOff) {
  settings_.keepalive = {0ms, 100ms};
  startPeer(false);
  run([&]() -> awaitable<void> {
    co_await connectH2c(port(), conn_);
    if (conn_) co_await sleepFor(500ms);
  }());
  ASSERT_TRUE(conn_);
  EXPECT_EQ(peer_.pings, 0);
  EXPECT_TRUE(conn_->alive());
}

}  // namespace
}  // namespace weft::http::http2
