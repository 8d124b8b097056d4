#pragma once

// The workload's side of issuance: a PKCS#10 request for its SPIFFE ID.

#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "absl/status/statusor.h"

namespace weft::identity {

// A certificate signing request for `identity` (as its one URI SAN), signed with `key`; PEM.
// The CA decides what the certificate says: the request only carries the public key and the
// proof that its sender holds the private one.
absl::StatusOr<std::string> makeCsr(EVP_PKEY* key, std::string_view identity);

}  // namespace weft::identity
