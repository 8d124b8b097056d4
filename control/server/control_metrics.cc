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
                         .Add({})) {}

void ControlMetrics::rejected(const std::string& reason) {
  rejected_.Add({{"reason", reason}}).Increment();
}

void ControlMetrics::issuerExpires(std::chrono::system_clock::time_point t) {
  issuer_expiry_.Set(static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count()));
}

}  // namespace weft::control
