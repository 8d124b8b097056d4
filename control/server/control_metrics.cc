#include "control/server/control_metrics.h"

namespace weft::control {

ControlMetrics::ControlMetrics(prometheus::Registry& registry)
    : issued_(prometheus::BuildCounter()
                  .Name("identity_certs_issued_total")
                  .Help("Workload certificates issued from CSRs.")
                  .Register(registry)
                  .Add({})),
      rejected_(prometheus::BuildCounter()
                    .Name("identity_csr_rejected_total")
                    .Help("Certificate requests refused, by reason (token_expired, weak_key, ...).")
                    .Register(registry)),
      issuer_expiry_(prometheus::BuildGauge()
                         .Name("identity_issuer_expiration_timestamp_seconds")
                         .Help("When the issuing CA certificate expires (Unix seconds).")
                         .Register(registry)
                         .Add({})),
      applies_(prometheus::BuildCounter()
                   .Name("control_apply_total")
                   .Help("Applies of mesh resources, by result (ok or the refusal's reason).")
                   .Register(registry)),
      store_write_(prometheus::BuildHistogram()
                       .Name("control_store_write_seconds")
                       .Help("An apply's validation and durable (fsync'd) store commit.")
                       .Register(registry)
                       .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025,
                                                                        0.005, 0.01, 0.025, 0.05,
                                                                        0.1, 0.25, 0.5, 1, 2.5})) {}

void ControlMetrics::rejected(const std::string& reason) {
  rejected_.Add({{"reason", reason}}).Increment();
}

void ControlMetrics::issuerExpires(std::chrono::system_clock::time_point t) {
  issuer_expiry_.Set(static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count()));
}

}  // namespace weft::control

namespace weft::control {

void ControlMetrics::applied(const std::string& result) {
  applies_.Add({{"result", result}}).Increment();
}

void ControlMetrics::storeWrite(std::chrono::steady_clock::duration took) {
  store_write_.Observe(std::chrono::duration<double>(took).count());
}

}  // namespace weft::control
