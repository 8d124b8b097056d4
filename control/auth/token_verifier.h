#pragma once

// How a caller proves which workload it is before the CA signs for it. Today: Weft's own join
// tokens (control/auth/join_tokens.h). Next: a Kubernetes projected ServiceAccount token, checked
// against the cluster's keys, behind the same interface.

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace weft::control::auth {

struct TokenIdentity {
  std::string identity;  // spiffe://<td>/ns/<ns>/sa/<sa>
  std::string ns;
  std::string service_account;
  std::chrono::system_clock::time_point expires;
  std::string kind;  // "join", later "kubernetes"
};

class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // The identity `token` proves at `now`, or a refusal (control/ca/refusal.h; Unauthenticated)
  // with its reason: malformed_token, token_signature, token_expired, wrong_trust_domain,
  // wrong_audience.
  virtual absl::StatusOr<TokenIdentity> verify(std::string_view token,
                                               std::chrono::system_clock::time_point now) const = 0;
};

}  // namespace weft::control::auth
