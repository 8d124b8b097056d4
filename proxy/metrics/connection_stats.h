#pragma once

#include <cstddef>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "net/connection_stats.h"

namespace weft::metrics {

// The tcp_* metric children for one kind of connection (direction × peer × tls), as the codecs
// account connections (net::ConnectionCounters).
class TcpCounters final : public net::ConnectionCounters {
 public:
  TcpCounters() = default;
  TcpCounters(prometheus::Counter* open, prometheus::Counter* close,
              prometheus::Gauge* open_connections, prometheus::Counter* read_bytes,
              prometheus::Counter* write_bytes)
      : open_(open),
        close_(close),
        open_connections_(open_connections),
        read_bytes_(read_bytes),
        write_bytes_(write_bytes) {}

  void opened() override {
    open_->Increment();
    open_connections_->Increment();
  }
  void closed() override {
    close_->Increment();
    open_connections_->Decrement();
  }
  void read(size_t n) override { read_bytes_->Increment(static_cast<double>(n)); }
  void wrote(size_t n) override { write_bytes_->Increment(static_cast<double>(n)); }

 private:
  prometheus::Counter* open_ = nullptr;
  prometheus::Counter* close_ = nullptr;
  prometheus::Gauge* open_connections_ = nullptr;
  prometheus::Counter* read_bytes_ = nullptr;
  prometheus::Counter* write_bytes_ = nullptr;
};

}  // namespace weft::metrics
