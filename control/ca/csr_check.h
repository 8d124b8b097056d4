#pragma once

// What the CA accepts in a certificate signing request before it signs anything: a PEM PKCS#10
// request, small, whose self-signature verifies (the sender holds the private key), with a key
// the mesh trusts (EC P-256 or P-384, RSA of 2048 bits or more) and no name other than the
// identity its token grants.

#include <string_view>

#include "absl/status/statusor.h"
#include "identity/x509.h"

namespace weft::control::ca {

inline constexpr size_t kMaxCsrBytes = 16 * 1024;

// The request's public key, or a refusal (control/ca/refusal.h) with one of the reasons
// malformed_csr, bad_signature, weak_key, unsupported_key, identity_mismatch. `identity` is the
// SPIFFE ID the caller's token grants: the request may name it as its one SAN, or name nothing.
absl::StatusOr<identity::PkeyPtr> checkCsr(std::string_view pem, std::string_view identity);

// A request that passed checkCsr, and its public key. The issuer copies the request's
// SubjectPublicKeyInfo (X509_REQ_get_X509_PUBKEY) into the certificate; the request itself holds
// no decoded key (X509_REQ_get0_pubkey is null): use `key`.
struct CheckedCsr {
  identity::X509ReqPtr request;
  identity::PkeyPtr key;
};

// checkCsr, keeping the request.
absl::StatusOr<CheckedCsr> checkRequest(std::string_view pem, std::string_view identity);

}  // namespace weft::control::ca
