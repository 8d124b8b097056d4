#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "proxy/metrics/connection_stats.h"
#include "proxy/metrics/resilience_metrics.h"
#include "proxy/metrics/shared_children.h"

namespace weft::metrics {

// A kind of connection, as the tcp_* series label it (direction, peer, tls).
enum class TcpRole {
  kOutboundSrc,       // from the local app
  kOutboundDst,       // to a peer sidecar, mTLS
  kInboundSrc,        // from a peer sidecar, mTLS
  kInboundDst,        // to the local app
  kOutboundDstPlain,  // intercepted, to a destination outside the mesh, as the app sent it
  kInboundSrcPlain,   // intercepted, from a caller outside the mesh (a permissive port)
  kCount,
};

// What protocol detection made of an intercepted outbound connection.
enum class Detected { kHttp1, kHttp2, kTls, kOpaque, kTimeout, kCount };

// The proxy's metrics, with Linkerd's golden-metric names so existing dashboards carry over.
// Process-wide and thread-safe; workers reach request metrics through a WorkerMetrics cache.
class Metrics {
 public:
  Metrics();

  TcpCounters& tcp(TcpRole role) { return tcp_[static_cast<int>(role)]; }
  // identity_cert_expiration_timestamp_seconds and identity_cert_not_before_timestamp_seconds:
  // with both, an alert can fire at a share of the certificate's lifetime.
  void setCertificate(std::chrono::system_clock::time_point not_before,
                      std::chrono::system_clock::time_point not_after);
  void setConfigVersion(uint64_t version);
  // identity_cert_refresh_total{result="success"|"failure"}: each certificate request to the
  // control plane.
  void recordCertRefresh(bool ok) { (ok ? refresh_ok_ : refresh_failed_)->Increment(); }
  // config_reload_total{result="applied"|"rejected"}: one per SIGHUP that read --config.
  void recordReload(bool applied) { (applied ? reload_applied_ : reload_rejected_)->Increment(); }
  // config_endpoint_updates_total: pushed updates that changed only Services' endpoints, applied
  // to the workers' destinations without a new route table.
  void recordEndpointUpdate() { endpoint_updates_->Increment(); }
  // protocol_detect_duration_seconds{protocol}: how long detection took on an intercepted outbound
  // connection, by what it found ("timeout": silent until --detect-timeout, then relayed as bytes).
  void recordDetection(Detected protocol, std::chrono::steady_clock::duration took);

  // Prometheus text exposition format. Brings proxy_internal_errors_total up to date first.
  std::string serialize() const;

  prometheus::Family<prometheus::Counter>& requests() { return *requests_; }
  prometheus::Family<prometheus::Counter>& responses() { return *responses_; }
  prometheus::Family<prometheus::Histogram>& latency() { return *latency_; }
  ResilienceMetrics& resilience() { return *resilience_; }
  // The request families' children, counted across the workers' caches.
  SharedChildren& requestChildren() { return request_children_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* responses_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Gauge* cert_expiry_;
  prometheus::Gauge* cert_not_before_;
  prometheus::Gauge* config_version_;
  prometheus::Counter* refresh_ok_;
  prometheus::Counter* refresh_failed_;
  prometheus::Counter* reload_applied_;
  prometheus::Counter* reload_rejected_;
  prometheus::Counter* endpoint_updates_;
  prometheus::Counter* internal_errors_;  // follows weft::internalErrorCount()
  mutable std::atomic<uint64_t> internal_errors_exported_{0};
  std::unique_ptr<ResilienceMetrics> resilience_;
  SharedChildren request_children_;
  TcpCounters tcp_[static_cast<int>(TcpRole::kCount)];
  prometheus::Histogram* detect_[static_cast<int>(Detected::kCount)];
};

// Labels that identify a request's target in the golden metrics.
// Views into strings that outlive the request's metric lookup (the request head, the pinned
// config snapshot).
struct RequestLabels {
  bool inbound = false;
  std::string_view authority;
  std::string_view dst_service;
  std::string_view route;       // outbound: the HTTPRoute that matched, "default" without one
  std::string_view dst_subset;  // outbound: the subset the request went to, "" for all
  bool tls = false;  // the request crossed mTLS (inbound from a peer, or outbound to one)
};

// The metric children of one request target (direction × authority × dst_service × route ×
// dst_subset × tls).
class TargetMetrics {
 public:
  TargetMetrics(Metrics& metrics, prometheus::Labels labels);
  // Lets go of its series: the last cache holding them removes them from /metrics.
  ~TargetMetrics();
  TargetMetrics(const TargetMetrics&) = delete;
  TargetMetrics& operator=(const TargetMetrics&) = delete;

  const prometheus::Labels& labels() const { return labels_; }

  void recordRequest() { requests_->Increment(); }
  // `grpc_status` >= 0 for a gRPC response: it adds the grpc_status label (Linkerd's).
  void recordResponse(unsigned status, bool failure, std::chrono::steady_clock::duration latency,
                      int grpc_status = -1);

 private:
  struct Response {
    prometheus::Counter* total;
    prometheus::Histogram* latency;
  };

  Metrics& metrics_;
  prometheus::Labels labels_;  // as exported (authority may read "overflow")
  prometheus::Counter* requests_;
  std::unordered_map<uint64_t, Response> responses_;  // key: status, failure, grpc status
};

// Per-worker cache of metric children, so a request does one local hash lookup instead of the
// registry's locked ones. Owned by one worker thread; the references it returns stay valid until
// retire() hands their entry over (the caller keeps it while requests may still use it).
class WorkerMetrics {
 public:
  using Retired = std::vector<std::unique_ptr<TargetMetrics>>;

  explicit WorkerMetrics(Metrics& metrics) : metrics_(metrics) {}

  TargetMetrics& target(const RequestLabels& labels);
  // Takes out of the cache every target whose exported labels `drop` says no longer exist (a
  // config swap removed their destination). Their series leave /metrics once the returned
  // entries are destroyed and no other worker holds them.
  Retired retire(const std::function<bool(const prometheus::Labels&)>& drop);
  size_t size() const { return targets_.size(); }

 private:
  // Bounds label cardinality: authorities are chosen by clients.
  static constexpr size_t kMaxTargets = 256;

  Metrics& metrics_;
  std::unordered_map<std::string, std::unique_ptr<TargetMetrics>> targets_;
  std::string key_;  // scratch: a lookup allocates nothing once its key has been seen
};

}  // namespace weft::metrics
