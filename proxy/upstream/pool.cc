#include "proxy/upstream/pool.h"

#include <optional>

namespace weft::upstream {
namespace {

constexpr auto kProbeAfter = std::chrono::milliseconds(250);

}  // namespace

ConnectionPool::Lease::~Lease() {
  own_stream_.reset();  // before the connection it belongs to
}

void ConnectionPool::Lease::abandon() {
  if (stream_ != nullptr) stream_->abort();
}

ConnectionPool::ConnectionPool(Executor executor, Connector& connector,
                               Clock::duration idle_timeout, size_t max_idle_per_target,
                               std::function<Clock::time_point()> now)
    : executor_(std::move(executor)),
      connector_(connector),
      idle_timeout_(idle_timeout),
      max_idle_per_target_(max_idle_per_target),
      now_(std::move(now)) {}

ConnectionPool::~ConnectionPool() { closeAll(); }

ConnectionPool::Lease ConnectionPool::sharedLease(
    const std::shared_ptr<http::ClientConnection>& connection, bool reused) {
  Lease lease;
  lease.shared_ = connection;
  lease.own_stream_ = connection->newStream();
  lease.stream_ = lease.own_stream_.get();
  lease.reused_ = reused;
  return lease;
}

ConnectionPool::Lease ConnectionPool::takeIdle(const Target& target) {
  auto it = idle_.find(target.key);
  if (it == idle_.end()) return {};
  auto now = now_();
  auto& list = it->second;
  while (!list.empty()) {
    Idle idle = std::move(list.back());  // most recently used first: warmest, least stale
    list.pop_back();
    // A peer closes a keep-alive connection only after it sat idle a while: skip the
    // staleness probe (a syscall) for connections released moments ago.
    auto idle_for = now - idle.since;
    if (idle_for < idle_timeout_ &&
        (idle_for < kProbeAfter || !idle.connection->staleWhileIdle())) {
      Lease lease;
      lease.exclusive_ = std::move(idle.connection);
      lease.stream_ = &lease.exclusive_->startStream();
      lease.reused_ = true;
      return lease;
    }
    idle.connection->close();
  }
  return {};
}

ConnectionPool::Lease ConnectionPool::openStream(std::vector<Shared>& list) {
  // Connections the peer has stopped (GOAWAY) or lost leave the pool; the streams they still
  // carry keep them open until they finish.
  std::erase_if(list, [](const Shared& s) { return !s.connection->reusable(); });
  for (Shared& s : list) {
    if (s.connection->canOpenStream()) {
      s.idle = false;
      return sharedLease(s.connection, true);
    }
  }
  return {};
}

awaitable<absl::StatusOr<ConnectionPool::Lease>> ConnectionPool::acquire(const Target& target,
                                                                         bool allow_reuse) {
  const bool may_share = target.mayMultiplex() && !http1_only_.contains(target.key);
  if (allow_reuse) {
    if (Lease lease = takeIdle(target)) co_return lease;
    if (may_share) {
      std::optional<uint64_t> failures_before;  // set once this request has waited
      for (;;) {
        if (Lease lease = openStream(shared_[target.key])) co_return lease;
        Opening& opening = opening_[target.key];
        // The connect it waited for failed: so does the request (the pipeline retries elsewhere
        // when its policy allows), rather than every waiter trying the same peer again, each for
        // up to the connect timeout.
        if (failures_before && opening.failures != *failures_before) co_return opening.failure;
        if (opening.count == 0) break;
        // Someone is connecting to this target: share that connection rather than open another.
        failures_before = opening.failures;
        ++opening.waiting;
        co_await opening.done->async_wait(kUseTuple);
        --opening_[target.key].waiting;  // still there: evictExpired keeps entries with waiters
        if (http1_only_.contains(target.key)) break;
      }
    }
  }

  Opening* opening = nullptr;
  if (may_share) {
    opening = &opening_[target.key];
    if (!opening->done) {
      opening->done = std::make_unique<asio::steady_timer>(executor_);
      opening->done->expires_at(asio::steady_timer::time_point::max());
    }
    ++opening->count;
  }
  auto fresh = co_await connector_.connect(target);
  if (opening != nullptr) {
    --opening->count;
    if (!fresh.ok()) {
      ++opening->failures;
      opening->failure = fresh.status();
    }
    opening->done->cancel();  // waiters look again: at the new connection, or fail with it
  }
  if (!fresh.ok()) co_return fresh.status();
  http::ClientConnectionPtr connection = std::move(*fresh);
  if (connection->multiplexed()) {
    std::shared_ptr<http::ClientConnection> shared(std::move(connection));
    shared_[target.key].push_back(Shared{shared, {}, false});
    co_return sharedLease(shared, false);
  }
  if (target.mayMultiplex()) http1_only_.insert(target.key);
  Lease lease;
  lease.exclusive_ = std::move(connection);
  lease.stream_ = &lease.exclusive_->startStream();
  co_return lease;
}

void ConnectionPool::release(const Target& target, Lease lease) {
  if (!lease.exclusive_) return;  // a shared connection's stream: ending it is enough
  http::ClientConnectionPtr connection = std::move(lease.exclusive_);
  if (!connection->reusable()) {
    connection->close();
    return;
  }
  auto& list = idle_[target.key];
  if (list.size() >= max_idle_per_target_) {
    connection->close();
    return;
  }
  list.push_back(Idle{std::move(connection), now_()});
}

void ConnectionPool::releaseUnused(const Target& target, Lease lease) {
  if (!lease.exclusive_) return;  // a stream that sent nothing: dropping it is enough
  auto& list = idle_[target.key];
  if (list.size() >= max_idle_per_target_) {
    lease.exclusive_->close();
    return;
  }
  list.push_back(Idle{std::move(lease.exclusive_), now_()});
}

void ConnectionPool::evictExpired() {
  auto now = now_();
  for (auto it = idle_.begin(); it != idle_.end();) {
    std::erase_if(it->second, [&](Idle& idle) {
      bool expired = now - idle.since >= idle_timeout_;
      if (expired) idle.connection->close();
      return expired;
    });
    it = it->second.empty() ? idle_.erase(it) : std::next(it);
  }
  for (auto it = shared_.begin(); it != shared_.end();) {
    std::erase_if(it->second, [&](Shared& s) {
      if (!s.connection->reusable()) return true;
      // The pool's reference is the only one: no lease holds a stream on it.
      if (s.connection.use_count() > 1) {
        s.idle = false;
        return false;
      }
      if (!s.idle) {
        s.idle = true;
        s.idle_since = now;
        return false;
      }
      bool expired = now - s.idle_since >= idle_timeout_;
      if (expired) s.connection->close();
      return expired;
    });
    it = it->second.empty() ? shared_.erase(it) : std::next(it);
  }
  // Keys of targets the pool no longer has connections to (a reload dropped the endpoint, or it
  // went quiet) leave with their last connection: nothing in the pool grows with the configs
  // it has seen.
  std::erase_if(opening_, [](const auto& entry) {
    return entry.second.count == 0 && entry.second.waiting == 0;
  });
  std::erase_if(http1_only_, [&](const std::string& key) {
    return !idle_.contains(key) && !shared_.contains(key) && !opening_.contains(key);
  });
}

void ConnectionPool::closeIdle() {
  for (auto& [key, list] : idle_) {
    for (auto& idle : list) idle.connection->close();
  }
  idle_.clear();
  for (auto& [key, list] : shared_) {
    for (auto& s : list) {
      if (s.connection.use_count() == 1) s.connection->close();
    }
  }
  shared_.clear();
}

void ConnectionPool::closeAll() {
  for (auto& [key, list] : idle_) {
    for (auto& idle : list) idle.connection->close();
  }
  idle_.clear();
  for (auto& [key, list] : shared_) {
    for (auto& s : list) s.connection->close();
  }
  shared_.clear();
  opening_.clear();  // their timers must go before the worker's io_context
}

size_t ConnectionPool::idleCount() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

size_t ConnectionPool::targetCountForTest() const {
  std::unordered_set<std::string> keys(http1_only_);
  for (const auto& [key, list] : idle_) keys.insert(key);
  for (const auto& [key, list] : shared_) keys.insert(key);
  for (const auto& [key, opening] : opening_) keys.insert(key);
  return keys.size();
}

size_t ConnectionPool::sharedCount() const {
  size_t n = 0;
  for (const auto& [key, list] : shared_) n += list.size();
  return n;
}

}  // namespace weft::upstream
