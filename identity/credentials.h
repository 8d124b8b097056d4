#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/statusor.h"

namespace weft::identity {

struct CredentialFiles {
  std::string cert;          // leaf certificate (and chain), PEM
  std::string key;           // private key, PEM
  std::string trust_bundle;  // trust anchors, PEM
};

// The same, in memory: what a proxy holds after the control plane issued it a certificate.
struct CredentialPem {
  std::string chain;         // the leaf, then the intermediates
  std::string key;           // private key
  std::string trust_bundle;  // trust anchors
};

// One immutable set of workload credentials: TLS contexts for both directions built from a
// certificate, key and trust bundle. A proxy holds it as shared_ptr<const Credentials> and swaps
// in a new one when certificates rotate; connections keep the one they started with.
class Credentials {
 public:
  // Loads and checks the files: the key matches the certificate, the certificate chains to the
  // bundle and carries exactly `expected_identity` as its SPIFFE ID.
  static absl::StatusOr<std::shared_ptr<const Credentials>> load(
      const CredentialFiles& files, std::string_view trust_domain,
      std::string_view expected_identity);
  // The same checks over PEM text; errors name `origin` ("the issued certificate").
  static absl::StatusOr<std::shared_ptr<const Credentials>> fromPem(
      const CredentialPem& pem, std::string_view trust_domain, std::string_view expected_identity,
      std::string_view origin = "the issued certificate");

  // For accepting mTLS: TLS 1.3, requires a client certificate that chains to the bundle and
  // carries a SPIFFE ID in the trust domain. ALPN: identity/alpn.h.
  boost::asio::ssl::context& serverContext() const { return *server_; }
  // For connecting to peers: TLS 1.3, presents our certificate, verifies the peer's chain. The
  // caller checks the peer's identity with peerIdentity() after the handshake.
  boost::asio::ssl::context& clientContext() const { return *client_; }

  const std::string& identity() const { return identity_; }
  const std::string& trustDomain() const { return trust_domain_; }
  std::chrono::system_clock::time_point notAfter() const { return not_after_; }
  std::chrono::system_clock::time_point notBefore() const { return not_before_; }

 private:
  Credentials() = default;
  // The TLS contexts are in place: check the leaf and finish both.
  static absl::StatusOr<std::shared_ptr<const Credentials>> finish(
      std::shared_ptr<Credentials> creds, std::string_view trust_domain,
      std::string_view expected_identity, std::string_view origin);

  std::unique_ptr<boost::asio::ssl::context> server_;
  std::unique_ptr<boost::asio::ssl::context> client_;
  std::string identity_;
  std::string trust_domain_;
  std::chrono::system_clock::time_point not_after_;
  std::chrono::system_clock::time_point not_before_;
};

// Keeps OpenSSL's record buffers (about 34 KiB) for the life of the connection instead of freeing
// them after every record and allocating them again for the next (Asio sets
// SSL_MODE_RELEASE_BUFFERS on every SSL it creates). For the long-lived, multiplexed HTTP/2
// connections between sidecars: a handful per peer, busy all the time.
void keepRecordBuffers(SSL* ssl);

// The SPIFFE ID the peer presented on an established TLS connection.
absl::StatusOr<std::string> peerIdentity(SSL* ssl);

}  // namespace weft::identity
