// The HTTP/2 client codec against nghttpd (nghttp2's server, h2c and TLS with ALPN h2).
#include "net/http/http2/client_connection.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "identity/alpn.h"
#include "identity/credentials.h"
#include "tests/unit/identity/test_certs.h"
#include "tests/unit/net/http/http2/client_test_support.h"
#include "tests/unit/net/http/http2/nghttpd_process.h"

namespace weft::http::http2 {
namespace {

using namespace clienttest;  // NOLINT

class Http2ClientTest : public ClientFixture {
 protected:
  void SetUp() override {
    nghttpd_ = testutil::findNghttpd();
    // A missing tool fails, never skips: run scripts/install-deps.sh.
    ASSERT_FALSE(nghttpd_.empty()) << "nghttpd not found: apt-get install nghttp2-server";
    dir_ = testutil::makeTempDir();
    big_ = randomBytes(1 << 20, 1);
    testutil::writeFile(dir_ + "/big.bin", big_);
    testutil::writeFile(dir_ + "/huge.bin", randomBytes(4 << 20, 2));
    testutil::writeFile(dir_ + "/small.txt", "hello\n");
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void serve(std::vector<std::string> args) {
    args.insert(args.end(), {"--no-tls", "-d", dir_});
    ASSERT_TRUE(server_.start(nghttpd_, args, {})) << "nghttpd did not start";
  }

  testutil::NghttpdProcess server_;
  std::string nghttpd_;
  std::string dir_;
  std::string big_;
};

TEST_F(Http2ClientTest, GetsOneMebibyteFileOverH2cWithTrailers) {
  serve({"--trailer=x-checksum: done"});
  std::unique_ptr<TcpConnection> conn;
  Fetched got;
  std::unique_ptr<Http2ClientStream> stream;
  run([&]() -> awaitable<void> {
    co_await connectH2c(server_.port(), conn);
    if (!conn) co_return;
    stream = conn->openStream();
    const RequestHead head = request("GET", "/big.bin");
    co_await exchange(*stream, head, kNoBody, got);
  }());
  ASSERT_TRUE(conn);
  ASSERT_FALSE(got.ec) << got.ec.message();
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(got.body.size(), big_.size());
  EXPECT_EQ(sha256(got.body), sha256(big_));
  const std::string* trailer = stream->responseTrailers().get("x-checksum");
  ASSERT_NE(trailer, nullptr);
  EXPECT_EQ(*trailer, "done");
  EXPECT_TRUE(conn->reusable());
  EXPECT_GT(counters_.read_bytes, big_.size());
}

TEST_F(Http2ClientTest, GetsFileOverTlsWithAlpnH2) {
  auto ca_key = testutil::makeKey();
  auto ca = testutil::makeCert({"test-ca", {}, {}, true}, ca_key.get());
  auto key = testutil::makeKey();
  auto cert = testutil::makeCert({"localhost", {}, {"localhost"}, false}, key.get(), ca.get(),
                                 ca_key.get());
  testutil::writeFile(dir_ + "/key.pem", testutil::keyPem(key.get()));
  testutil::writeFile(dir_ + "/cert.pem", testutil::certPem(cert.get()));
  ASSERT_TRUE(server_.start(nghttpd_, {"-d", dir_}, {dir_ + "/key.pem", dir_ + "/cert.pem"}));

  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  const std::string ca_pem = testutil::certPem(ca.get());
  ctx.add_certificate_authority(asio::buffer(ca_pem));
  std::unique_ptr<Http2ClientConnectionImpl<TlsStream>> conn;
  bool h2 = false;
  Fetched got;
  run([&]() -> awaitable<void> {
    TlsStream tls(co_await asio::this_coro::executor, ctx);
    tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), server_.port());
    auto [cec] = co_await tls.next_layer().async_connect(endpoint, kUseTuple);
    if (cec) co_return;
    identity::offerAlpn(tls.native_handle());
    auto [hec] = co_await tls.handshake(TlsStream::Role::kClient);
    if (hec) co_return;
    h2 = identity::negotiatedHttp2(tls.native_handle());
    conn = std::make_unique<Http2ClientConnectionImpl<TlsStream>>(std::move(tls), settings_,
                                                                  counters_);
    auto stream = conn->openStream();
    const RequestHead head = request("GET", "/big.bin");
    co_await exchange(*stream, head, kNoBody, got);
  }());
  ASSERT_TRUE(conn) << "connect or handshake failed";
  EXPECT_TRUE(h2);
  ASSERT_FALSE(got.ec) << got.ec.message();
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(sha256(got.body), sha256(big_));
}

TEST_F(Http2ClientTest, FiftyConcurrentStreamsOnOneConnectionAllComplete) {
  serve({});
  std::unique_ptr<TcpConnection> conn;
  std::vector<std::unique_ptr<Http2ClientStream>> streams;
  std::vector<Fetched> got(50);
  size_t opened = 0;
  run([&]() -> awaitable<void> {
    co_await connectH2c(server_.port(), conn);
    if (!conn) co_return;
    const RequestHead head = request("GET", "/big.bin");
    for (int i = 0; i < 50; ++i) {
      if (!conn->canOpenStream()) co_return;
      streams.push_back(conn->openStream());
      asio::co_spawn(io_.get_executor(), exchange(*streams.back(), head, kNoBody, got[i]),
                     asio::detached);
    }
    opened = conn->activeStreams();
    co_await eventually([&] {
      return std::all_of(got.begin(), got.end(), [](const Fetched& f) { return f.done; });
    });
  }());
  ASSERT_EQ(streams.size(), 50u);
  EXPECT_EQ(opened, 50u);
  for (const Fetched& f : got) {
    ASSERT_TRUE(f.done);
    EXPECT_FALSE(f.ec) << f.ec.message();
    EXPECT_EQ(f.status, 200u);
    EXPECT_EQ(f.body.size(), big_.size());
  }
  EXPECT_EQ(conn->activeStreams(), 0u);
  EXPECT_EQ(counters_.open, 1u);  // one connection carried them all
}

TEST_F(Http2ClientTest, StreamsRequestBodyAndReadsTheEcho) {
  serve({"--echo-upload"});
  std::unique_ptr<TcpConnection> conn;
  const std::string body = randomBytes(300 * 1024, 3);
  Fetched got;
  run([&]() -> awaitable<void> {
    co_await connectH2c(server_.port(), conn);
    if (!conn) co_return;
    auto stream = conn->openStream();
    RequestHead head = request("POST", "/upload");
    head.body.present = true;  // length unknown: streamed in DATA frames
    co_await exchange(*stream, head, body, got);
  }());
  ASSERT_TRUE(conn);
  ASSERT_FALSE(got.ec) << got.ec.message();
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(got.body.size(), body.size());
  EXPECT_EQ(sha256(got.body), sha256(body));
}

TEST_F(Http2ClientTest, HonoursPeerMaxConcurrentStreams) {
  serve({"--max-concurrent-streams=4"});
  std::unique_ptr<TcpConnection> conn;
  bool settings_seen = false, full_at_four = false, free_again = false;
  size_t active_at_four = 0;
  Fetched first, after;
  run([&]() -> awaitable<void> {
    co_await connectH2c(server_.port(), conn);
    if (!conn) co_return;
    settings_seen =
        co_await eventually([&] { return conn->session().peerMaxConcurrentStreams() == 4; });
    const RequestHead head = request("GET", "/huge.bin");
    std::vector<std::unique_ptr<Http2ClientStream>> streams;
    while (conn->canOpenStream() && streams.size() < 10) {
      streams.push_back(conn->openStream());
      co_await streams.back()->sendRequestHead(head, true);
    }
    active_at_four = streams.size();
    full_at_four = !conn->canOpenStream() && conn->activeStreams() == 4;
    // 4 MiB responses outgrow the 1 MiB stream window: the streams stay open until read.
    co_await sleepFor(100ms);
    ResponseHead response;
    co_await streams[0]->readResponseHead(response);
    char buffer[65536];
    for (;;) {
      std::span<char> into(buffer, sizeof(buffer));
      BodyRead r = co_await streams[0]->readResponseBody(into);
      first.body.append(buffer, r.n);
      if (r.ec || r.end) break;
    }
    free_again = conn->canOpenStream() && conn->activeStreams() == 3;
    streams.clear();  // the rest are cancelled with RST_STREAM(CANCEL)
    auto stream = conn->openStream();
    const RequestHead small = request("GET", "/small.txt");
    co_await exchange(*stream, small, kNoBody, after);
  }());
  ASSERT_TRUE(conn);
  EXPECT_TRUE(settings_seen);
  EXPECT_EQ(active_at_four, 4u);
  EXPECT_TRUE(full_at_four);
  EXPECT_EQ(first.body.size(), 4u << 20);
  EXPECT_TRUE(free_again);
  ASSERT_FALSE(after.ec) << after.ec.message();
  EXPECT_EQ(after.body, "hello\n");
  EXPECT_EQ(conn->activeStreams(), 0u);
}

TEST_F(Http2ClientTest, ServerExitEndsTheConnection) {
  serve({});
  std::unique_ptr<TcpConnection> conn;
  Fetched before, later;
  bool reusable_before = false, gone = false;
  run([&]() -> awaitable<void> {
    co_await connectH2c(server_.port(), conn);
    if (!conn) co_return;
    auto stream = conn->openStream();
    const RequestHead head = request("GET", "/small.txt");
    co_await exchange(*stream, head, kNoBody, before);
    reusable_before = conn->reusable();
    server_.stop();
    gone = co_await eventually([&] { return !conn->alive(); });
    auto next = conn->openStream();
    co_await exchange(*next, head, kNoBody, later);
  }());
  ASSERT_TRUE(conn);
  EXPECT_EQ(before.body, "hello\n");
  EXPECT_TRUE(reusable_before);
  EXPECT_TRUE(gone);
  EXPECT_FALSE(conn->reusable());
  EXPECT_FALSE(conn->canOpenStream());
  EXPECT_EQ(later.ec, make_error_code(ClientErrc::kConnectionClosed));
}

}  // namespace
}  // namespace weft::http::http2
