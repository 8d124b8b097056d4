#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::net {

// Where the codecs account a connection's life: opened, closed, bytes read and written. The
// proxy's implementation feeds its tcp_* metrics (net::ConnectionCounters); anything else (the
// control plane, tools, tests) brings its own or counts with ConnectionTally. One instance
// stands for a kind of connection and is shared by every connection of that kind on a worker.
class ConnectionCounters {
 public:
  virtual ~ConnectionCounters() = default;
  virtual void opened() = 0;
  virtual void closed() = 0;
  virtual void read(size_t n) = 0;
  virtual void wrote(size_t n) = 0;
};

// Plain counts, for one thread.
class ConnectionTally final : public ConnectionCounters {
 public:
  void opened() override { ++open; }
  void closed() override { ++close; }
  void read(size_t n) override { read_bytes += n; }
  void wrote(size_t n) override { write_bytes += n; }

  uint64_t open = 0;
  uint64_t close = 0;
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
};

// Accounts one connection: opened on construction, closed on destruction, bytes as they pass.
class ConnectionStats {
 public:
  explicit ConnectionStats(ConnectionCounters& counters) : c_(counters) { c_.opened(); }
  ~ConnectionStats() { c_.closed(); }
  ConnectionStats(const ConnectionStats&) = delete;
  ConnectionStats& operator=(const ConnectionStats&) = delete;

  void read(size_t n) {
    if (n) c_.read(n);
  }
  void wrote(size_t n) {
    if (n) c_.wrote(n);
  }

 private:
  ConnectionCounters& c_;
};

}  // namespace weft::net
