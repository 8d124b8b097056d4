#include "proxy/upstream/pool.h"

namespace weft::upstream {
namespace {

constexpr auto kProbeAfter = std::chrono::milliseconds(250);

}  // namespace

ConnectionPool::ConnectionPool(Connector& connector,
                               std::chrono::steady_clock::duration idle_timeout,
                               size_t max_idle_per_target)
    : connector_(connector),
      idle_timeout_(idle_timeout),
      max_idle_per_target_(max_idle_per_target) {}

awaitable<absl::StatusOr<ConnectionPool::Lease>> ConnectionPool::acquire(const Target& target,
                                                                         bool allow_reuse) {
  if (allow_reuse) {
    auto it = idle_.find(target.key);
    if (it != idle_.end()) {
      auto now = std::chrono::steady_clock::now();
      auto& list = it->second;
      while (!list.empty()) {
        Idle idle = std::move(list.back());  // most recently used first: warmest, least stale
        list.pop_back();
        // A peer closes a keep-alive connection only after it sat idle a while: skip the
        // staleness probe (a syscall) for connections released moments ago.
        auto idle_for = now - idle.since;
        if (idle_for < idle_timeout_ &&
            (idle_for < kProbeAfter || !idle.connection->staleWhileIdle())) {
          co_return Lease{std::move(idle.connection), true};
        }
        idle.connection->close();
      }
    }
  }
  auto fresh = co_await connector_.connect(target);
  if (!fresh.ok()) co_return fresh.status();
  co_return Lease{std::move(*fresh), false};
}

void ConnectionPool::release(const Target& target, http::ClientConnectionPtr connection) {
  if (!connection->reusable()) {
    connection->close();
    return;
  }
  auto& list = idle_[target.key];
  if (list.size() >= max_idle_per_target_) {
    connection->close();
    return;
  }
  list.push_back(Idle{std::move(connection), std::chrono::steady_clock::now()});
}

void ConnectionPool::evictExpired() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    std::erase_if(it->second, [&](Idle& idle) {
      bool expired = now - idle.since >= idle_timeout_;
      if (expired) idle.connection->close();
      return expired;
    });
    it = it->second.empty() ? idle_.erase(it) : std::next(it);
  }
}

void ConnectionPool::closeAll() {
  for (auto& [key, list] : idle_) {
    for (auto& idle : list) idle.connection->close();
  }
  idle_.clear();
}

size_t ConnectionPool::idleCount() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

}  // namespace weft::upstream
