// RequestBodyPump between the real HTTP/1.1 codecs: a server codec reading a client's request on
// one socket pair, a client codec writing it to an "app" on another. The pump streams the body
// while the response is read (full duplex), stops when the exchange is over, and aborts the
// upstream when the client gives up.

#include "proxy/pipeline/body_pump.h"

#include <sys/socket.h>

#include <string>

#include <gtest/gtest.h>

#include "net/http/http1/client_codec.h"
#include "net/http/http1/server_codec.h"
#include "tests/fuzz/http1_codec_harness.h"

namespace weft::pipeline {
namespace {

using namespace std::chrono_literals;

// Forwards each request to the upstream codec with the pump, and the response back.
class Forwarder : public http::StreamHandler {
 public:
  explicit Forwarder(http::ClientConnection& upstream) : upstream_(upstream) {}

  awaitable<void> handle(http::ServerStream& stream) override {
    http::ClientStream& up = upstream_.startStream();
    if (co_await up.sendRequestHead(stream.request(), true)) co_return;
    pump = RequestBodyPump::start(co_await asio::this_coro::executor, stream, up);
    http::ResponseHead head;
    if (!co_await up.readResponseHead(head)) {
      if (!co_await stream.sendResponseHead(head, true) && head.body.present) {
        char buffer[1024];
        for (;;) {
          http::BodyRead r = co_await up.readResponseBody(std::span<char>(buffer, sizeof(buffer)));
          if (r.ec || co_await stream.sendResponseBody(std::span<const char>(buffer, r.n), r.end) ||
              r.end) {
            break;
          }
        }
      }
    }
    co_await pump->finish();
    finished = true;
  }

  std::shared_ptr<RequestBodyPump> pump;
  bool finished = false;

 private:
  http::ClientConnection& upstream_;
};

class BodyPumpTest : public ::testing::Test {
 protected:
  BodyPumpTest() {
    fuzz::quietLogs();
    up_ = std::make_unique<http::http1::ClientConnectionImpl<TcpStream>>(app_side_.takeCodecSide(),
                                                                         settings_, counters_.tcp);
    forwarder_ = std::make_unique<Forwarder>(*up_);
    down_ = std::make_unique<http::http1::ServerConnectionImpl<TcpStream>>(
        client_side_.takeCodecSide(), http::DownstreamInfo{}, *forwarder_, settings_, stats_);
    asio::co_spawn(io_, down_->run(), [this](std::exception_ptr) { done_ = true; });
  }

  // Runs the codecs until `until()` or 5 s.
  template <typename Until>
  void runUntil(Until until) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!until() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(5ms);
      drain(client_side_, from_proxy_);
      drain(app_side_, at_app_);
    }
  }

  static void drain(fuzz::SocketPair& pair, std::string& into) {
    char buffer[16384];
    for (;;) {
      const ssize_t n = ::recv(pair.peer(), buffer, sizeof(buffer), 0);
      if (n <= 0) return;
      into.append(buffer, static_cast<size_t>(n));
    }
  }

  static void send(fuzz::SocketPair& pair, std::string_view bytes) {
    ASSERT_EQ(::send(pair.peer(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  asio::io_context io_;
  http::http1::Settings settings_ = [] {
    auto s = fuzz::codecSettings();
    s.read_timeout = 2s;  // long enough that only the exchange ends a wait
    s.idle_timeout = 2s;
    return s;
  }();
  fuzz::Counters counters_;
  net::ConnectionStats stats_{counters_.tcp};
  fuzz::SocketPair client_side_{io_};
  fuzz::SocketPair app_side_{io_};
  std::unique_ptr<http::http1::ClientConnectionImpl<TcpStream>> up_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<http::http1::ServerConnectionImpl<TcpStream>> down_;
  bool done_ = false;
  std::string from_proxy_;
  std::string at_app_;
};

TEST_F(BodyPumpTest, StreamsTheBodyPieceByPiece) {
  send(client_side_,
       "POST /up HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  runUntil([&] { return at_app_.find("hello") != std::string::npos; });
  // The first piece reached the app before the client sent the rest.
  EXPECT_EQ(at_app_,
            "POST /up HTTP/1.1\r\nhost: app\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
  send(client_side_, "6\r\n world\r\n0\r\n\r\n");
  runUntil([&] { return at_app_.ends_with("0\r\n\r\n"); });
  EXPECT_TRUE(at_app_.ends_with("6\r\n world\r\n0\r\n\r\n")) << at_app_;
  send(app_side_, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  runUntil([&] { return forwarder_->finished; });
  EXPECT_EQ(from_proxy_, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  ASSERT_TRUE(forwarder_->pump);
  EXPECT_TRUE(forwarder_->pump->done());
  EXPECT_FALSE(forwarder_->pump->clientGone());
}

TEST_F(BodyPumpTest, EarlyResponseReachesTheClientAndStopsThePump) {
  send(client_side_, "POST /up HTTP/1.1\r\nHost: app\r\nContent-Length: 100000\r\n\r\nfirst");
  runUntil([&] { return at_app_.find("first") != std::string::npos; });
  // The app refuses the upload without reading the rest, which the client never sends.
  send(app_side_, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nbig!");
  runUntil([&] { return forwarder_->finished; });
  EXPECT_TRUE(from_proxy_.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << from_proxy_;
  EXPECT_TRUE(from_proxy_.ends_with("big!")) << from_proxy_;
  EXPECT_TRUE(forwarder_->pump->done());
}

TEST_F(BodyPumpTest, ClientThatGoesAwayAbortsTheUpstream) {
  send(client_side_, "POST /up HTTP/1.1\r\nHost: app\r\nContent-Length: 100000\r\n\r\nfirst");
  runUntil([&] { return at_app_.find("first") != std::string::npos; });
  ::shutdown(client_side_.peer(), SHUT_RDWR);  // the client is gone mid-body
  runUntil([&] { return forwarder_->pump && forwarder_->pump->done(); });
  EXPECT_TRUE(forwarder_->pump->clientGone());
  // The app's connection was closed: it reads EOF after what it got.
  char byte;
  runUntil([&] { return ::recv(app_side_.peer(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0; });
  EXPECT_EQ(::recv(app_side_.peer(), &byte, 1, MSG_PEEK | MSG_DONTWAIT), 0);
}

}  // namespace
}  // namespace weft::pipeline
