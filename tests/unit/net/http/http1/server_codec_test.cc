// The HTTP/1.1 server codec (http1::ServerConnectionImpl) on one end of a socket pair, fed raw
// bytes from the other: what a client sees for pipelining, HEAD, 100-continue, broken framing and
// WebSocket upgrades, byte for byte. Deadlines are milliseconds (tests/fuzz/http1_codec_harness.h).

#include "net/http/http1/server_codec.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/fuzz/http1_codec_harness.h"

namespace weft::http::http1 {
namespace {

// Answers "ok" (or, for a tunnel, 101 and an echo of what comes), recording each request.
class Handler : public StreamHandler {
 public:
  awaitable<void> handle(ServerStream& stream) override {
    const RequestHead& req = stream.request();
    requests.push_back(req.method + " " + req.path);
    char buffer[1024];
    std::span<char> into(buffer, sizeof(buffer));
    if (!req.upgrade.empty()) {
      ResponseHead head;
      head.status = kTunnelOpen;
      head.body = {true, std::nullopt};
      if (co_await stream.sendResponseHead(head, true)) co_return;
      for (;;) {
        BodyRead r = co_await stream.readRequestBody(into);
        if (r.ec) co_return;
        if (co_await stream.sendResponseBody(into.first(r.n), r.end) || r.end) co_return;
      }
    }
    std::string body;
    while (req.body.present) {
      BodyRead r = co_await stream.readRequestBody(into);
      if (r.ec) co_return;
      body.append(buffer, r.n);
      if (r.end) break;
    }
    bodies.push_back(body);
    ResponseHead head;
    head.status = 200;
    head.body = {true, 2};
    if (co_await stream.sendResponseHead(head, false)) co_return;
    static constexpr char kOk[] = "ok";
    co_await stream.sendResponseBody(std::span<const char>(kOk, 2), true);
  }

  std::vector<std::string> requests;
  std::vector<std::string> bodies;
};

// Runs a server codec over `input` (then EOF) and returns everything it wrote.
std::string serve(const std::string& input, Handler& handler) {
  fuzz::quietLogs();
  asio::io_context io;
  const Settings settings = fuzz::codecSettings();
  fuzz::Counters counters;
  net::ConnectionStats stats(counters.tcp);
  std::string out;
  bool finished = false;
  fuzz::SocketPair pair(io);
  ServerConnectionImpl<TcpStream> conn(pair.takeCodecSide(), DownstreamInfo{}, handler, settings,
                                       stats);
  asio::co_spawn(io, conn.run(), [&](std::exception_ptr) { finished = true; });
  pair.run(io, reinterpret_cast<const uint8_t*>(input.data()), input.size(), out, 1 << 20,
           [&] { return finished; });
  EXPECT_TRUE(finished);
  return out;
}

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

TEST(Http1ServerCodecTest, PipelinedRequestsAreAnsweredInOrder) {
  Handler handler;
  const std::string out = serve(
      "GET /a HTTP/1.1\r\nHost: b\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc"
      "GET /c HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
      handler);
  EXPECT_EQ(handler.requests, (std::vector<std::string>{"GET /a", "POST /b", "GET /c"}));
  EXPECT_EQ(handler.bodies, (std::vector<std::string>{"", "abc", ""}));
  EXPECT_EQ(out, std::string(kOk) + std::string(kOk) +
                     "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
}

TEST(Http1ServerCodecTest, HeadGetsTheLengthAndNoBody) {
  Handler handler;
  const std::string out =
      serve("HEAD /a HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n", handler);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n");
}

TEST(Http1ServerCodecTest, ExpectContinueGets100BeforeTheBodyIsRead) {
  Handler handler;
  const std::string out = serve(
      "PUT /a HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
      "Connection: close\r\n\r\nhi",
      handler);
  EXPECT_EQ(out,
            "HTTP/1.1 100 Continue\r\n\r\n"
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
  EXPECT_EQ(handler.bodies, (std::vector<std::string>{"hi"}));
}

TEST(Http1ServerCodecTest, MalformedChunkIs400AndNothingAfterItIsRead) {
  Handler handler;
  const std::string out = serve(
      "POST /a HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
      "GET /smuggled HTTP/1.1\r\nHost: b\r\n\r\n",
      handler);
  EXPECT_EQ(handler.requests, (std::vector<std::string>{"POST /a"}));
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 Bad Request\r\n")) << out;
  EXPECT_NE(out.find("x-weft-error: malformed request body: "), std::string::npos) << out;
  EXPECT_NE(out.find("connection: close\r\n"), std::string::npos) << out;
}

TEST(Http1ServerCodecTest, WebSocketUpgradeOpensATunnelWithTheAcceptForItsKey) {
  Handler handler;
  const std::string out = serve(
      "GET /chat HTTP/1.1\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
      "raw bytes, then the client half-closes",
      handler);
  EXPECT_EQ(handler.requests, (std::vector<std::string>{"GET /chat"}));
  // RFC 6455 §1.3's example key and accept; the echo is the tunnel's.
  EXPECT_EQ(out,
            "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n"
            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
            "raw bytes, then the client half-closes");
}

TEST(Http1ServerCodecTest, WebSocketUpgradeMustBeAGetWithoutBody) {
  Handler handler;
  const std::string out = serve(
      "POST /chat HTTP/1.1\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Content-Length: 0\r\n\r\n",
      handler);
  EXPECT_TRUE(handler.requests.empty());
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 Bad Request\r\n")) << out;
  EXPECT_NE(out.find("a WebSocket upgrade must be a GET request without a body"), std::string::npos)
      << out;
}

TEST(Http1ServerCodecTest, OtherUpgradeIs501) {
  Handler handler;
  const std::string out = serve(
      "GET / HTTP/1.1\r\nHost: b\r\nConnection: Upgrade\r\nUpgrade: IRC/6.9\r\n\r\n", handler);
  EXPECT_TRUE(handler.requests.empty());
  EXPECT_TRUE(out.starts_with("HTTP/1.1 501 Not Implemented\r\n")) << out;
}

}  // namespace
}  // namespace weft::http::http1
