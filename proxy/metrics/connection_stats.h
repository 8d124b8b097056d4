#pragma once

#include <cstddef>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

namespace weft::metrics {

// The tcp_* metric children for one kind of connection (direction × peer × tls).
struct TcpCounters {
  prometheus::Counter* open = nullptr;
  prometheus::Counter* close = nullptr;
  prometheus::Gauge* open_connections = nullptr;
  prometheus::Counter* read_bytes = nullptr;
  prometheus::Counter* write_bytes = nullptr;
};

// Accounts one connection's life in the tcp_* metrics: opened on construction, closed on
// destruction, bytes as they pass.
class ConnectionStats {
 public:
  explicit ConnectionStats(TcpCounters& counters) : c_(counters) {
    c_.open->Increment();
    c_.open_connections->Increment();
  }
  ~ConnectionStats() {
    c_.close->Increment();
    c_.open_connections->Decrement();
  }
  ConnectionStats(const ConnectionStats&) = delete;
  ConnectionStats& operator=(const ConnectionStats&) = delete;

  void read(size_t n) {
    if (n) c_.read_bytes->Increment(static_cast<double>(n));
  }
  void wrote(size_t n) {
    if (n) c_.write_bytes->Increment(static_cast<double>(n));
  }

 private:
  TcpCounters& c_;
};

}  // namespace weft::metrics
