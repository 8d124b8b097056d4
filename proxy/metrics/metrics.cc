#include "proxy/metrics/metrics.h"

#include <iterator>

#include <prometheus/text_serializer.h>

#include "common/strings.h"
#include "net/spawn_guard.h"
#include "runtime/process_metrics.h"

namespace weft::metrics {
namespace {

const prometheus::Histogram::BucketBoundaries kLatencyBucketsMs = {
    1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000};

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("request_total")
                   .Help("Total count of HTTP requests.")
                   .Register(*registry_);
  responses_ = &prometheus::BuildCounter()
                    .Name("response_total")
                    .Help("Total count of HTTP responses.")
                    .Register(*registry_);
  latency_ = &prometheus::BuildHistogram()
                  .Name("response_latency_ms")
                  .Help(
                      "Elapsed times between a request's headers being received and its "
                      "response stream completing, in milliseconds.")
                  .Register(*registry_);
  auto& open = prometheus::BuildCounter()
                   .Name("tcp_open_total")
                   .Help("Total count of opened connections.")
                   .Register(*registry_);
  auto& close = prometheus::BuildCounter()
                    .Name("tcp_close_total")
                    .Help("Total count of closed connections.")
                    .Register(*registry_);
  auto& open_now = prometheus::BuildGauge()
                       .Name("tcp_open_connections")
                       .Help("Number of currently-open connections.")
                       .Register(*registry_);
  auto& read = prometheus::BuildCounter()
                   .Name("tcp_read_bytes_total")
                   .Help("Total count of bytes read from peers.")
                   .Register(*registry_);
  auto& write = prometheus::BuildCounter()
                    .Name("tcp_write_bytes_total")
                    .Help("Total count of bytes written to peers.")
                    .Register(*registry_);
  const struct {
    TcpRole role;
    const char* direction;
    const char* peer;
    const char* tls;
  } roles[] = {{TcpRole::kOutboundSrc, "outbound", "src", "false"},
               {TcpRole::kOutboundDst, "outbound", "dst", "true"},
               {TcpRole::kInboundSrc, "inbound", "src", "true"},
               {TcpRole::kInboundDst, "inbound", "dst", "false"},
               {TcpRole::kOutboundDstPlain, "outbound", "dst", "false"},
               {TcpRole::kInboundSrcPlain, "inbound", "src", "false"}};
  for (const auto& r : roles) {
    prometheus::Labels labels{{"direction", r.direction}, {"peer", r.peer}, {"tls", r.tls}};
    tcp_[static_cast<int>(r.role)] =
        TcpCounters(&open.Add(labels), &close.Add(labels), &open_now.Add(labels), &read.Add(labels),
                    &write.Add(labels));
  }
  auto& detect = prometheus::BuildHistogram()
                     .Name("protocol_detect_duration_seconds")
                     .Help(
                         "Time from an intercepted outbound connection's accept until its "
                         "protocol was known, in seconds, by the protocol found.")
                     .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries detect_buckets{0.001, 0.005, 0.01, 0.05, 0.1,
                                                               0.5,   1,     5,    10};
  const char* detected[] = {"http1", "h2", "tls", "opaque", "timeout"};
  static_assert(std::size(detected) == static_cast<size_t>(Detected::kCount));
  for (size_t i = 0; i < std::size(detected); ++i) {
    detect_[i] = &detect.Add({{"protocol", detected[i]}}, detect_buckets);
  }
  cert_expiry_ = &prometheus::BuildGauge()
                      .Name("identity_cert_expiration_timestamp_seconds")
                      .Help(
                          "Time when this proxy's current certificate expires, in seconds "
                          "since the Unix epoch.")
                      .Register(*registry_)
                      .Add({});
  cert_not_before_ = &prometheus::BuildGauge()
                          .Name("identity_cert_not_before_timestamp_seconds")
                          .Help(
                              "Time from which this proxy's current certificate is valid, in "
                              "seconds since the Unix epoch.")
                          .Register(*registry_)
                          .Add({});
  auto& refresh = prometheus::BuildCounter()
                      .Name("identity_cert_refresh_total")
                      .Help("Certificate requests to the control plane, by result.")
                      .Register(*registry_);
  refresh_ok_ = &refresh.Add({{"result", "success"}});
  refresh_failed_ = &refresh.Add({{"result", "failure"}});
  config_version_ = &prometheus::BuildGauge()
                         .Name("weft_config_version")
                         .Help("Version of the mesh configuration this proxy serves.")
                         .Register(*registry_)
                         .Add({});
  auto& reloads = prometheus::BuildCounter()
                      .Name("config_reload_total")
                      .Help(
                          "Total count of configuration reloads (SIGHUP), by result: applied, "
                          "or rejected with the previous configuration kept.")
                      .Register(*registry_);
  reload_applied_ = &reloads.Add({{"result", "applied"}});
  reload_rejected_ = &reloads.Add({{"result", "rejected"}});
  endpoint_updates_ = &prometheus::BuildCounter()
                           .Name("config_endpoint_updates_total")
                           .Help(
                               "Pushed configuration updates that changed only Services' "
                               "endpoints: applied to the destinations in place, the route table "
                               "kept.")
                           .Register(*registry_)
                           .Add({});
  internal_errors_ = &prometheus::BuildCounter()
                          .Name("proxy_internal_errors_total")
                          .Help(
                              "Total count of exceptions that ended a coroutine (a connection, a "
                              "stream, a background task); each is logged with its context.")
                          .Register(*registry_)
                          .Add({});
  resilience_ = std::make_unique<ResilienceMetrics>(*registry_);
}

void Metrics::setCertificate(std::chrono::system_clock::time_point not_before,
                             std::chrono::system_clock::time_point not_after) {
  auto seconds = [](std::chrono::system_clock::time_point t) {
    return static_cast<double>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  };
  cert_expiry_->Set(seconds(not_after));
  cert_not_before_->Set(seconds(not_before));
}

void Metrics::recordDetection(Detected protocol, std::chrono::steady_clock::duration took) {
  detect_[static_cast<int>(protocol)]->Observe(std::chrono::duration<double>(took).count());
}

void Metrics::setConfigVersion(uint64_t version) {
  config_version_->Set(static_cast<double>(version));
}

std::string Metrics::serialize() const {
  const uint64_t now = internalErrorCount();
  const uint64_t before = internal_errors_exported_.exchange(now);
  if (now > before) internal_errors_->Increment(static_cast<double>(now - before));
  return prometheus::TextSerializer().Serialize(runtime::withProcessMetrics(registry_->Collect()));
}

TargetMetrics::TargetMetrics(Metrics& metrics, prometheus::Labels labels)
    : metrics_(metrics),
      labels_(std::move(labels)),
      requests_(metrics.requestChildren().acquire(metrics.requests(), labels_)) {}

TargetMetrics::~TargetMetrics() {
  SharedChildren& children = metrics_.requestChildren();
  children.release(metrics_.requests(), requests_);
  for (auto& [key, r] : responses_) {
    children.release(metrics_.responses(), r.total);
    children.release(metrics_.latency(), r.latency);
  }
}

void TargetMetrics::recordResponse(unsigned status, bool failure,
                                   std::chrono::steady_clock::duration latency, int grpc_status) {
  const uint64_t key =
      (uint64_t{status} << 32) | (uint64_t{failure} << 31) | static_cast<uint32_t>(grpc_status + 1);
  auto it = responses_.find(key);
  if (it == responses_.end()) {
    prometheus::Labels l = labels_;
    l["status_code"] = weft::strCat(status);
    l["classification"] = failure ? "failure" : "success";
    if (grpc_status >= 0) l["grpc_status"] = weft::strCat(grpc_status);
    SharedChildren& children = metrics_.requestChildren();
    Response r{children.acquire(metrics_.responses(), l),
               children.acquire(metrics_.latency(), l, kLatencyBucketsMs)};
    it = responses_.emplace(key, r).first;
  }
  it->second.total->Increment();
  it->second.latency->Observe(std::chrono::duration<double, std::milli>(latency).count());
}

TargetMetrics& WorkerMetrics::target(const RequestLabels& labels) {
  const char* direction = labels.inbound ? "inbound" : "outbound";
  const char* tls = labels.tls ? "true" : "false";
  auto makeKey = [&](std::string_view authority) {
    key_.clear();
    weft::strAppend(key_, direction, tls, "\n", labels.dst_service, "\n", labels.route, "\n",
                    labels.dst_subset, "\n", authority);
  };
  makeKey(labels.authority);
  auto it = targets_.find(key_);
  if (it != targets_.end()) return *it->second;
  std::string_view authority = labels.authority;
  if (targets_.size() >= kMaxTargets) {
    authority = "overflow";
    makeKey(authority);
    if (auto o = targets_.find(key_); o != targets_.end()) return *o->second;
  }
  prometheus::Labels l{{"direction", direction},
                       {"authority", std::string(authority)},
                       {"dst_service", std::string(labels.dst_service)},
                       {"tls", tls}};
  if (!labels.inbound) {
    l.emplace("route", std::string(labels.route));
    l.emplace("dst_subset", std::string(labels.dst_subset));
  }
  auto t = std::make_unique<TargetMetrics>(metrics_, std::move(l));
  return *targets_.emplace(key_, std::move(t)).first->second;
}

WorkerMetrics::Retired WorkerMetrics::retire(
    const std::function<bool(const prometheus::Labels&)>& drop) {
  Retired retired;
  for (auto it = targets_.begin(); it != targets_.end();) {
    if (drop(it->second->labels())) {
      retired.push_back(std::move(it->second));
      it = targets_.erase(it);
    } else {
      ++it;
    }
  }
  return retired;
}

}  // namespace weft::metrics
