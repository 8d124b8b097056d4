// The HTTP/2 server codec's PING keepalive and idle deadline, against a raw-socket client that
// answers PINGs or not.
#include <gtest/gtest.h>

#include "net/http/http2/server_codec.h"
#include "tests/unit/net/http/http2/client_test_support.h"
#include "tests/unit/net/http/http2/raw_frames.h"

namespace weft::http::http2 {
namespace {

using namespace clienttest;  // NOLINT: the io_context fixture
using rawframes::frame;
using rawframes::PeerLog;

// Reads the request body, which the test's client never sends.
class WaitingHandler : public StreamHandler {
 public:
  awaitable<void> handle(ServerStream& stream) override {
    ++started;
    char buffer[1024];
    std::span<char> into(buffer, sizeof(buffer));
    BodyRead r = co_await stream.readRequestBody(into);
    ec = r.ec;
    done = true;
  }

  int started = 0;
  bool done = false;
  error_code ec;
};

class Http2ServerKeepaliveTest : public ClientFixture {
 protected:
  using Connection = ServerConnectionImpl<TcpStream>;

  // Serves one connection with the codec; the test's raw client sends `hello` after the preface
  // and then answers PINGs or not. Returns when the server's run() has, or after 30 s.
  void serve(const std::string& hello, bool ack_pings) {
    asio::co_spawn(io_, client(hello, ack_pings), asio::detached);
    run([&]() -> awaitable<void> {
      TcpStream stream(co_await asio::this_coro::executor);
      auto [ec] = co_await acceptor_.async_accept(stream, kUseTuple);
      if (ec) co_return;
      net::ConnectionStats stats(counters_);
      const std::string_view received;
      Connection conn(std::move(stream), DownstreamInfo{}, handler_, settings_, stats, received);
      started_ = std::chrono::steady_clock::now();
      co_await conn.run();
      ended_ = std::chrono::steady_clock::now();
    }());
  }

  awaitable<void> client(const std::string& hello, bool ack_pings) {
    tcp::socket socket(co_await asio::this_coro::executor);
    auto [ec] = co_await socket.async_connect(acceptor_.local_endpoint(), kUseTuple);
    if (ec) co_return;
    const std::string start = std::string(kClientPreface, kClientPrefaceSize) + hello;
    co_await rawframes::framePeer(socket, start, ack_pings, false, peer_);
  }

  std::chrono::milliseconds lifetime() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(ended_ - started_);
  }

  tcp::acceptor acceptor_{io_, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)};
  WaitingHandler handler_;
  PeerLog peer_;
  std::chrono::steady_clock::time_point started_, ended_;
};

const std::string kSettings = frame(rawframes::kSettings, 0, 0, "");
// HEADERS for stream 1 without END_STREAM: POST http://a/ (HPACK: static :method POST, :scheme
// http, :path /, then :authority "a" as a literal).
const std::string kPostHeaders = frame(rawframes::kHeaders, 0x4, 1,
                                       std::string("\x83\x86\x84\x41\x01"
                                                   "a",
                                                   6));

TEST_F(Http2ServerKeepaliveTest, ClientThatNeverAcksIsDisconnectedWithAStreamOpen) {
  settings_.keepalive = {100ms, 100ms};
  serve(kSettings + kPostHeaders, false);
  EXPECT_GE(peer_.pings, 1);
  EXPECT_EQ(handler_.started, 1);
  EXPECT_TRUE(handler_.done);
  EXPECT_TRUE(handler_.ec) << "the handler's body read did not fail";
  // Neither the stream's read deadline nor the idle deadline (60 s each) ended it.
  EXPECT_LT(lifetime(), 10s);
  run([&]() -> awaitable<void> { co_await eventually([&] { return peer_.closed; }); }());
  EXPECT_TRUE(peer_.closed);
}

TEST_F(Http2ServerKeepaliveTest, ClientThatAcksKeepsItsIdleConnectionUntilTheIdleDeadline) {
  settings_.keepalive = {50ms, 200ms};
  settings_.idle_timeout = 1s;
  serve(kSettings, true);
  // Pings all along, each answered; the idle deadline still closed the connection, as it counts
  // from the connection's start and not from the last ACK.
  EXPECT_GE(peer_.pings, 5);
  EXPECT_GE(lifetime(), 900ms);
  EXPECT_LT(lifetime(), 10s);
}

TEST_F(Http2ServerKeepaliveTest, ClientThatAcksKeepsAStreamOpenPastManyTimeouts) {
  settings_.keepalive = {50ms, 100ms};
  settings_.read_timeout = 1500ms;  // ends the handler's wait for the body, and so the test
  settings_.idle_timeout = 200ms;
  serve(kSettings + kPostHeaders, true);
  EXPECT_GE(peer_.pings, 5);
  EXPECT_EQ(handler_.ec, beast::error::timeout) << handler_.ec.message();
  // The stream outlived ten keepalive timeouts; then the idle deadline closed the connection.
  EXPECT_GE(lifetime(), 1400ms);
  EXPECT_LT(lifetime(), 10s);
}

}  // namespace
}  // namespace weft::http::http2
