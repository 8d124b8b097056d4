// UpstreamTry against the real ConnectionPool and ConnectorImpl on 127.0.0.1, to a test app of
// raw sockets (loopback_app.h) that the test answers, closes or resets step by step. The client
// side is an in-memory ServerStream whose reset the test triggers. Covers what the header
// promises: a response head read; a refused connect (503 naming the address); a request resent
// on a fresh connection only when none of it reached the wire; no resend once it was written; a
// deadline (504); a client reset (client_gone, the upstream aborted, the breaker slot given back,
// a connection opened meanwhile kept in the pool).

#include "proxy/pipeline/upstream_try.h"

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "proxy/metrics/metrics.h"
#include "tests/fuzz/http1_codec_harness.h"
#include "tests/unit/proxy/pipeline/loopback_app.h"

namespace weft::pipeline {
namespace {

using namespace std::chrono_literals;
using testutil::LoopbackApp;

// The client's side of the exchange, in memory: a request without a body still to read, and a
// reset the test triggers.
class FakeServerStream final : public http::ServerStream {
 public:
  http::RequestHead& request() override { return request_; }
  const http::DownstreamInfo& downstream() const override { return info_; }
  awaitable<http::BodyRead> readRequestBody(std::span<char>) override {
    co_return http::BodyRead{{}, 0, true};
  }
  void cancelRequestBody() override {}
  bool requestBodyBuffered() const override { return true; }
  awaitable<error_code> sendResponseHead(const http::ResponseHead&, bool) override {
    co_return error_code{};
  }
  awaitable<error_code> sendResponseBody(std::span<const char>, bool) override {
    co_return error_code{};
  }
  awaitable<error_code> sendResponseTrailers(const http::HeaderMap&) override {
    co_return error_code{};
  }
  bool responseStarted() const override { return false; }
  void setResetCallback(std::function<void()> callback) override { on_reset = std::move(callback); }

  // What a client's RST_STREAM does.
  void reset() {
    if (auto callback = std::move(on_reset)) callback();
  }

  std::function<void()> on_reset;

 private:
  http::RequestHead request_;
  http::DownstreamInfo info_;
};

http::RequestHead get(std::string path) {
  http::RequestHead head;
  head.method = "GET";
  head.authority = "app";
  head.path = std::move(path);
  return head;
}

class UpstreamTryTest : public ::testing::Test {
 protected:
  UpstreamTryTest() { fuzz::quietLogs(); }
  ~UpstreamTryTest() override { pool_.closeAll(); }

  // Starts a try of `request` (its body, if any, from `replay`) on `target`.
  void start(const http::RequestHead& request, const upstream::Target& target,
             std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt,
             const std::string* replay = nullptr) {
    attempt_ = Attempt{};
    done_ = false;
    body_.emplace(BodySource{client_, replay});
    asio::co_spawn(io_, runTry(request, target, deadline), asio::detached);
  }
  awaitable<void> runTry(const http::RequestHead& request, const upstream::Target& target,
                         std::optional<std::chrono::steady_clock::time_point> deadline) {
    co_await try_.run(attempt_, request, *body_, target, deadline);
    done_ = true;
  }
  template <typename Until>
  void runUntil(Until until) {
    testutil::runUntil(io_, until);
  }
  void finish() {
    runUntil([&] { return done_; });
    ASSERT_TRUE(done_) << "the try did not end";
  }

  // One complete exchange whose connection goes back to the pool, idle.
  void primePool(const upstream::Target& target) {
    const http::RequestHead first = get("/first");
    start(first, target);
    runUntil([&] { return app_.received(0, "\r\n\r\n"); });
    app_.reply(0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    finish();
    ASSERT_EQ(attempt_.result.status, 200u);
    pool_.release(target, std::move(attempt_.lease));
    ASSERT_EQ(pool_.idleCount(), 1u);
  }

  // Before io_: connections whose reader is still suspended on io_ end (and count their close
  // in metrics_) when io_ is destroyed.
  http::http1::Settings settings_ = [] {
    http::http1::Settings s;
    s.read_timeout = 30s;  // only the try's own deadline may end a wait in these tests
    return s;
  }();
  http::http2::Settings http2_;
  metrics::Metrics metrics_;
  asio::io_context io_;
  upstream::ConnectorImpl connector_{io_.get_executor(), settings_, http2_, 5s, metrics_, [] {
                                       return std::shared_ptr<const identity::Credentials>();
                                     }};
  // The pool's clock stands still: a released connection never looks idle long enough for the
  // staleness probe, so what a dead pooled connection does to the try is the try's to handle.
  const upstream::ConnectionPool::Clock::time_point now_ = upstream::ConnectionPool::Clock::now();
  upstream::ConnectionPool pool_{io_.get_executor(), connector_, 1h, 64, [this] { return now_; }};
  UpstreamTry try_{pool_, io_.get_executor(), "app"};
  FakeServerStream client_;
  std::optional<BodySource> body_;
  Attempt attempt_;
  bool done_ = false;
  LoopbackApp app_{io_};  // last: gone first, while what its connections reach still exists
  upstream::Target target_ = upstream::Target::plain(app_.address());
};

TEST_F(UpstreamTryTest, ReadsTheResponseHeadAndLeavesTheBodyOnTheLease) {
  const http::RequestHead request = get("/hello");
  start(request, target_);
  runUntil([&] { return app_.received(0, "\r\n\r\n"); });
  EXPECT_EQ(app_.conns[0]->received, "GET /hello HTTP/1.1\r\nhost: app\r\n\r\n");
  EXPECT_FALSE(done_);  // waiting for the response head
  app_.reply(0, "HTTP/1.1 201 Created\r\nX-App: yes\r\nContent-Length: 5\r\n\r\nhello");
  finish();
  EXPECT_EQ(attempt_.result.failure, TryFailure::kNone);
  EXPECT_EQ(attempt_.result.status, 201u);
  EXPECT_EQ(attempt_.local_status, 0u);
  EXPECT_EQ(attempt_.reason, "");
  EXPECT_EQ(attempt_.head.status, 201u);
  ASSERT_NE(attempt_.head.headers.get("x-app"), nullptr);
  EXPECT_EQ(*attempt_.head.headers.get("x-app"), "yes");
  EXPECT_EQ(attempt_.head.body.length, std::optional<uint64_t>(5));
  ASSERT_TRUE(attempt_.lease);
  EXPECT_FALSE(attempt_.lease.reused());
  // The body is left for the caller to stream.
  std::string body;
  auto read = [&]() -> awaitable<void> {
    char buffer[64];
    http::BodyRead r = co_await attempt_.lease.stream().readResponseBody(buffer);
    body.assign(buffer, r.n);
  };
  asio::co_spawn(io_, read(), asio::detached);
  runUntil([&] { return !body.empty(); });
  EXPECT_EQ(body, "hello");
}

TEST_F(UpstreamTryTest, RefusedConnectIs503NamingTheAddress) {
  const upstream::Target nobody = [] {
    asio::io_context io;
    tcp::acceptor closed(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    return upstream::Target::plain({"127.0.0.1", closed.local_endpoint().port()});
  }();  // the port was listening a moment ago and is not any more
  const http::RequestHead request = get("/");
  start(request, nobody);
  finish();
  EXPECT_EQ(attempt_.result.failure, TryFailure::kConnect);
  EXPECT_EQ(attempt_.local_status, 503u);
  EXPECT_EQ(attempt_.reason,
            "app connect failed: " + nobody.address + ": connect: Connection refused");
  EXPECT_FALSE(attempt_.lease);
}

TEST_F(UpstreamTryTest, PooledConnectionResetBeforeAnyByteIsResentOnAFreshOneExactlyOnce) {
  primePool(target_);
  app_.reset(0);  // the app dropped the idle keep-alive connection: the next write fails at once
  const std::string payload = "a body held for replay";
  http::RequestHead request = get("/again");
  request.method = "POST";  // not idempotent: only "nothing was sent" allows sending it again
  request.body = {true, payload.size()};
  start(request, target_, std::nullopt, &payload);
  runUntil([&] { return app_.received(1, payload); });
  ASSERT_EQ(app_.conns.size(), 2u);
  EXPECT_EQ(app_.conns[1]->received,
            "POST /again HTTP/1.1\r\nhost: app\r\ncontent-length: 22\r\n\r\n" + payload);
  app_.reply(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  finish();
  EXPECT_EQ(attempt_.result.failure, TryFailure::kNone) << attempt_.reason;
  EXPECT_EQ(attempt_.result.status, 200u);
  EXPECT_FALSE(attempt_.lease.reused());  // the resend went to a new connection
  // The first connection carried only the first request: the app saw this one once.
  EXPECT_EQ(app_.conns[0]->received.find("/again"), std::string::npos);
  EXPECT_EQ(app_.conns.size(), 2u);
}

TEST_F(UpstreamTryTest, RequestTheAppReadBeforeClosingIsNotResent) {
  primePool(target_);
  const std::string payload = "x";
  http::RequestHead request = get("/once");
  request.method = "PUT";
  request.body = {true, payload.size()};
  start(request, target_, std::nullopt, &payload);
  runUntil([&] { return app_.received(0, "/once"); });
  app_.close(0);  // it read the request and hung up: it may have processed it
  finish();
  EXPECT_EQ(attempt_.result.failure, TryFailure::kReset);
  EXPECT_EQ(attempt_.local_status, 502u);
  EXPECT_EQ(attempt_.reason,
            "app closed before response headers: " + app_.addressText() + ": end of stream");
  EXPECT_EQ(app_.conns.size(), 1u);  // no new connection, no second copy
}

TEST_F(UpstreamTryTest, DeadlineThatPassesBeforeTheResponseIs504AndClosesTheConnection) {
  // The app never answers and the codec's read timeout is 30 s: only the deadline ends the wait.
  // Whichever step the deadline catches (connect, write or the wait for the head), the try must
  // end as a timeout and leave no connection to the app open.
  const http::RequestHead request = get("/slow");
  start(request, target_, std::chrono::steady_clock::now() + 100ms);
  finish();
  EXPECT_EQ(attempt_.result.failure, TryFailure::kTimeout);
  EXPECT_EQ(attempt_.local_status, 504u);
  EXPECT_EQ(attempt_.reason, "app " + app_.addressText() + ": timed out waiting for the response");
  runUntil([&] { return app_.conns.empty() || app_.ended(0); });
  EXPECT_TRUE(app_.conns.empty() || app_.ended(0));
  EXPECT_EQ(pool_.idleCount(), 0u);
}

TEST_F(UpstreamTryTest, ClientResetWhileWaitingAbortsTheUpstreamAndFreesTheSlotAtOnce) {
  upstream::ServiceLimits limits(io_.get_executor());
  const http::RequestHead request = get("/cancelled");
  start(request, target_);
  auto admit = [&]() -> awaitable<void> {
    auto admitted = co_await limits.admit(false, std::chrono::steady_clock::time_point::max());
    attempt_.permit = std::move(std::get<upstream::ServiceLimits::PermitPtr>(admitted));
  };
  asio::co_spawn(io_, admit(), asio::detached);
  runUntil([&] { return app_.received(0, "\r\n\r\n") && attempt_.permit != nullptr; });
  ASSERT_EQ(limits.active(), 1u);
  ASSERT_FALSE(done_);
  client_.reset();
  EXPECT_TRUE(attempt_.client_gone);
  EXPECT_EQ(limits.active(), 0u);  // given back by the reset, not when the try unwinds
  finish();
  EXPECT_TRUE(attempt_.client_gone);
  // The upstream exchange was abandoned: HTTP/1.1 closes the app's connection.
  runUntil([&] { return app_.ended(0); });
  EXPECT_TRUE(app_.ended(0));
  EXPECT_EQ(pool_.idleCount(), 0u);
}

TEST_F(UpstreamTryTest, ClientResetWhileConnectingKeepsTheNewConnectionForTheNextRequest) {
  const http::RequestHead request = get("/never");
  start(request, target_);
  // The try installs its reset callback, then waits on the connect.
  runUntil([&] { return static_cast<bool>(client_.on_reset); });
  ASSERT_FALSE(done_);
  client_.reset();
  finish();
  EXPECT_TRUE(attempt_.client_gone);
  EXPECT_FALSE(attempt_.lease);
  EXPECT_EQ(pool_.idleCount(), 1u);
  runUntil([&] { return app_.conns.size() == 1; });
  ASSERT_EQ(app_.conns.size(), 1u);
  EXPECT_EQ(app_.conns[0]->received, "");  // nothing of the request was sent
  EXPECT_FALSE(app_.ended(0));
}

}  // namespace
}  // namespace weft::pipeline
