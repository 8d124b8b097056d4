#pragma once

// The proxies' side of the CA, on weft-control's --listen port (TLS; HTTP/2 or HTTP/1.1):
//
//   POST /v1/certificates   Authorization: Bearer <join token>, or the TLS client certificate
//                           being renewed (a token, when valid, wins)
//                           {"csr": "-----BEGIN CERTIFICATE REQUEST-----…",
//                            "bundleVersion": <the trust bundle version the proxy holds>}
//     200 {"identity", "certificate", "chain", "trustBundle", "bundleVersion", "serial",
//          "notBefore", "notAfter"}
//     4xx/5xx {"error": {"reason", "message"}}, counted in identity_csr_rejected_total{reason}
//   GET  /v1/trust-bundle[?held=N]  the roots, PEM (public), with x-weft-bundle-version. A
//                           proxy asking with its certificate also says it holds version N
//                           (its acknowledgement in a trust rotation) and gets
//                           `x-weft-renew: issuer-changed` when its leaf is from an old issuer.

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
      ControlMetrics& metrics, std::string trust_domain,
      Clock clock = [] { return std::chrono::system_clock::now(); });

  // Runs after each certificate issued, or acknowledgement (the holders changed).
  void onIssued(std::function<void()> callback) { on_issued_ = std::move(callback); }

  void addRoutes(http::ApiRouter& router);

 private:
  awaitable<void> issue(http::ApiRequest& request);
  // Who asks: the join token's identity, else that of a valid client certificate.
  absl::StatusOr<std::string> caller(http::ApiRequest& request) const;
  awaitable<void> trustBundle(http::ApiRequest& request);
  // The certificate for a request whose body is in hand, or the refusal.
  // `bundle_version`: set to what the proxy says it holds.
  awaitable<absl::StatusOr<ca::IssuedCertificate>> tryIssue(http::ApiRequest& request,
                                                            uint64_t& bundle_version);

  ca::CertificateAuthority& ca_;
  const auth::TokenVerifier& tokens_;
  ca::Holders& holders_;
  ControlMetrics& metrics_;
  std::string trust_domain_;
  Clock clock_;
  std::function<void()> on_issued_;
};

}  // namespace weft::control
