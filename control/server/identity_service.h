#pragma once

// The proxies' side of the CA, on weft-control's --listen port (TLS; HTTP/2 or HTTP/1.1):
//
//   POST /v1/certificates   Authorization: Bearer <join token>
//                           {"csr": "-----BEGIN CERTIFICATE REQUEST-----…"}
//     200 {"identity", "certificate", "chain", "trustBundle", "serial", "notBefore", "notAfter"}
//     4xx/5xx {"error": {"reason", "message"}}, counted in identity_csr_rejected_total{reason}
//   GET  /v1/trust-bundle   the roots, PEM (public)

#include <chrono>
#include <functional>

#include "control/auth/token_verifier.h"
#include "control/ca/certificate_authority.h"
#include "control/ca/holders.h"
#include "control/server/control_metrics.h"
#include "net/http/api_router.h"

namespace weft::control {

inline constexpr size_t kMaxCertificateRequestBytes = 64 * 1024;

class IdentityService {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  IdentityService(
      ca::CertificateAuthority& ca, const auth::TokenVerifier& tokens, ca::Holders& holders,
      ControlMetrics& metrics, Clock clock = [] { return std::chrono::system_clock::now(); });

  void addRoutes(http::ApiRouter& router);

 private:
  awaitable<void> issue(http::ApiRequest& request);
  awaitable<void> trustBundle(http::ApiRequest& request);
  // The certificate for a request whose body is in hand, or the refusal.
  awaitable<absl::StatusOr<ca::IssuedCertificate>> tryIssue(http::ApiRequest& request);

  ca::CertificateAuthority& ca_;
  const auth::TokenVerifier& tokens_;
  ca::Holders& holders_;
  ControlMetrics& metrics_;
  Clock clock_;
};

}  // namespace weft::control
