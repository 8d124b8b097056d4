#include "proxy/upstream/pool.h"

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
};

class FakeConnection final : public http::ClientConnection {
 public:
  explicit FakeConnection(std::shared_ptr<ConnState> state) : state_(std::move(state)) {}
  ~FakeConnection() override { state_->destroyed = true; }

  // http::ClientConnection
  http::ClientStream& startStream() override { std::abort(); }  // the pool never starts one
  bool reusable() const override { return state_->reusable; }
  bool staleWhileIdle() override { return state_->stale; }
  void close() override { ++state_->closes; }

  int id() const { return state_->id; }

 private:
  std::shared_ptr<ConnState> state_;
};

class FakeConnector final : public Connector {
 public:
  // Connector
  awaitable<absl::StatusOr<http::ClientConnectionPtr>> connect(const Target& target) override {
    targets.push_back(target.key);
    if (fail) co_return absl::UnavailableError("connect refused");
    auto state = std::make_shared<ConnState>();
    state->id = static_cast<int>(states.size()) + 1;
    states.push_back(state);
    co_return std::make_unique<FakeConnection>(state);
  }

  std::vector<std::shared_ptr<ConnState>> states;  // every connection made, in order
  std::vector<std::string> targets;
  bool fail = false;
};

int idOf(const http::ClientConnectionPtr& c) { return static_cast<FakeConnection&>(*c).id(); }

class PoolTest : public ::testing::Test {
 protected:
  // Runs pool.acquire() to completion on an io_context.
  absl::StatusOr<ConnectionPool::Lease> acquire(ConnectionPool& pool, const Target& target,
                                                bool allow_reuse = true) {
    asio::io_context io;
    absl::StatusOr<ConnectionPool::Lease> result = absl::UnknownError("not run");
    asio::co_spawn(io, pool.acquire(target, allow_reuse),
                   [&](std::exception_ptr e, absl::StatusOr<ConnectionPool::Lease> r) {
                     if (e) std::rethrow_exception(e);
                     result = std::move(r);
                   });
    io.run();
    return result;
  }

  FakeConnector connector_;
  ConnectionPool pool_{connector_, 1h, 2};
  Target a_ = Target::plain({"127.0.0.1", 8080});
  Target b_ = Target::mtls({"127.0.0.1", 8080}, "127.0.0.1:8080", "spiffe://td/ns/x/sa/y");
};

TEST_F(PoolTest, NewConnectionWhenEmpty) {
  auto lease = acquire(pool_, a_);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_FALSE(lease->reused);
  EXPECT_EQ(idOf(lease->connection), 1);
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
  pool_.release(a_, std::move(first->connection));
  EXPECT_EQ(pool_.idleCount(), 1u);
  auto second = acquire(pool_, a_);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->reused);
  EXPECT_EQ(idOf(second->connection), 1);
  EXPECT_EQ(connector_.states.size(), 1u);
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(connector_.states[0]->closes, 0);
}

TEST_F(PoolTest, MostRecentlyReleasedFirst) {
  auto c1 = acquire(pool_, a_);
  auto c2 = acquire(pool_, a_);
  pool_.release(a_, std::move(c1->connection));
  pool_.release(a_, std::move(c2->connection));
  EXPECT_EQ(idOf(acquire(pool_, a_)->connection), 2);
  EXPECT_EQ(idOf(acquire(pool_, a_)->connection), 1);
}

TEST_F(PoolTest, TargetsAreKeptApart) {
  auto conn = acquire(pool_, a_);
  pool_.release(a_, std::move(conn->connection));
  auto other = acquire(pool_, b_);  // same address, but mTLS: must not reuse the plain one
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->reused);
  EXPECT_EQ(idOf(other->connection), 2);
  EXPECT_EQ(pool_.idleCount(), 1u);
}

TEST_F(PoolTest, NonReusableIsClosedNotKept) {
  auto conn = acquire(pool_, a_);
  connector_.states[0]->reusable = false;
  pool_.release(a_, std::move(conn->connection));
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(connector_.states[0]->closes, 1);
  EXPECT_TRUE(connector_.states[0]->destroyed);
  auto next = acquire(pool_, a_);
  EXPECT_FALSE(next->reused);
  EXPECT_EQ(idOf(next->connection), 2);
}

// The pool probes staleWhileIdle() only for connections idle longer than a short grace period
// (kProbeAfter, 250ms in pool.cc), so the connections here sit idle for longer than that.
constexpr auto kPastProbeGrace = 300ms;

TEST_F(PoolTest, StaleIdleConnectionsAreSkipped) {
  auto c1 = acquire(pool_, a_);
  auto c2 = acquire(pool_, a_);
  pool_.release(a_, std::move(c1->connection));
  pool_.release(a_, std::move(c2->connection));
  connector_.states[1]->stale = true;  // the peer closed #2 while it sat idle
  std::this_thread::sleep_for(kPastProbeGrace);
  auto lease = acquire(pool_, a_);
  ASSERT_TRUE(lease.ok());
  EXPECT_TRUE(lease->reused);
  EXPECT_EQ(idOf(lease->connection), 1);
  EXPECT_EQ(connector_.states[1]->closes, 1);
  EXPECT_TRUE(connector_.states[1]->destroyed);

  connector_.states[0]->stale = true;
  pool_.release(a_, std::move(lease->connection));
  std::this_thread::sleep_for(kPastProbeGrace);
  auto fresh = acquire(pool_, a_);  // only a stale one left: connect anew
  EXPECT_FALSE(fresh->reused);
  EXPECT_EQ(idOf(fresh->connection), 3);
  EXPECT_EQ(connector_.states[0]->closes, 1);
  EXPECT_EQ(pool_.idleCount(), 0u);
}

TEST_F(PoolTest, HealthyIdleConnectionIsReusedAfterProbe) {
  auto conn = acquire(pool_, a_);
  pool_.release(a_, std::move(conn->connection));
  std::this_thread::sleep_for(kPastProbeGrace);
  auto lease = acquire(pool_, a_);
  EXPECT_TRUE(lease->reused);
  EXPECT_EQ(idOf(lease->connection), 1);
  EXPECT_EQ(connector_.states[0]->closes, 0);
}

TEST_F(PoolTest, AllowReuseFalseForcesNewConnection) {
  auto conn = acquire(pool_, a_);
  pool_.release(a_, std::move(conn->connection));
  auto lease = acquire(pool_, a_, /*allow_reuse=*/false);
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(lease->reused);
  EXPECT_EQ(idOf(lease->connection), 2);
  EXPECT_EQ(pool_.idleCount(), 1u);  // the idle one stays for later
  EXPECT_EQ(connector_.states[0]->closes, 0);
}

TEST_F(PoolTest, IdleLimitPerTarget) {
  std::vector<http::ClientConnectionPtr> conns;
  for (int i = 0; i < 3; ++i) conns.push_back(std::move(acquire(pool_, a_)->connection));
  for (auto& c : conns) pool_.release(a_, std::move(c));
  EXPECT_EQ(pool_.idleCount(), 2u);  // max_idle_per_target = 2
  EXPECT_EQ(connector_.states[2]->closes, 1);
}

TEST_F(PoolTest, EvictExpiredClosesOldConnections) {
  ConnectionPool pool(connector_, 250ms);
  auto old_conn = acquire(pool, a_);
  pool.release(a_, std::move(old_conn->connection));
  std::this_thread::sleep_for(300ms);
  auto young = acquire(pool, b_);
  pool.release(b_, std::move(young->connection));
  pool.evictExpired();
  EXPECT_EQ(pool.idleCount(), 1u);
  EXPECT_EQ(connector_.states[0]->closes, 1);
  EXPECT_TRUE(connector_.states[0]->destroyed);
  EXPECT_EQ(connector_.states[1]->closes, 0);
  EXPECT_TRUE(acquire(pool, b_)->reused);
}

TEST_F(PoolTest, ExpiredConnectionIsNotHandedOut) {
  ConnectionPool pool(connector_, 0s);
  auto conn = acquire(pool, a_);
  pool.release(a_, std::move(conn->connection));
  auto lease = acquire(pool, a_);
  EXPECT_FALSE(lease->reused);
  EXPECT_EQ(connector_.states[0]->closes, 1);
}

TEST_F(PoolTest, CloseAll) {
  auto c1 = acquire(pool_, a_);
  auto c2 = acquire(pool_, b_);
  pool_.release(a_, std::move(c1->connection));
  pool_.release(b_, std::move(c2->connection));
  pool_.closeAll();
  EXPECT_EQ(pool_.idleCount(), 0u);
  EXPECT_EQ(connector_.states[0]->closes, 1);
  EXPECT_EQ(connector_.states[1]->closes, 1);
}

}  // namespace
}  // namespace weft::upstream
