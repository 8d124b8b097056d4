#pragma once

// The push side of weft-control's metrics, on --admin /metrics.

#include <chrono>
#include <cstddef>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace weft::control::push {

class PushMetrics {
 public:
  explicit PushMetrics(prometheus::Registry& registry);

  void connected(int delta) { connected_.Increment(delta); }
  void pushed(size_t bytes);
  void acked(std::chrono::steady_clock::duration push_to_ack);
  void nacked() { nacks_.Increment(); }
  void cutOff() { cut_off_.Increment(); }
  // control_proxies{status}: connected proxies by status (SYNCED, STALE, NACKED, CONNECTING),
  // set at each scrape from the sessions.
  void setStatusCounts(size_t synced, size_t stale, size_t nacked, size_t connecting);

 private:
  prometheus::Gauge& connected_;
  prometheus::Counter& pushes_;
  prometheus::Counter& push_bytes_;
  prometheus::Histogram& push_size_;
  prometheus::Counter& acks_;
  prometheus::Counter& nacks_;
  prometheus::Histogram& ack_latency_;
  prometheus::Counter& cut_off_;
  prometheus::Family<prometheus::Gauge>& by_status_;
};

}  // namespace weft::control::push
