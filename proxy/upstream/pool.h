#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "net/asio.h"
#include "net/http/codec.h"
#include "proxy/upstream/connector.h"

namespace weft::upstream {

// A worker's upstream connections, keyed by target. HTTP/1.1 connections carry one exchange at
// a time: a lease takes one out of the idle set (or opens one) and release puts it back. HTTP/2
// connections are shared: a lease is one stream on the target's connection, which stays in the
// pool while leases hold it; a second connection opens only when the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS is reached or the first was refused (GOAWAY). While a
// connection to a target that may speak HTTP/2 is being opened, other requests to that target
// wait for it rather than opening their own, so a burst makes one connection, not one per
// request. Not thread-safe: each worker owns one, so connections never cross threads.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease();

    explicit operator bool() const { return stream_ != nullptr; }
    http::ClientStream& stream() { return *stream_; }
    // Came from the pool rather than a new connection (the peer may have closed it meanwhile).
    bool reused() const { return reused_; }
    bool multiplexed() const { return shared_ != nullptr; }
    // Ends the exchange early: HTTP/1.1 closes the connection, HTTP/2 resets just this stream.
    void abandon();

   private:
    friend class ConnectionPool;
    // First, so a move-assignment replaces the stream before the connection it belongs to (and
    // the destructor resets it first).
    std::unique_ptr<http::ClientStream> own_stream_;  // HTTP/2: this lease's stream
    http::ClientConnectionPtr exclusive_;             // HTTP/1.1
    std::shared_ptr<http::ClientConnection> shared_;  // HTTP/2
    http::ClientStream* stream_ = nullptr;
    bool reused_ = false;
  };

  using Clock = std::chrono::steady_clock;
  // `now` is the clock the idle rules read (tests pass a manual one).
  ConnectionPool(Executor executor, Connector& connector, Clock::duration idle_timeout,
                 size_t max_idle_per_target = 64,
                 std::function<Clock::time_point()> now = &Clock::now);
  ~ConnectionPool();

  // A stream on a pooled connection to `target` if a usable one exists, else on a new one.
  // `allow_reuse` false: a new connection (after a reused one turned out to be stale).
  awaitable<absl::StatusOr<Lease>> acquire(const Target& target, bool allow_reuse = true);
  // Ends a lease after its exchange; an HTTP/1.1 connection is kept only if it can carry another.
  void release(const Target& target, Lease lease);
  // Ends a lease that carried nothing (its client went away while it was acquired): a new
  // HTTP/1.1 connection goes to the idle set for the next request instead of being closed.
  void releaseUnused(const Target& target, Lease lease);
  // Closes connections unused for longer than the idle timeout, and forgets targets it has no
  // connection to (keys of endpoints a reload dropped do not stay).
  void evictExpired();
  // Targets the pool holds any entry for (tests: that keys are forgotten).
  size_t targetCountForTest() const;
  // Closes every connection not in use now; shared ones still carrying streams leave the pool and
  // close when their last stream ends (a drain: in-flight exchanges finish).
  void closeIdle();
  // Closes every connection, in use or not: the worker is stopping. Call it before the
  // io_context goes (the pool holds timers of it).
  void closeAll();

  size_t idleCount() const;
  size_t sharedCount() const;

 private:
  struct Idle {
    http::ClientConnectionPtr connection;
    std::chrono::steady_clock::time_point since;
  };
  struct Shared {
    std::shared_ptr<http::ClientConnection> connection;
    std::chrono::steady_clock::time_point idle_since;  // last seen without streams
    bool idle = false;
  };
  // Opens of connections that may be shared, in progress per target, and their waiters.
  struct Opening {
    int count = 0;
    int waiting = 0;                           // requests waiting on `done`
    std::unique_ptr<asio::steady_timer> done;  // never expires; cancel() wakes every waiter
    uint64_t failures = 0;                     // connects to this target that failed
    absl::Status failure;  // the last one's error, for the requests that waited on it
  };

  Lease takeIdle(const Target& target);
  Lease openStream(std::vector<Shared>& list);
  static Lease sharedLease(const std::shared_ptr<http::ClientConnection>& connection, bool reused);

  Executor executor_;
  Connector& connector_;
  std::chrono::steady_clock::duration idle_timeout_;
  size_t max_idle_per_target_;
  std::function<Clock::time_point()> now_;
  std::unordered_map<std::string, std::vector<Idle>> idle_;
  std::unordered_map<std::string, std::vector<Shared>> shared_;
  std::unordered_map<std::string, Opening> opening_;
  std::unordered_set<std::string> http1_only_;  // ALPN targets that answered without h2
};

}  // namespace weft::upstream
