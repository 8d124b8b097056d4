#pragma once

// The operators' side of the CA, on weft-control's --api port, every route behind the admin
// token (Authorization: Bearer <DIR/admin.token>; 401 otherwise):
//
//   POST /v1/tokens     {"namespace": "default", "serviceAccount": "web", "ttl": "24h"}
//     201 {"token", "identity", "expiresAt"}
//   GET  /v1/ca/bundle  the trust bundle, PEM
//   GET  /v1/ca/status  {"trustDomain", "phase", "certTtl", "rotation": {…}, "roots": […],
//                        "issuer": {…}, "holders": [{"identity", "serial", "issuer",
//                        "bundleVersion", "notAfter", …}]}
//   POST /v1/ca/rotate         begin a trust rotation (control/ca/trust_rotation.h)
//   POST /v1/ca/rotate/finish  end it; 409 naming the proxies that still hold old leaves

#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "control/auth/admin_token.h"
#include "control/auth/join_tokens.h"
#include "control/ca/certificate_authority.h"
#include "control/ca/holders.h"
#include "net/http/api_router.h"

namespace weft::control {

// What `weftctl ca rotate` drives (weft-control's main thread); absent for an operator's CA.
class RotationControl {
 public:
  virtual ~RotationControl() = default;
  virtual absl::Status beginRotation() = 0;
  virtual absl::Status finishRotation() = 0;
  virtual nlohmann::json rotationStatus() = 0;
};

class OperatorApi {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  OperatorApi(
      const auth::AdminToken& admin, const auth::JoinTokens& tokens, ca::CertificateAuthority& ca,
      ca::Holders& holders, RotationControl* rotation, std::string trust_domain,
      std::chrono::seconds cert_ttl, Clock clock = [] { return std::chrono::system_clock::now(); });

  void addRoutes(http::ApiRouter& router);

 private:
  // `handler` once the request carries the admin token; 401 otherwise.
  http::ApiHandler authorized(awaitable<void> (OperatorApi::*handler)(http::ApiRequest&));

  awaitable<void> createToken(http::ApiRequest& request);
  absl::StatusOr<auth::JoinTokens::Created> tokenFor(const absl::StatusOr<std::string>& body) const;
  awaitable<void> bundle(http::ApiRequest& request);
  awaitable<void> status(http::ApiRequest& request);
  awaitable<void> rotate(http::ApiRequest& request);
  awaitable<void> finishRotation(http::ApiRequest& request);
  // `ca rotate` (begin) or `ca rotate --finish`; answers with the rotation's status.
  awaitable<void> rotationStep(http::ApiRequest& request, bool finish);

  const auth::AdminToken& admin_;
  const auth::JoinTokens& tokens_;
  ca::CertificateAuthority& ca_;
  ca::Holders& holders_;
  RotationControl* rotation_;
  std::string trust_domain_;
  std::chrono::seconds cert_ttl_;
  Clock clock_;
};

}  // namespace weft::control
