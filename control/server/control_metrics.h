#pragma once

// weft-control's own metrics, on its --admin /metrics.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace weft::control {

class ControlMetrics {
 public:
  explicit ControlMetrics(prometheus::Registry& registry);

  void issued() { issued_.Increment(); }
  // identity_csr_rejected_total{reason}: every refused issuance, whatever refused it.
  void rejected(const std::string& reason);
  void issuerExpires(std::chrono::system_clock::time_point t);

 private:
  prometheus::Counter& issued_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Gauge& issuer_expiry_;
};

}  // namespace weft::control
