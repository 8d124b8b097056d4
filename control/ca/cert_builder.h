#pragma once

// Building and signing X.509 certificates for the mesh CA: its root and intermediates, its own
// serving certificate, and workload leaves (X509-SVIDs: one URI SAN, the SPIFFE ID).

#include <chrono>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/status/statusor.h"
#include "identity/x509.h"

namespace weft::control::ca {

struct CertSpec {
  std::string common_name;  // CAs only; a leaf's subject is O=weft
  std::string uri_san;      // a leaf's SPIFFE ID (required for leaves)
  bool ca = false;
  int path_len = -1;  // CAs: how many CAs may follow below (-1: unlimited)
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};

// A certificate for `subject_key` signed by `issuer_key` under `issuer`'s name, or self-signed
// when `issuer` is null. Serial: 128 random bits. Leaves: CA:FALSE, digitalSignature and
// keyEncipherment, serverAuth and clientAuth, the URI SAN. CAs: CA:TRUE, keyCertSign and cRLSign.
absl::StatusOr<identity::X509Ptr> buildCertificate(const CertSpec& spec, EVP_PKEY* subject_key,
                                                   X509* issuer, EVP_PKEY* issuer_key);

// The SHA-256 fingerprint of the certificate's DER, hex with colons, as `openssl x509
// -fingerprint -sha256` prints it.
std::string fingerprint(X509* cert);

}  // namespace weft::control::ca
