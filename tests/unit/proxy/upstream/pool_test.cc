#include "proxy/upstream/pool.h"

#include <chrono>
#include <memory>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"

namespace weft::upstream {
namespace {

using namespace std::chrono_literals;

// What a test observes of a fake connection after the pool has taken ownership of it.
struct ConnState {
  int id = 0;
  bool reusable = true;
  bool stale = false;
  int closes = 0;
  bool destroyed = false;
  // Multiplexed connections.
  size_t max_streams = 100;
  size_t open_streams = 0;
};

// The stream side is never driven here: the pool only hands streams out.
class FakeStream : public http::ClientStream {
 public:
  awaitable<error_code> sendRequestHead(const http::RequestHead&, bool) override { std::abort(); }
  awaitable<error_code> sendRequestBody(std::span<const char>, bool) override { std::abort(); }
  awaitable<error_code> readResponseHead(http::ResponseHead&) override { std::abort(); }
  awaitable<http::BodyRead> readResponseBody(std::span<char>) override { std::abort(); }
  bool responseBodyBuffered() const override { return false; }
  const http::HeaderMap& responseTrailers() const override { return trailers_; }
  bool requestSent() const override { return false; }
  void abort() override { ++aborts; }

  int aborts = 0;

 private:
  http::HeaderMap trailers_;
};

// An HTTP/1.1-like connection: one exchange at a time, itself the stream.
class FakeConnection final : public http::ClientConnection, public FakeStream {
 public:
  explicit FakeConnection(std::shared_ptr<ConnState> state) : state_(std::move(state)) {}
  ~FakeConnection() override { state_->destroyed = true; }

  // http::ClientConnection
  http::ClientStream& startStream() override { return *this; }
  bool reusable() const override { return state_->reusable; }
  bool staleWhileIdle() override { return state_->stale; }
  void close() override { ++state_->closes; }

  int id() const { return state_->id; }

 private:
  std::shared_ptr<ConnState> state_;
};

// An HTTP/2-like connection: streams of its own, up to max_streams at once.
class FakeMuxConnection final : public http::ClientConnection {
 public:
  explicit FakeMuxConnection(std::shared_ptr<ConnState> state) : state_(std::move(state)) {}
  ~FakeMuxConnection() override { state_->destroyed = true; }

  // http::ClientConnection
  bool multiplexed() const override { return true; }
  bool canOpenStream() const override {
    return state_->reusable && state_->open_streams < state_->max_streams;
  }
  std::unique_ptr<http::ClientStream> newStream() override {
    struct Stream final : FakeStream {
      explicit Stream(std::shared_ptr<ConnState> s) : state(std::move(s)) { ++state->open_streams; }
      ~Stream() override { --state->open_streams; }
      std::shared_ptr<ConnState> state;
    };
    return std::make_unique<Stream>(state_);
  }
  http::ClientStream& startStream() override { std::abort(); }  // the pool opens streams
  bool reusable() const override { return state_->reusable; }
  bool staleWhileIdle() override { return false; }
  void close() override { ++state_->closes; }

 private:
  std::shared_ptr<ConnState> state_;
};

class FakeConnector final : public Connector {
 public:
  explicit FakeConnector(asio::io_context& io) : io_(io) {}

  // Connector
  awaitable<absl::StatusOr<http::ClientConnectionPtr>> connect(const Target& target) override {
    targets.push_back(target.key);
    if (slow) {  // lets other coroutines run while "connecting"
      asio::steady_timer timer(io_, std::chrono::milliseconds(20));
      co_await timer.async_wait(kUseTuple);
    }
    if (fail) co_return absl::UnavailableError("connect refused");
    auto state = std::make_shared<ConnState>();
    state->id = static_cast<int>(states.size()) + 1;
    states.push_back(state);
    if (multiplexed && target.mayMultiplex()) co_return std::make_unique<FakeMuxConnection>(state);
    co_return std::make_unique<FakeConnection>(state);
  }

  std::vector<std::shared_ptr<ConnState>> states;  // every connection made, in order
  std::vector<std::string> targets;
  bool fail = false;
  bool slow = false;
  bool multiplexed = false;  // ALPN and h2c targets get HTTP/2-like connections

 private:
  asio::io_context& io_;
};

int idOf(ConnectionPool::Lease& lease) { return static_cast<FakeConnection&>(lease.stream()).id(); }
int idOf(ConnectionPool::Lease&& lease) { return idOf(lease); }

class PoolTest : public ::testing::Test {
 protected:
  // Runs pool.acquire() to completion.
  absl::StatusOr<ConnectionPool::Lease> acquire(ConnectionPool& pool, const Target& target,
                                                bool allow_reuse = true) {
    absl::StatusOr<ConnectionPool::Lease> result = absl::UnknownError("not run");
    asio::co_spawn(io_, pool.acquire(target, allow_reuse),
                   [&](std::exception_ptr e, absl::StatusOr<ConnectionPool::Lease> r) {
                     if (e) std::rethrow_exception(e);
                     result = std::move(r);
                   });
    io_.restart();
    io_.run();
    return result;
  }

  // Starts `n` acquires at once and runs them all to completion.
  std::vector<absl::StatusOr<ConnectionPool::Lease>> acquireConcurrently(const Target& target,
                                                                         int n) {
    std::vector<absl::StatusOr<ConnectionPool::Lease>> results;
    for (int i = 0; i < n; ++i) results.emplace_back(absl::UnknownError("not run"));
    for (auto& slot : results) {
      asio::co_spawn(io_, pool_.acquire(target, true),
                     [&slot](std::exception_ptr e, absl::StatusOr<ConnectionPool::Lease> r) {
                       if (e) std::rethrow_exception(e);
                       slot = std::move(r);
                     });
    }
    io_.restart();
    io_.run();
    return results;
  }

  asio::io_context io_;
  FakeConnector connector_{io_};
  // The pool's idle rules read this clock: a test moves it instead of sleeping.
  ConnectionPool::Clock::time_point now_ = ConnectionPool::Clock::now();
  std::function<ConnectionPool::Clock::time_point()> clock_ = [this] { return now_; };
  ConnectionPool pool_{io_.get_executor(), connector_, 1h, 2, clock_};
  Target a_ = Target::plain({"127.0.0.1", 8080});
  Target b_ = Target::mtls({"127.0.0.1", 8080}, "127.0.0.1:8080", "spiffe://td/ns/x/sa/y");
};

TEST_F(PoolTest, NewConnectionWhenEmpty) {
  auto lease = acquire(pool_, a_);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_FALSE(lease->reused());
  EXPECT_EQ(idOf(*lease), 1);
  EXPECT_EQ(connector_.targets, std::vector<std::string>{a_.key});
}

TEST_F(PoolTest, ConnectErrorPropagates) {
  connector_.fail = true;
  auto lease = acquire(pool_, a_);
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PoolTest, ReusesReleasedConnection) {
  auto first = acquire(pool_, a_);
  ASSERT_TRUE(first.ok());
  pool_.release(a_, std::move(*first));
  EXPECT_EQ(pool_.idleCount(), 1u);
  auto second = acquire(pool_, a_);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->reused());
  EXPECT_EQ(idOf(*second), 1);
  EXPECT_EQ(connector_.states.size(), 1u);
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(connector_.states[0]->closes, 0);
}

TEST_F(PoolTest, MostRecentlyReleasedFirst) {
  auto c1 = acquire(pool_, a_);
  auto c2 = acquire(pool_, a_);
  pool_.release(a_, std::move(*c1));
  pool_.release(a_, std::move(*c2));
  EXPECT_EQ(idOf(*acquire(pool_, a_)), 2);
  EXPECT_EQ(idOf(*acquire(pool_, a_)), 1);
}

TEST_F(PoolTest, TargetsAreKeptApart) {
  auto conn = acquire(pool_, a_);
  pool_.release(a_, std::move(*conn));
  auto other = acquire(pool_, b_);  // same address, but mTLS: must not reuse the plain one
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->reused());
  EXPECT_EQ(idOf(*other), 2);
  EXPECT_EQ(pool_.idleCount(), 1u);
}

TEST_F(PoolTest, NonReusableIsClosedNotKept) {
  auto conn = acquire(pool_, a_);
  connector_.states[0]->reusable = false;
  pool_.release(a_, std::move(*conn));
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(connector_.states[0]->closes, 1);
  EXPECT_TRUE(connector_.states[0]->destroyed);
  auto next = acquire(pool_, a_);
  EXPECT_FALSE(next->reused());
  EXPECT_EQ(idOf(*next), 2);
}

// The pool probes staleWhileIdle() only for connections idle longer than a short grace period
// (kProbeAfter, 250ms in pool.cc), so the connections here sit idle for longer than that.
constexpr auto kPastProbeGrace = 300ms;

TEST_F(PoolTest, StaleIdleConnectionsAreSkipped) {
  auto c1 = acquire(pool_, a_);
  auto c2 = acquire(pool_, a_);
  pool_.release(a_, std::move(*c1));
  pool_.release(a_, std::move(*c2));
  connector_.states[1]->stale = true;  // the peer closed #2 while it sat idle
  now_ += kPastProbeGrace;
  auto lease = acquire(pool_, a_);
  ASSERT_TRUE(lease.ok());
  EXPECT_TRUE(lease->reused());
  EXPECT_EQ(idOf(*lease), 1);
  EXPECT_EQ(connector_.states[1]->closes, 1);
  EXPECT_TRUE(connector_.states[1]->destroyed);

  connector_.states[0]->stale = true;
  pool_.release(a_, std::move(*lease));
  now_ += kPastProbeGrace;
  auto fresh = acquire(pool_, a_);  // only a stale one left: connect anew
  EXPECT_FALSE(fresh->reused());
  EXPECT_EQ(idOf(*fresh), 3);
  EXPECT_EQ(connector_.states[0]->closes, 1);
  EXPECT_EQ(pool_.idleCount(), 0u);
}

// Released moments ago, a connection is reused without the probe (a syscall) even if its peer
// has just closed it; past the grace period it is probed and skipped.
TEST_F(PoolTest, ProbeOnlyAfterTheGracePeriod) {
  auto conn = acquire(pool_, a_);
  pool_.release(a_, std::move(*conn));
  connector_.states[0]->stale = true;
  now_ += 249ms;
  auto lease = acquire(pool_, a_);
  EXPECT_TRUE(lease->reused());  // not probed: the try would find out, and go fresh
  pool_.release(a_, std::move(*lease));
  now_ += 250ms;
  auto fresh = acquire(pool_, a_);
  EXPECT_FALSE(fresh->reused());
  EXPECT_EQ(connector_.states[0]->closes, 1);
}

TEST_F(PoolTest, HealthyIdleConnectionIsReusedAfterProbe) {
  auto conn = acquire(pool_, a_);
  pool_.release(a_, std::move(*conn));
  now_ += kPastProbeGrace;
  auto lease = acquire(pool_, a_);
  EXPECT_TRUE(lease->reused());
  EXPECT_EQ(idOf(*lease), 1);
  EXPECT_EQ(connector_.states[0]->closes, 0);
}

TEST_F(PoolTest, AllowReuseFalseForcesNewConnection) {
  auto conn = acquire(pool_, a_);
  pool_.release(a_, std::move(*conn));
  auto lease = acquire(pool_, a_, /*allow_reuse=*/false);
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(lease->reused());
  EXPECT_EQ(idOf(*lease), 2);
  EXPECT_EQ(pool_.idleCount(), 1u);  // the idle one stays for later
  EXPECT_EQ(connector_.states[0]->closes, 0);
}

TEST_F(PoolTest, IdleLimitPerTarget) {
  std::vector<ConnectionPool::Lease> conns;
  for (int i = 0; i < 3; ++i) conns.push_back(std::move(*acquire(pool_, a_)));
  for (auto& c : conns) pool_.release(a_, std::move(c));
  EXPECT_EQ(pool_.idleCount(), 2u);  // max_idle_per_target = 2
  EXPECT_EQ(connector_.states[2]->closes, 1);
}

TEST_F(PoolTest, EvictExpiredClosesOldConnections) {
  ConnectionPool pool(io_.get_executor(), connector_, 250ms, 64, clock_);
  auto old_conn = acquire(pool, a_);
  pool.release(a_, std::move(*old_conn));
  now_ += 300ms;
  auto young = acquire(pool, b_);
  pool.release(b_, std::move(*young));
  pool.evictExpired();
  EXPECT_EQ(pool.idleCount(), 1u);
  EXPECT_EQ(connector_.states[0]->closes, 1);
  EXPECT_TRUE(connector_.states[0]->destroyed);
  EXPECT_EQ(connector_.states[1]->closes, 0);
  EXPECT_TRUE(acquire(pool, b_)->reused());
}

TEST_F(PoolTest, ExpiredConnectionIsNotHandedOut) {
  ConnectionPool pool(io_.get_executor(), connector_, 0s, 64, clock_);
  auto conn = acquire(pool, a_);
  pool.release(a_, std::move(*conn));
  auto lease = acquire(pool, a_);
  EXPECT_FALSE(lease->reused());
  EXPECT_EQ(connector_.states[0]->closes, 1);
}

TEST_F(PoolTest, CloseAll) {
  auto c1 = acquire(pool_, a_);
  auto c2 = acquire(pool_, b_);
  pool_.release(a_, std::move(*c1));
  pool_.release(b_, std::move(*c2));
  pool_.closeAll();
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(connector_.states[0]->closes, 1);
  EXPECT_EQ(connector_.states[1]->closes, 1);
}

// ---- multiplexed (HTTP/2) connections

TEST_F(PoolTest, SharedConnectionCarriesConcurrentStreams) {
  connector_.multiplexed = true;
  auto first = acquire(pool_, b_);
  auto second = acquire(pool_, b_);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(first->multiplexed());
  EXPECT_FALSE(first->reused());
  EXPECT_TRUE(second->reused());
  EXPECT_EQ(connector_.states.size(), 1u);
  EXPECT_EQ(connector_.states[0]->open_streams, 2u);
  pool_.release(b_, std::move(*first));
  EXPECT_EQ(connector_.states[0]->open_streams, 1u);
  EXPECT_EQ(pool_.sharedCount(), 1u);
  EXPECT_EQ(pool_.idleCount(), 0u);
}

TEST_F(PoolTest, BurstWaitsForOneConnectInsteadOfOpeningMany) {
  connector_.multiplexed = true;
  connector_.slow = true;
  auto leases = acquireConcurrently(b_, 20);
  for (auto& lease : leases) ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(connector_.states.size(), 1u);
  EXPECT_EQ(connector_.states[0]->open_streams, 20u);
}

TEST_F(PoolTest, BurstFailsWithTheOneConnectItWaitedFor) {
  connector_.multiplexed = true;
  connector_.slow = true;
  connector_.fail = true;
  auto leases = acquireConcurrently(b_, 20);
  EXPECT_EQ(connector_.targets.size(), 1u);  // one attempt, not one per waiting request
  for (auto& lease : leases) {
    ASSERT_FALSE(lease.ok());
    EXPECT_EQ(lease.status().message(), "connect refused");
  }
  // The next request tries again.
  connector_.fail = false;
  EXPECT_TRUE(acquire(pool_, b_).ok());
  EXPECT_EQ(connector_.targets.size(), 2u);
}

TEST_F(PoolTest, Http1AnswerToAlpnTargetStopsTheWaiting) {
  connector_.slow = true;  // the peer did not pick h2: plain one-at-a-time connections
  auto leases = acquireConcurrently(b_, 3);
  for (auto& lease : leases) {
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_FALSE(lease->multiplexed());
  }
  EXPECT_EQ(connector_.states.size(), 3u);  // one each, as HTTP/1.1 needs
  auto more = acquireConcurrently(b_, 2);
  EXPECT_EQ(connector_.states.size(), 5u);
}

TEST_F(PoolTest, FullConnectionOpensAnother) {
  connector_.multiplexed = true;
  auto first = acquire(pool_, b_);
  connector_.states[0]->max_streams = 1;  // the peer's SETTINGS_MAX_CONCURRENT_STREAMS
  auto second = acquire(pool_, b_);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->reused());
  EXPECT_EQ(connector_.states.size(), 2u);
  EXPECT_EQ(pool_.sharedCount(), 2u);
}

TEST_F(PoolTest, StoppedConnectionLeavesPoolButKeepsItsStreams) {
  connector_.multiplexed = true;
  auto first = acquire(pool_, b_);
  connector_.states[0]->reusable = false;  // GOAWAY from the peer
  auto second = acquire(pool_, b_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(connector_.states.size(), 2u);
  EXPECT_EQ(pool_.sharedCount(), 1u);
  EXPECT_EQ(connector_.states[0]->closes, 0);  // the first stream still runs on it
  EXPECT_FALSE(connector_.states[0]->destroyed);
  first = absl::UnknownError("released");
  EXPECT_TRUE(connector_.states[0]->destroyed);  // gone with its last stream
}

TEST_F(PoolTest, AbandonResetsOnlyTheStream) {
  connector_.multiplexed = true;
  auto first = acquire(pool_, b_);
  auto second = acquire(pool_, b_);
  first->abandon();
  EXPECT_EQ(static_cast<FakeStream&>(first->stream()).aborts, 1);
  EXPECT_EQ(static_cast<FakeStream&>(second->stream()).aborts, 0);
  EXPECT_EQ(connector_.states[0]->closes, 0);
}

TEST_F(PoolTest, CloseIdleSparesConnectionsWithStreams) {
  connector_.multiplexed = true;
  Target h2c = Target::plain({"127.0.0.1", 8081}, Target::Protocol::kH2c);
  auto busy = acquire(pool_, b_);
  auto unused = acquire(pool_, h2c);
  pool_.release(h2c, std::move(*unused));
  pool_.closeIdle();
  EXPECT_EQ(pool_.sharedCount(), 0u);
  EXPECT_EQ(connector_.states[0]->closes, 0);  // b_'s stream finishes first
  EXPECT_EQ(connector_.states[1]->closes, 1);
}

TEST_F(PoolTest, EvictExpiredClosesSharedConnectionIdleTooLong) {
  connector_.multiplexed = true;
  ConnectionPool pool(io_.get_executor(), connector_, 100ms, 64, clock_);
  auto lease = acquire(pool, b_);
  pool.evictExpired();  // in use: kept
  pool.release(b_, std::move(*lease));
  pool.evictExpired();  // first seen idle now
  EXPECT_EQ(pool.sharedCount(), 1u);
  now_ += 150ms;
  pool.evictExpired();
  EXPECT_EQ(pool.sharedCount(), 0u);
  EXPECT_EQ(connector_.states[0]->closes, 1);
}

// Reloads that keep changing endpoints must not grow the pool: a target whose connections have
// all gone (expired, failed) is forgotten by the sweep.
TEST_F(PoolTest, EvictExpiredForgetsTargetsWithoutConnections) {
  connector_.multiplexed = true;
  ConnectionPool pool(io_.get_executor(), connector_, 0ms, 64, clock_);
  for (uint16_t port = 9000; port < 9050; ++port) {  // shared (HTTP/2-like) connections
    Target t = Target::mtls({"127.0.0.1", port}, weft::strCat("127.0.0.1:", port),
                            "spiffe://td/ns/x/sa/y");
    auto lease = acquire(pool, t);
    ASSERT_TRUE(lease.ok()) << lease.status();
    pool.release(t, std::move(*lease));
  }
  for (uint16_t port = 9100; port < 9150; ++port) {  // HTTP/1.1 connections, idle
    Target t = Target::plain({"127.0.0.1", port});
    auto lease = acquire(pool, t);
    ASSERT_TRUE(lease.ok()) << lease.status();
    pool.release(t, std::move(*lease));
  }
  connector_.fail = true;
  Target refused = Target::mtls({"127.0.0.1", 9200}, "127.0.0.1:9200", "spiffe://td/ns/x/sa/y");
  EXPECT_FALSE(acquire(pool, refused).ok());
  EXPECT_EQ(pool.targetCountForTest(), 101u);
  pool.evictExpired();  // shared connections: first seen idle
  pool.evictExpired();  // ... and expired
  EXPECT_EQ(pool.idleCount() + pool.sharedCount(), 0u);
  EXPECT_EQ(pool.targetCountForTest(), 0u);
}

}  // namespace
}  // namespace weft::upstream
