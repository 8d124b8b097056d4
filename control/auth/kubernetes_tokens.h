#pragma once

// A Kubernetes projected ServiceAccount token in place of a join token: a JWT the API server
// signed (RS256 or ES256), checked offline against the cluster's service-account issuer keys
// (--k8s-jwks: the JWKS the API server publishes at /openid/v1/jwks) — the signature, the
// issuer, the audience (the pod's projected volume asks for "weft.dev") and the validity window.
// The workload identity comes from the token's kubernetes.io claims, as Istio and Linkerd
// derive it: spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount.name>.

#include <memory>
#include <string>

#include "control/auth/jwks.h"
#include "control/auth/token_verifier.h"

namespace weft::control::auth {

struct KubernetesTokenSettings {
  std::string jwks_path;
  std::string issuer = "https://kubernetes.default.svc.cluster.local";
  std::string audience = "weft.dev";
  std::string trust_domain;
};

class KubernetesTokens final : public TokenVerifier {
 public:
  // The keys at settings.jwks_path; an error names the file and what is wrong with it.
  static absl::StatusOr<std::unique_ptr<KubernetesTokens>> load(KubernetesTokenSettings settings);
  KubernetesTokens(Jwks keys, KubernetesTokenSettings settings);

  absl::StatusOr<TokenIdentity> verify(std::string_view token,
                                       std::chrono::system_clock::time_point now) const override;

 private:
  Jwks keys_;
  KubernetesTokenSettings settings_;
};

// Join tokens and, when the cluster's keys are given, Kubernetes tokens: a token goes to the one
// its header's alg belongs to (EdDSA: a join token; RS256, ES256: Kubernetes).
class TokenVerifiers final : public TokenVerifier {
 public:
  TokenVerifiers(const TokenVerifier& join, const TokenVerifier* kubernetes)
      : join_(join), kubernetes_(kubernetes) {}

  absl::StatusOr<TokenIdentity> verify(std::string_view token,
                                       std::chrono::system_clock::time_point now) const override;

 private:
  const TokenVerifier& join_;
  const TokenVerifier* kubernetes_;
};

}  // namespace weft::control::auth
