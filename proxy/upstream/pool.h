#pragma once

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/common/asio.h"
#include "proxy/http/codec.h"
#include "proxy/upstream/connector.h"

namespace weft::upstream {

// A worker's pool of idle upstream connections, keyed by target. Not thread-safe: each worker
// owns one, so connections never cross threads.
class ConnectionPool {
 public:
  struct Lease {
    http::ClientConnectionPtr connection;
    bool reused = false;  // came from the idle set (the peer may have closed it meanwhile)
  };

  ConnectionPool(Connector& connector, std::chrono::steady_clock::duration idle_timeout,
                 size_t max_idle_per_target = 64);

  // An idle connection to `target` if a usable one exists, else a new one.
  awaitable<absl::StatusOr<Lease>> acquire(const Target& target, bool allow_reuse = true);
  // Returns a connection after an exchange; kept only if it can carry another.
  void release(const Target& target, http::ClientConnectionPtr connection);
  // Closes idle connections unused for longer than the idle timeout.
  void evictExpired();
  void closeAll();

  size_t idleCount() const;

 private:
  struct Idle {
    http::ClientConnectionPtr connection;
    std::chrono::steady_clock::time_point since;
  };

  Connector& connector_;
  std::chrono::steady_clock::duration idle_timeout_;
  size_t max_idle_per_target_;
  std::unordered_map<std::string, std::vector<Idle>> idle_;
};

}  // namespace weft::upstream
