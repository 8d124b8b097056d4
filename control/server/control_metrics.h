#pragma once

// weft-control's own metrics, on its --admin /metrics.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace weft::control {

class ControlMetrics {
 public:
  explicit ControlMetrics(prometheus::Registry& registry);

  void issued() { issued_.Increment(); }
  // identity_csr_rejected_total{reason}: every refused issuance, whatever refused it.
  void rejected(const std::string& reason);
  void issuerExpires(std::chrono::system_clock::time_point t);
  // control_apply_total{result}: "ok", or the refusal's reason (invalid_resource, conflict, ...).
  void applied(const std::string& result);
  // control_store_write_seconds: an apply's validation and durable commit.
  void storeWrite(std::chrono::steady_clock::duration took);

 private:
  prometheus::Counter& issued_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Gauge& issuer_expiry_;
  prometheus::Family<prometheus::Counter>& applies_;
  prometheus::Histogram& store_write_;
};

}  // namespace weft::control
