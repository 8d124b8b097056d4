// The HTTP/1.1 client codec (http1::ClientConnectionImpl) on one end of a socket pair, with an
// app's raw bytes on the other: the request it writes, the head and body it reads back, when the
// connection may be reused, and when a request counts as sent. Deadlines are milliseconds
// (tests/fuzz/http1_codec_harness.h).

#include "net/http/http1/client_codec.h"

#include <string>

#include <gtest/gtest.h>

#include "net/http/http1/errors.h"
#include "tests/fuzz/http1_codec_harness.h"

namespace weft::http::http1 {
namespace {

struct Exchange {
  std::string wrote;  // what the codec wrote (the request)
  error_code head_ec;
  ResponseHead head;
  std::string body;
  error_code body_ec;
  bool sent_before = true;  // requestSent() before anything was written
  bool sent_after = false;
  bool reusable = false;
};

// Sends `request` (with `body` when it has one) and reads the response the app's `input` holds.
Exchange exchange(const RequestHead& request, const std::string& body, const std::string& input) {
  fuzz::quietLogs();
  asio::io_context io;
  const Settings settings = fuzz::codecSettings();
  fuzz::Counters counters;
  Exchange x;
  bool finished = false;
  fuzz::SocketPair pair(io);
  ClientConnectionImpl<TcpStream> conn(pair.takeCodecSide(), settings, counters.tcp);
  auto run = [&]() -> awaitable<void> {
    ClientStream& stream = conn.startStream();
    x.sent_before = stream.requestSent();
    if (co_await stream.sendRequestHead(request, true)) co_return;
    if (request.body.present && request.upgrade.empty()) {
      if (co_await stream.sendRequestBody(body, true)) co_return;
    }
    x.sent_after = stream.requestSent();
    x.head_ec = co_await stream.readResponseHead(x.head);
    if (x.head_ec || !x.head.body.present) co_return;
    char buffer[1024];
    for (;;) {
      BodyRead r = co_await stream.readResponseBody(std::span<char>(buffer, sizeof(buffer)));
      x.body.append(buffer, r.n);
      if (r.ec) x.body_ec = r.ec;
      if (r.ec || r.end) break;
    }
  };
  asio::co_spawn(io, run(), [&](std::exception_ptr) { finished = true; });
  pair.run(io, reinterpret_cast<const uint8_t*>(input.data()), input.size(), x.wrote, 1 << 20,
           [&] { return finished; });
  EXPECT_TRUE(finished);
  x.reusable = conn.reusable();
  return x;
}

RequestHead get(std::string method = "GET") {
  RequestHead r;
  r.method = std::move(method);
  r.authority = "app";
  r.path = "/x";
  return r;
}

TEST(Http1ClientCodecTest, ReadsHeadAndBodyAndKeepsTheConnection) {
  Exchange x = exchange(get(), "", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello");
  EXPECT_EQ(x.wrote, "GET /x HTTP/1.1\r\nhost: app\r\n\r\n");
  ASSERT_FALSE(x.head_ec) << x.head_ec.message();
  EXPECT_EQ(x.head.status, 200u);
  ASSERT_EQ(x.head.headers.size(), 1u);
  EXPECT_EQ(*x.head.headers.get("x-a"), "1");
  EXPECT_EQ(x.body, "hello");
  EXPECT_TRUE(x.reusable);
  EXPECT_FALSE(x.sent_before);
  EXPECT_TRUE(x.sent_after);
}

TEST(Http1ClientCodecTest, InterimResponsesAreSkipped) {
  Exchange x =
      exchange(get(), "",
               "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
               "HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_FALSE(x.head_ec) << x.head_ec.message();
  EXPECT_EQ(x.head.status, 204u);
  EXPECT_FALSE(x.head.body.present);
}

TEST(Http1ClientCodecTest, HeadResponseHasNoBodyWhateverItsLength) {
  Exchange x = exchange(get("HEAD"), "", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  ASSERT_FALSE(x.head_ec) << x.head_ec.message();
  EXPECT_FALSE(x.head.body.present);
  EXPECT_TRUE(x.reusable);
}

TEST(Http1ClientCodecTest, ResponseCloseMakesTheConnectionUnusable) {
  Exchange x =
      exchange(get(), "", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  ASSERT_FALSE(x.head_ec);
  EXPECT_FALSE(x.reusable);
}

TEST(Http1ClientCodecTest, BodyCutShortIsAnError) {
  Exchange x = exchange(get(), "", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
  ASSERT_FALSE(x.head_ec);
  EXPECT_EQ(x.body, "short");
  EXPECT_TRUE(x.body_ec);
  EXPECT_FALSE(x.reusable);
}

TEST(Http1ClientCodecTest, UnaskedSwitchingProtocolsIsRefused) {
  Exchange x =
      exchange(get(), "", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_EQ(x.head_ec, make_error_code(Errc::kBadStatus));
}

TEST(Http1ClientCodecTest, UpgradeRequestAndTunnel) {
  RequestHead r = get();
  r.upgrade = "websocket";
  r.body = {true, std::nullopt};
  Exchange x = exchange(r, "",
                        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                        "Upgrade: websocket\r\nSec-WebSocket-Accept: abc\r\n\r\nfrom the app");
  ASSERT_FALSE(x.head_ec) << x.head_ec.message();
  EXPECT_EQ(x.head.status, kTunnelOpen);
  EXPECT_TRUE(x.head.body.present);
  EXPECT_FALSE(x.head.body.length);
  EXPECT_EQ(*x.head.headers.get("sec-websocket-accept"), "abc");
  EXPECT_EQ(x.body, "from the app");  // the tunnel's bytes, until the app's EOF
  EXPECT_FALSE(x.reusable);
  EXPECT_TRUE(
      x.wrote.starts_with("GET /x HTTP/1.1\r\nhost: app\r\nconnection: upgrade\r\n"
                          "upgrade: websocket\r\nsec-websocket-key: "))
      << x.wrote;
}

TEST(Http1ClientCodecTest, PostBodyIsFramedByLength) {
  RequestHead r = get("POST");
  r.body = {true, 5};
  Exchange x = exchange(r, "hello", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(x.wrote, "POST /x HTTP/1.1\r\nhost: app\r\ncontent-length: 5\r\n\r\nhello");
  EXPECT_TRUE(x.reusable);
}

}  // namespace
}  // namespace weft::http::http1
