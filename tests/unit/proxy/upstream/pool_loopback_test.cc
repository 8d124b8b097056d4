// ConnectionPool driven by the real ConnectorImpl on 127.0.0.1, against peers run in-process: a
// raw-socket HTTP/1.1 app (loopback_app.h) the test answers step by step, and an h2c peer served
// by the project's HTTP/2 server codec. What a test asserts is what the peer saw (how many
// connections it accepted, which one carried a request, an EOF) and the errors the pool returns;
// the pool's clock is held by the test, so idle rules move only when it moves the clock.
// pool_test.cc keeps the fakes for states a real peer cannot produce on demand.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "net/http/http2/server_codec.h"
#include "net/log.h"
#include "proxy/metrics/metrics.h"
#include "proxy/upstream/pool.h"
#include "tests/unit/proxy/pipeline/loopback_app.h"

namespace weft::upstream {
namespace {

using namespace std::chrono_literals;
using Lease = ConnectionPool::Lease;
using testutil::LoopbackApp;

constexpr auto kIdleTimeout = 30s;
// Past the pool's grace period before it probes an idle connection (250 ms, pool.cc), well
// within the idle timeout.
constexpr auto kPastProbeGrace = 1s;

// One GET on `stream`, the response read to its end; `status` gets its status, 0 on an error.
awaitable<void> get(http::ClientStream& stream, std::string path,
                    std::shared_ptr<std::optional<unsigned>> status) {
  http::RequestHead head;
  head.method = "GET";
  head.authority = "app";
  head.path = std::move(path);
  error_code ec = co_await stream.sendRequestHead(head, true);
  http::ResponseHead response;
  if (!ec) ec = co_await stream.readResponseHead(response);
  char buffer[64];
  while (!ec && response.body.present) {
    http::BodyRead r = co_await stream.readResponseBody(buffer);
    ec = r.ec;
    if (r.end) break;
  }
  *status = ec ? 0 : response.status;
}

// Waits (at most 5 s) until the socket bound to local port `port` in this process is readable:
// the FIN its peer sent has arrived, so a probe of it cannot race the close through loopback.
void waitReadable(uint16_t port) {
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        local.sin_family == AF_INET && ntohs(local.sin_port) == port) {
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 5000);
      return;
    }
  }
}

// An h2c server on 127.0.0.1: each accepted connection runs the project's server codec, which
// hands every stream here to be answered 200 without a body. With `hold_until` set, no stream is
// answered before that many have arrived: they are all answered only if they are open at once.
class H2cPeer final : public http::StreamHandler {
 public:
  explicit H2cPeer(asio::io_context& io) : io_(io) {
    gate_.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(io_, acceptLoop(), asio::detached);
  }
  // Lets every connection's run() finish (the pool has closed its ends) while what it uses exists.
  ~H2cPeer() override {
    error_code ignored;
    acceptor_.close(ignored);
    hold_until = 0;
    gate_.cancel();
    testutil::runUntil(io_, [&] { return running == 0; });
  }
  api::HostPort address() const { return {"127.0.0.1", acceptor_.local_endpoint().port()}; }

  awaitable<void> handle(http::ServerStream& stream) override {
    if (++started < hold_until) co_await gate_.async_wait(kUseTuple);
    gate_.cancel();
    http::ResponseHead head;
    head.status = 200;
    co_await stream.sendResponseHead(head, true);
  }

  int accepts = 0;
  int running = 0;  // connections whose codec has not returned yet
  int started = 0;  // streams
  int hold_until = 0;

 private:
  awaitable<void> acceptLoop() {
    for (;;) {
      TcpStream stream(io_.get_executor());
      auto [ec] = co_await acceptor_.async_accept(stream, kUseTuple);
      if (ec) co_return;
      ++accepts;
      ++running;
      asio::co_spawn(io_, serve(std::move(stream)), asio::detached);
    }
  }
  awaitable<void> serve(TcpStream stream) {
    {
      net::ConnectionStats stats(counters_);
      const std::string_view received;
      http::http2::ServerConnectionImpl<TcpStream> connection(
          std::move(stream), http::DownstreamInfo{}, *this, settings_, stats, received);
      co_await connection.run();
    }
    --running;
  }

  asio::io_context& io_;
  asio::basic_socket_acceptor<tcp, Executor> acceptor_{
      io_, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)};
  asio::steady_timer gate_{io_};
  http::http2::Settings settings_;
  net::ConnectionTally counters_;
};

class PoolLoopbackTest : public ::testing::Test {
 protected:
  PoolLoopbackTest() { log::setLevel(log::Level::kError); }
  ~PoolLoopbackTest() override { pool_.closeAll(); }

  // Starts `n` acquires at once and runs them all to completion (at most 5 s).
  std::vector<absl::StatusOr<Lease>> acquireAll(const Target& target, int n) {
    auto out = std::make_shared<std::vector<absl::StatusOr<Lease>>>();
    auto done = std::make_shared<int>(0);
    for (int i = 0; i < n; ++i) {
      out->emplace_back(absl::DeadlineExceededError("acquire did not complete"));
      asio::co_spawn(io_, pool_.acquire(target),
                     [out, done, i](std::exception_ptr, absl::StatusOr<Lease> r) {
                       (*out)[i] = std::move(r);
                       ++*done;
                     });
    }
    testutil::runUntil(io_, [&] { return *done == n; });
    std::vector<absl::StatusOr<Lease>> results;
    for (auto& r : *out) results.push_back(std::move(r));
    return results;
  }
  absl::StatusOr<Lease> acquire(const Target& target) {
    return std::move(acquireAll(target, 1)[0]);
  }

  // One GET of `path` on `lease`, answered by `app` on whichever of its connections received
  // it. Returns that connection's index (-1: none got it) once the exchange is over.
  int exchange(Lease& lease, LoopbackApp& app, const std::string& path) {
    auto status = std::make_shared<std::optional<unsigned>>();
    asio::co_spawn(io_, get(lease.stream(), path, status), asio::detached);
    const std::string request_line = "GET " + path + " HTTP/1.1\r\n";
    int conn = -1;
    testutil::runUntil(io_, [&] {
      for (size_t i = 0; i < app.conns.size(); ++i) {
        if (app.received(i, request_line)) conn = static_cast<int>(i);
      }
      return conn >= 0;
    });
    if (conn >= 0) app.reply(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    finish({&lease}, {status});
    EXPECT_EQ(status->value_or(0), 200u) << path;
    return conn;
  }

  // Waits (at most 5 s) for the GETs on `leases` to end; one that has not by then is abandoned,
  // so that no coroutine outlives the stream it uses.
  void finish(const std::vector<Lease*>& leases,
              const std::vector<std::shared_ptr<std::optional<unsigned>>>& statuses) {
    auto ended = [&] {
      return std::ranges::all_of(statuses, [](auto& s) { return s->has_value(); });
    };
    testutil::runUntil(io_, ended);
    for (size_t i = 0; i < leases.size(); ++i) {
      if (!statuses[i]->has_value()) leases[i]->abandon();
    }
    testutil::runUntil(io_, ended);
  }

  // Before io_: connections whose reader is still suspended on io_ end (and count their close
  // in metrics_) when io_ is destroyed.
  http::http1::Settings http1_;
  http::http2::Settings http2_;
  metrics::Metrics metrics_;
  asio::io_context io_;
  ConnectorImpl connector_{io_.get_executor(), http1_, http2_, 5s, metrics_, [] {
                             return std::shared_ptr<const identity::Credentials>();
                           }};
  // The pool's idle rules read this clock: a test moves it instead of sleeping.
  ConnectionPool::Clock::time_point now_ = ConnectionPool::Clock::now();
  ConnectionPool pool_{io_.get_executor(), connector_, kIdleTimeout, 64, [this] { return now_; }};
  // Last: gone first, while what their connections reach still exists.
  LoopbackApp app_{io_};
  Target target_ = Target::plain(app_.address());
};

TEST_F(PoolLoopbackTest, EmptyPoolConnectsAndAReleasedHttp1ConnectionIsHandedOutAgain) {
  auto first = acquire(target_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->reused());
  EXPECT_FALSE(first->multiplexed());
  EXPECT_EQ(exchange(*first, app_, "/one"), 0);
  pool_.release(target_, std::move(*first));
  EXPECT_EQ(pool_.idleCount(), 1u);

  auto second = acquire(target_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->reused());
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(exchange(*second, app_, "/two"), 0);  // the same TCP connection
  EXPECT_EQ(app_.conns.size(), 1u);

  // While that one is leased, another request needs a connection of its own.
  auto third = acquire(target_);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_FALSE(third->reused());
  EXPECT_EQ(exchange(*third, app_, "/three"), 1);
  EXPECT_EQ(app_.conns.size(), 2u);
}

TEST_F(PoolLoopbackTest, RefusedConnectFailsWithTheConnectorsErrorAndKeepsNothing) {
  const api::HostPort nobody = [] {
    asio::io_context io;
    tcp::acceptor closed(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    return api::HostPort{"127.0.0.1", closed.local_endpoint().port()};
  }();  // the port was listening a moment ago and is not any more
  for (const Target& target :
       {Target::plain(nobody), Target::plain(nobody, Target::Protocol::kH2c)}) {
    auto lease = acquire(target);
    ASSERT_FALSE(lease.ok()) << target.key;
    EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable) << target.key;
    EXPECT_EQ(lease.status().message(), "connect: Connection refused") << target.key;
  }
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(pool_.sharedCount(), 0u);
  pool_.evictExpired();
  EXPECT_EQ(pool_.targetCountForTest(), 0u);
}

TEST_F(PoolLoopbackTest, TargetsWithDifferentKeysGetDifferentConnections) {
  LoopbackApp other(io_);
  const Target other_target = Target::plain(other.address());
  ASSERT_NE(other_target.key, target_.key);
  auto a = acquire(target_);
  auto b = acquire(other_target);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(exchange(*a, app_, "/a"), 0);
  EXPECT_EQ(exchange(*b, other, "/b"), 0);
  pool_.release(target_, std::move(*a));
  pool_.release(other_target, std::move(*b));
  EXPECT_EQ(pool_.idleCount(), 2u);

  // Each target's idle connection goes only to a request for that target.
  auto b_again = acquire(other_target);
  ASSERT_TRUE(b_again.ok()) << b_again.status();
  EXPECT_TRUE(b_again->reused());
  EXPECT_EQ(exchange(*b_again, other, "/b2"), 0);
  EXPECT_FALSE(app_.received(0, "/b2"));
  EXPECT_EQ(app_.conns.size(), 1u);
  EXPECT_EQ(other.conns.size(), 1u);
}

TEST_F(PoolLoopbackTest, IdleConnectionThePeerClosedIsNotHandedOutOnceProbed) {
  auto lease = acquire(target_);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(exchange(*lease, app_, "/one"), 0);
  pool_.release(target_, std::move(*lease));

  // Past the grace period the probe runs; a live connection passes it and is reused.
  now_ += kPastProbeGrace;
  lease = acquire(target_);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE(lease->reused());
  EXPECT_EQ(exchange(*lease, app_, "/two"), 0);
  pool_.release(target_, std::move(*lease));
  ASSERT_EQ(app_.conns.size(), 1u);

  // The app closes the idle keep-alive connection (FIN).
  const uint16_t pool_port = app_.conns[0]->socket.remote_endpoint().port();
  app_.close(0);
  waitReadable(pool_port);
  now_ += kPastProbeGrace;
  lease = acquire(target_);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_FALSE(lease->reused());
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(exchange(*lease, app_, "/three"), 1);
  EXPECT_EQ(app_.conns.size(), 2u);
}

TEST_F(PoolLoopbackTest, EvictExpiredClosesAnIdleConnectionPastTheIdleTimeout) {
  auto lease = acquire(target_);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(exchange(*lease, app_, "/one"), 0);
  pool_.release(target_, std::move(*lease));

  now_ += kIdleTimeout - 1s;
  pool_.evictExpired();
  EXPECT_EQ(pool_.idleCount(), 1u);
  now_ += 1s;
  pool_.evictExpired();
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(pool_.targetCountForTest(), 0u);
  testutil::runUntil(io_, [&] { return app_.ended(0); });
  EXPECT_TRUE(app_.ended(0)) << "the app did not see the connection end";
}

class PoolH2cLoopbackTest : public PoolLoopbackTest {
 protected:
  ~PoolH2cLoopbackTest() override { pool_.closeAll(); }  // before the peer goes

  // GETs on every lease at once; the number answered 200.
  int exchangeAll(std::vector<absl::StatusOr<Lease>>& leases) {
    std::vector<Lease*> started;
    std::vector<std::shared_ptr<std::optional<unsigned>>> statuses;
    for (auto& lease : leases) {
      started.push_back(&*lease);
      statuses.push_back(std::make_shared<std::optional<unsigned>>());
      asio::co_spawn(io_, get(lease->stream(), "/", statuses.back()), asio::detached);
    }
    finish(started, statuses);
    return std::ranges::count_if(statuses, [](auto& s) { return s->value_or(0) == 200; });
  }

  H2cPeer peer_{io_};
  Target h2c_ = Target::plain(peer_.address(), Target::Protocol::kH2c);
};

TEST_F(PoolH2cLoopbackTest, ConcurrentStreamsShareOneConnection) {
  constexpr int kLeases = 10;
  std::vector<absl::StatusOr<Lease>> leases;
  for (int i = 0; i < kLeases; ++i) {
    leases.push_back(acquire(h2c_));
    ASSERT_TRUE(leases.back().ok()) << leases.back().status();
    EXPECT_TRUE(leases.back()->multiplexed());
    EXPECT_EQ(leases.back()->reused(), i > 0);
  }
  EXPECT_EQ(pool_.sharedCount(), 1u);
  // The peer answers none until all ten streams are open on it at once.
  peer_.hold_until = kLeases;
  EXPECT_EQ(exchangeAll(leases), kLeases);
  EXPECT_EQ(peer_.started, kLeases);
  EXPECT_EQ(peer_.accepts, 1);
}

TEST_F(PoolH2cLoopbackTest, BurstOfLeasesWaitsForOneConnect) {
  constexpr int kLeases = 10;
  auto leases = acquireAll(h2c_, kLeases);
  int fresh = 0;
  for (auto& lease : leases) {
    ASSERT_TRUE(lease.ok()) << lease.status();
    fresh += !lease->reused();
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(pool_.sharedCount(), 1u);
  // Every lease's stream reaches the peer: a connection opened for any of them was accepted.
  EXPECT_EQ(exchangeAll(leases), kLeases);
  EXPECT_EQ(peer_.accepts, 1);
}

TEST_F(PoolH2cLoopbackTest, EvictExpiredClosesASharedConnectionIdlePastTheIdleTimeout) {
  auto one = acquireAll(h2c_, 1);
  ASSERT_TRUE(one[0].ok()) << one[0].status();
  EXPECT_EQ(exchangeAll(one), 1);
  one.clear();  // the stream ends; the connection stays pooled

  pool_.evictExpired();  // seen without streams: idle from now
  now_ += kIdleTimeout - 1s;
  pool_.evictExpired();
  EXPECT_EQ(pool_.sharedCount(), 1u);
  now_ += 1s;
  pool_.evictExpired();
  EXPECT_EQ(pool_.sharedCount(), 0u);
  testutil::runUntil(io_, [&] { return peer_.running == 0; });
  EXPECT_EQ(peer_.running, 0) << "the peer's connection did not end";
  EXPECT_EQ(peer_.accepts, 1);
}

}  // namespace
}  // namespace weft::upstream
