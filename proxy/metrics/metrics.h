#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "proxy/metrics/connection_stats.h"

namespace weft::metrics {

enum class TcpRole { kOutboundSrc, kOutboundDst, kInboundSrc, kInboundDst };

// The proxy's metrics, with Linkerd's golden-metric names so existing dashboards carry over.
// Process-wide and thread-safe; workers reach request metrics through a WorkerMetrics cache.
class Metrics {
 public:
  Metrics();

  TcpCounters& tcp(TcpRole role) { return tcp_[static_cast<int>(role)]; }
  void setCertificateExpiry(std::chrono::system_clock::time_point not_after);
  void setConfigVersion(uint64_t version);

  // Prometheus text exposition format.
  std::string serialize() const;

  prometheus::Family<prometheus::Counter>& requests() { return *requests_; }
  prometheus::Family<prometheus::Counter>& responses() { return *responses_; }
  prometheus::Family<prometheus::Histogram>& latency() { return *latency_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* responses_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Gauge* cert_expiry_;
  prometheus::Gauge* config_version_;
  TcpCounters tcp_[4];
};

// Labels that identify a request's target in the golden metrics.
struct RequestLabels {
  bool inbound = false;
  std::string authority;
  std::string dst_service;
  bool tls = false;  // the request crossed mTLS (inbound from a peer, or outbound to one)
};

// Per-worker cache of metric children, so the request path does a local hash lookup instead of
// the registry's locked one. Owned by one worker thread.
class WorkerMetrics {
 public:
  explicit WorkerMetrics(Metrics& metrics) : metrics_(metrics) {}

  void recordRequest(const RequestLabels& labels);
  void recordResponse(const RequestLabels& labels, unsigned status, bool failure,
                      std::chrono::steady_clock::duration latency);

 private:
  struct Response {
    prometheus::Counter* total;
    prometheus::Histogram* latency;
  };
  struct Target {
    prometheus::Labels labels;  // as exported (authority may read "overflow")
    prometheus::Counter* requests;
    std::unordered_map<unsigned, Response> responses;  // key: status * 2 + failure
  };
  Target& target(const RequestLabels& labels);

  // Bounds label cardinality: authorities are chosen by clients.
  static constexpr size_t kMaxTargets = 256;

  Metrics& metrics_;
  std::unordered_map<std::string, Target> targets_;
};

}  // namespace weft::metrics
