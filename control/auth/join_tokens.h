#pragma once

// Weft's join tokens: a JWT that binds one workload identity, signed by weft-control with an
// Ed25519 key of its own (DIR/token-signing.key, 0600) and verifiable with nothing but that key:
// no database, no revocation list, so keep their lifetime short.
//
//   header  {"alg":"EdDSA","typ":"JWT","kid":"<first 8 bytes of SHA-256 of the public key>"}
//   claims  {"iss":"weft-control","aud":"weft.dev/join","sub":"spiffe://td/ns/N/sa/S",
//            "ns":N,"sa":S,"iat":…,"exp":…,"jti":"<random>"}

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "control/auth/token_verifier.h"
#include "identity/x509.h"

namespace weft::control::auth {

inline constexpr std::chrono::seconds kMaxJoinTokenTtl{365LL * 24 * 3600};

class JoinTokens final : public TokenVerifier {
 public:
  // The signing key at `key_path`, created (Ed25519, 0600) if missing.
  static absl::StatusOr<std::unique_ptr<JoinTokens>> loadOrCreate(const std::string& key_path,
                                                                  std::string trust_domain);
  JoinTokens(identity::PkeyPtr key, std::string trust_domain);

  struct Created {
    std::string token;
    std::string identity;
    std::chrono::system_clock::time_point expires;
  };
  // A token for spiffe://<td>/ns/<ns>/sa/<sa>, valid for `ttl` (1s to kMaxJoinTokenTtl).
  // InvalidArgument names the field: "namespace: 'Web!' is not a DNS-1123 label".
  absl::StatusOr<Created> create(std::string_view ns, std::string_view service_account,
                                 std::chrono::seconds ttl,
                                 std::chrono::system_clock::time_point now) const;

  absl::StatusOr<TokenIdentity> verify(std::string_view token,
                                       std::chrono::system_clock::time_point now) const override;

  const std::string& keyId() const { return kid_; }

 private:
  identity::PkeyPtr key_;
  std::string trust_domain_;
  std::string kid_;
};

// A Kubernetes name as namespaces are (DNS-1123 label: [a-z0-9-], at most 63, alphanumeric at
// both ends) and service accounts (DNS-1123 subdomain: labels joined by '.', at most 253).
bool isDns1123Label(std::string_view s);
bool isDns1123Subdomain(std::string_view s);

}  // namespace weft::control::auth
