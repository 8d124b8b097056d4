// The listener (proxy/listener/listener.cc) on 127.0.0.1 with real clients: bindReusePort lets
// workers share a port and names the address it could not bind; the accept loop hands HTTP/1.1
// and HTTP/2 prior-knowledge connections (outbound) and mTLS connections (inbound) to the
// handler with the DownstreamInfo they deserve, counts open connections, and ends when its
// acceptor closes.

#include "proxy/listener/listener.h"

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "net/http/http2/settings.h"
#include "net/stream_io.h"
#include "net/tls_stream.h"
#include "tests/unit/net/http/http2/raw_frames.h"
#include "tests/unit/proxy/support/http_test_client.h"
#include "tests/unit/proxy/support/test_workloads.h"

namespace weft::listener {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testutil::runTask;
using testutil::runUntil;
namespace raw = http::http2::rawframes;

// Answers every request 200 "ok" and remembers what it saw.
class RecordingHandler : public http::StreamHandler {
 public:
  struct Seen {
    std::string request;  // "<method> <path>"
    http::DownstreamInfo info;
  };

  awaitable<void> handle(http::ServerStream& stream) override {
    seen.push_back({stream.request().method + " " + stream.request().path, stream.downstream()});
    http::ResponseHead head;
    head.status = 200;
    head.body = {true, 2};
    if (co_await stream.sendResponseHead(head, false)) co_return;
    const std::span<const char> body("ok", 2);
    co_await stream.sendResponseBody(body, true);
  }

  std::vector<Seen> seen;
};

router::RouteTableConstSharedPtr emptyRoutes() {
  return *router::RouteTable::build(
      std::make_shared<const api::MeshConfig>(api::Resources{}, "(none)", 0));
}

// HPACK literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2).
std::string literal(const std::string& name, const std::string& value) {
  return std::string(1, '\0') + static_cast<char>(name.size()) + name +
         static_cast<char>(value.size()) + value;
}

// An HTTP/2 client with prior knowledge on `stream`: the preface, SETTINGS and a GET for `path`
// on stream 1; true once a HEADERS frame with :status 200 (static table index 8) comes back.
template <typename Stream>
awaitable<bool> http2Get(Stream& stream, std::string path) {
  const std::string block = literal(":method", "GET") + literal(":scheme", "http") +
                            literal(":path", path) + literal(":authority", "localhost");
  const std::string out = std::string(http::http2::kClientPreface) +
                          raw::frame(raw::kSettings, 0, 0, "") +
                          raw::frame(raw::kHeaders, 0x5, 1, block);  // END_STREAM|END_HEADERS
  auto [wec, wn] = co_await io::writeAll(stream, asio::buffer(out));
  if (wec) co_return false;
  std::string in;
  char buffer[4096];
  for (;;) {
    auto [ec, n] = co_await io::readSome(stream, asio::buffer(buffer));
    in.append(buffer, n);
    for (const raw::Frame& f : raw::takeFrames(in)) {
      if (f.type == raw::kHeaders && f.stream == 1) co_return f.payload.starts_with('\x88');
    }
    if (ec) co_return false;
  }
}

// Writes `request` on `stream` and reads until the server closes: what came back.
template <typename Stream>
awaitable<std::string> exchange(Stream& stream, std::string request) {
  std::string in;
  auto [wec, wn] = co_await io::writeAll(stream, asio::buffer(request));
  if (wec) co_return in;
  char buffer[4096];
  for (;;) {
    auto [ec, n] = co_await io::readSome(stream, asio::buffer(buffer));
    in.append(buffer, n);
    if (ec) co_return in;
  }
}

awaitable<error_code> connectTo(Socket& socket, uint16_t port) {
  auto [ec] = co_await socket.async_connect(
      tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port), kUseTuple);
  co_return ec;
}

awaitable<error_code> handshake(TlsStream& stream) {
  auto [ec] = co_await stream.handshake(TlsStream::Role::kClient);
  co_return ec;
}

class ListenerTest : public ::testing::Test {
 protected:
  ~ListenerTest() override {
    // Connection coroutines left in io_ refer to ctx_: they go with io_, before ctx_.
    acceptor_.reset();
    io_.reset();
  }

  // Binds 127.0.0.1:0 and runs the accept loop on it.
  void start(bool inbound) {
    auto acceptor = bindReusePort(*io_, {"127.0.0.1", 0});
    ASSERT_TRUE(acceptor.ok()) << acceptor.status();
    acceptor_ = std::move(*acceptor);
    port_ = acceptor_->local_endpoint().port();
    asio::co_spawn(*io_, acceptLoop(ctx_, *acceptor_, inbound, handler_),
                   [this](std::exception_ptr e) {
                     if (e) std::rethrow_exception(e);
                     loop_ended_ = true;
                   });
  }

  // A TLS client on a fresh connection to the listener, handshake done (or failed: in `ec`).
  TlsStream tlsClient(asio::ssl::context& context, const char* alpn, error_code& ec) {
    Socket socket(io_->get_executor());
    ec = runTask(*io_, connectTo(socket, port_)).value_or(asio::error::timed_out);
    TlsStream stream(std::move(socket), context);
    if (alpn != nullptr) {
      SSL_set_alpn_protos(stream.native_handle(), reinterpret_cast<const unsigned char*>(alpn),
                          static_cast<unsigned>(strlen(alpn)));
    }
    if (!ec) ec = runTask(*io_, handshake(stream)).value_or(asio::error::timed_out);
    return stream;
  }

  int active() const { return ctx_.active_connections.load(); }

  std::unique_ptr<asio::io_context> io_ = std::make_unique<asio::io_context>();
  config::Options options_;
  metrics::Metrics metrics_;
  WorkerContext ctx_{*io_, options_, metrics_, emptyRoutes(), nullptr};
  RecordingHandler handler_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  bool loop_ended_ = false;
  testutil::TestCa ca_;
};

TEST_F(ListenerTest, BindReusePortLetsTwoAcceptorsShareOnePort) {
  auto first = bindReusePort(*io_, {"127.0.0.1", 0});
  ASSERT_TRUE(first.ok()) << first.status();
  const uint16_t port = (*first)->local_endpoint().port();
  auto second = bindReusePort(*io_, {"127.0.0.1", port});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->local_endpoint().port(), port);
  // Both listen: a client connects, and one of the two has it in its queue.
  Socket client(io_->get_executor());
  EXPECT_FALSE(runTask(*io_, connectTo(client, port)).value_or(asio::error::timed_out));
}

TEST_F(ListenerTest, BindReusePortErrorsNameTheAddress) {
  auto bad = bindReusePort(*io_, {"not-an-ip", 80});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(bad.status().message(), HasSubstr("cannot parse not-an-ip:80"));

  // A listener without SO_REUSEPORT holds the port: binding it again fails, naming it.
  tcp::acceptor occupant(*io_, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
  const uint16_t port = occupant.local_endpoint().port();
  auto taken = bindReusePort(*io_, {"127.0.0.1", port});
  ASSERT_FALSE(taken.ok());
  EXPECT_THAT(taken.status().message(),
              HasSubstr("cannot bind 127.0.0.1:" + std::to_string(port) + ": "));
  EXPECT_THAT(taken.status().message(), HasSubstr("in use"));
}

TEST_F(ListenerTest, OutboundHttp1RequestReachesTheHandlerAsHttp1) {
  start(false);
  testutil::Response res = testutil::fetch(*io_, port_, "/hello");
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(res.body(), "ok");
  ASSERT_EQ(handler_.seen.size(), 1u);
  EXPECT_EQ(handler_.seen[0].request, "GET /hello");
  const http::DownstreamInfo& info = handler_.seen[0].info;
  EXPECT_FALSE(info.inbound);
  EXPECT_FALSE(info.tls);
  EXPECT_FALSE(info.http2);
  EXPECT_EQ(info.peer_identity, "");
  EXPECT_THAT(metrics_.serialize(),
              HasSubstr("tcp_open_total{direction=\"outbound\",peer=\"src\",tls=\"false\"} 1"));
}

TEST_F(ListenerTest, OutboundPriorKnowledgeHttp2ReachesTheHandlerAsHttp2) {
  start(false);
  Socket client(io_->get_executor());
  ASSERT_FALSE(runTask(*io_, connectTo(client, port_)).value_or(asio::error::timed_out));
  EXPECT_EQ(runTask(*io_, http2Get(client, "/h2")), std::optional<bool>(true));
  ASSERT_EQ(handler_.seen.size(), 1u);
  EXPECT_EQ(handler_.seen[0].request, "GET /h2");
  EXPECT_TRUE(handler_.seen[0].info.http2);
  EXPECT_FALSE(handler_.seen[0].info.inbound);
}

TEST_F(ListenerTest, OpenConnectionsAreCountedUntilTheyClose) {
  start(false);
  EXPECT_EQ(active(), 0);
  // Two kept-alive connections, each after one exchange.
  testutil::HttpConnection a(*io_), b(*io_);
  const testutil::Request req = testutil::makeRequest(beast::http::verb::get, "/");
  for (testutil::HttpConnection* c : {&a, &b}) {
    ASSERT_EQ(runTask(*io_, c->connect(port_)), std::optional<error_code>(error_code{}));
    auto got = runTask(*io_, c->roundTrip(req));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(std::get<1>(*got).result_int(), 200u);
  }
  EXPECT_EQ(active(), 2);
  EXPECT_EQ(ctx_.connections.size(), 2u);
  a.stream().close();
  EXPECT_TRUE(runUntil(*io_, [&] { return active() == 1; })) << active();
  b.stream().close();
  EXPECT_TRUE(runUntil(*io_, [&] { return active() == 0; })) << active();
  EXPECT_TRUE(ctx_.connections.empty());
}

TEST_F(ListenerTest, ClosingTheAcceptorEndsTheLoopButNotOpenConnections) {
  start(false);
  testutil::HttpConnection kept(*io_);
  const testutil::Request req = testutil::makeRequest(beast::http::verb::get, "/first");
  ASSERT_EQ(runTask(*io_, kept.connect(port_)), std::optional<error_code>(error_code{}));
  ASSERT_TRUE(runTask(*io_, kept.roundTrip(req)).has_value());

  acceptor_->close();
  EXPECT_TRUE(runUntil(*io_, [&] { return loop_ended_; }));
  // The connection accepted before goes on.
  const testutil::Request again = testutil::makeRequest(beast::http::verb::get, "/second");
  auto got = runTask(*io_, kept.roundTrip(again));
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(std::get<0>(*got)) << std::get<0>(*got).message();
  EXPECT_EQ(std::get<1>(*got).result_int(), 200u);
  ASSERT_EQ(handler_.seen.size(), 2u);
  EXPECT_EQ(handler_.seen[1].request, "GET /second");
}

TEST_F(ListenerTest, InboundCarriesThePeersSpiffeIdentity) {
  ctx_.credentials = ca_.credentials("server");
  start(true);
  auto client = ca_.credentials("client");
  error_code ec;
  TlsStream http1 = tlsClient(client->clientContext(), nullptr, ec);
  ASSERT_FALSE(ec) << ec.message();
  auto reply = runTask(*io_, exchange(http1,
                                      "GET /in HTTP/1.1\r\nHost: backend\r\n"
                                      "Connection: close\r\n\r\n"));
  ASSERT_TRUE(reply.has_value());
  EXPECT_THAT(*reply, StartsWith("HTTP/1.1 200"));
  ASSERT_EQ(handler_.seen.size(), 1u);
  EXPECT_EQ(handler_.seen[0].request, "GET /in");
  const http::DownstreamInfo& info = handler_.seen[0].info;
  EXPECT_TRUE(info.inbound);
  EXPECT_TRUE(info.tls);
  EXPECT_FALSE(info.http2);
  EXPECT_EQ(info.peer_identity, testutil::TestCa::identityOf("client"));

  // ALPN h2 selects the HTTP/2 codec.
  TlsStream h2 = tlsClient(client->clientContext(), "\x02h2", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(runTask(*io_, http2Get(h2, "/in2")), std::optional<bool>(true));
  ASSERT_EQ(handler_.seen.size(), 2u);
  EXPECT_TRUE(handler_.seen[1].info.http2);
  EXPECT_EQ(handler_.seen[1].info.peer_identity, testutil::TestCa::identityOf("client"));
}

TEST_F(ListenerTest, InboundClientWithoutCertificateIsRefused) {
  ctx_.credentials = ca_.credentials("server");
  start(true);
  asio::ssl::context anonymous(asio::ssl::context::tls_client);
  anonymous.set_verify_mode(asio::ssl::verify_none);
  error_code ec;
  TlsStream stream = tlsClient(anonymous, nullptr, ec);
  // TLS 1.3: the client may finish its handshake before the server checks its (missing)
  // certificate; either way no request gets through.
  if (!ec) {
    auto reply = runTask(*io_, exchange(stream, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(*reply, "");
  }
  EXPECT_TRUE(handler_.seen.empty());
  EXPECT_EQ(active(), 0);
}

}  // namespace
}  // namespace weft::listener
