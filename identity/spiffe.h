#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "absl/status/statusor.h"

namespace weft::identity {

// A SPIFFE ID: spiffe://<trust-domain>/<path>. Workload identities in Weft use the path
// ns/<namespace>/sa/<service-account>, as Linkerd and Istio do.
struct SpiffeId {
  std::string trust_domain;
  std::string path;  // without the leading '/'

  std::string uri() const {
    return path.empty() ? "spiffe://" + trust_domain : "spiffe://" + trust_domain + "/" + path;
  }
  bool operator==(const SpiffeId&) const = default;
};

// Parses and validates a SPIFFE ID per the SPIFFE spec (lowercase trust domain, non-empty
// path segments, no query or fragment).
absl::StatusOr<SpiffeId> parseSpiffeId(std::string_view uri);

// spiffe://<trust_domain>/ns/<ns>/sa/<sa>
std::string workloadIdentity(std::string_view trust_domain, std::string_view ns,
                             std::string_view service_account);

// All URI subjectAltNames of a certificate.
std::vector<std::string> uriSans(X509* cert);

// The certificate's SPIFFE ID: its single spiffe:// URI SAN. Errors name what was found instead.
absl::StatusOr<SpiffeId> spiffeIdOf(X509* cert);

}  // namespace weft::identity
