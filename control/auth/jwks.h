#pragma once

// A JSON Web Key Set (RFC 7517): the public keys a Kubernetes API server publishes at
// /openid/v1/jwks to verify its ServiceAccount tokens. RSA keys (RS256, 2048 bits or more) and
// EC P-256 keys (ES256) are taken; other keys and keys not for signatures are skipped.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "identity/x509.h"

namespace weft::control::auth {

inline constexpr size_t kMaxJwksBytes = 1 << 20;
inline constexpr size_t kMaxJwksKeys = 100;

struct Jwk {
  std::string kid;
  std::string alg;  // "RS256" or "ES256"
  identity::PkeyPtr key;
};

class Jwks {
 public:
  // InvalidArgument naming `origin` and the key when the document or a key is malformed; a set
  // with no usable key is refused too.
  static absl::StatusOr<Jwks> parse(std::string_view json, std::string_view origin);

  // The key with this kid for this alg; with an empty kid, the only key for alg, if one.
  const Jwk* find(std::string_view kid, std::string_view alg) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<Jwk> keys_;
};

// Whether `signature` (JOSE form: PKCS#1 v1.5 for RS256, r||s for ES256) over `input` verifies
// with `key`, SHA-256.
bool verifyJose(const Jwk& key, std::string_view input, std::string_view signature);

}  // namespace weft::control::auth
