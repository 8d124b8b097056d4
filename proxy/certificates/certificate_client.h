#pragma once

// The proxy's side of issuance: one certificate request to weft-control's --listen port over
// TLS (the control plane must present spiffe://<td>/ns/weft-system/sa/weft-control and chain to
// the trust bundle) and HTTP/2, with a join token.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/statusor.h"
#include "control/api/address.h"
#include "identity/credentials.h"
#include "net/asio.h"
#include "net/connection_stats.h"
#include "net/http/http2/settings.h"
#include "net/http/message.h"
#include "net/tls_stream.h"

namespace weft::proxy::certificates {

struct IssuedPem {
  std::string certificate;   // the leaf
  std::string chain;         // above it, below the roots
  std::string trust_bundle;  // the roots the control plane trusts now
  uint64_t bundle_version = 0;
};

struct CertificateRequest {
  std::string csr_pem;
  std::string token;             // the join token (may have expired: see `current`)
  std::string trust_bundle_pem;  // the roots to trust the control plane by
  // The trust bundle version in use (0: none yet): during a trust rotation it tells the control
  // plane that this proxy trusts the new root.
  uint64_t held_bundle_version = 0;
  // The certificate being renewed, presented as the TLS client certificate: it proves the
  // identity when the join token no longer does. Null for the first request.
  std::shared_ptr<const weft::identity::Credentials> current;
};

// What a proxy learns by polling the trust bundle (GET /v1/trust-bundle with its certificate).
struct BundleCheck {
  uint64_t bundle_version = 0;  // the control plane's current one
  bool renew = false;           // the proxy's leaf is from an old issuer: renew now
};

class CertificateClient {
 public:
  virtual ~CertificateClient() = default;
  // Tells the control plane which trust bundle version this proxy holds (its acknowledgement
  // during a trust rotation) and learns the current one, over TLS with `current`.
  virtual awaitable<absl::StatusOr<BundleCheck>> checkBundle(
      uint64_t held_bundle_version, std::shared_ptr<const weft::identity::Credentials> current) = 0;
  // Unavailable: "control plane unreachable: connect: Connection refused", "… tls handshake:
  // …"; PermissionDenied / InvalidArgument etc.: "control plane refused the request (401
  // token_expired): token expired at …".
  virtual awaitable<absl::StatusOr<IssuedPem>> request(CertificateRequest request) = 0;
};

class CertificateClientImpl final : public CertificateClient {
 public:
  // `control`: "https://HOST:PORT" parsed; `trust_domain` names the identity to expect.
  CertificateClientImpl(Executor executor, api::HostPort control, std::string trust_domain,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

  awaitable<absl::StatusOr<IssuedPem>> request(CertificateRequest request) override;
  awaitable<absl::StatusOr<BundleCheck>> checkBundle(
      uint64_t held_bundle_version,
      std::shared_ptr<const weft::identity::Credentials> current) override;

 private:
  struct Answer {
    http::ResponseHead head;
    std::string body;
  };
  awaitable<absl::StatusOr<TlsStream>> connect(boost::asio::ssl::context& context);
  // One request on a fresh HTTP/2 connection over `tls`; the answer, whatever its status.
  awaitable<absl::StatusOr<Answer>> exchange(TlsStream tls, http::RequestHead head,
                                             std::string body);

  Executor executor_;
  api::HostPort control_;
  std::string expected_identity_;
  std::chrono::milliseconds timeout_;
};

// A TLS 1.3 connection to weft-control's --listen that agreed to HTTP/2, whose certificate names
// `expected_identity` and chains to `context`'s trust anchors (with the client certificate
// `context` holds, if any). Unavailable: "control plane unreachable: connect: …".
awaitable<absl::StatusOr<TlsStream>> dialControl(Executor executor, const api::HostPort& control,
                                                 const std::string& expected_identity,
                                                 boost::asio::ssl::context& context,
                                                 std::chrono::milliseconds timeout);

// "https://127.0.0.1:15010" → 127.0.0.1:15010. InvalidArgument names what is wrong.
absl::StatusOr<api::HostPort> parseControlUrl(std::string_view url);

}  // namespace weft::proxy::certificates
