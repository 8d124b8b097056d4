#include "control/auth/kubernetes_tokens.h"

#include <nlohmann/json.hpp>

#include "common/rfc3339.h"
#include "common/strings.h"
#include "control/auth/join_tokens.h"
#include "control/auth/jws.h"
#include "identity/spiffe.h"
#include "runtime/atomic_file.h"

namespace weft::control::auth {
namespace {

using nlohmann::json;

// Tokens minted a little ahead of this machine's clock are still good.
constexpr std::chrono::seconds kClockSkew{60};

std::optional<std::chrono::system_clock::time_point> time(const json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_number_integer()) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::seconds(it->get<int64_t>()));
}

bool hasAudience(const json& claims, const std::string& audience) {
  const auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return it->get<std::string>() == audience;
  if (!it->is_array()) return false;
  for (const json& a : *it) {
    if (a.is_string() && a.get<std::string>() == audience) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KubernetesTokens>> KubernetesTokens::load(
    KubernetesTokenSettings settings) {
  auto text = runtime::readFile(settings.jwks_path, kMaxJwksBytes);
  if (!text.ok()) return text.status();
  auto keys = Jwks::parse(*text, settings.jwks_path);
  if (!keys.ok()) return keys.status();
  return std::make_unique<KubernetesTokens>(std::move(*keys), std::move(settings));
}

KubernetesTokens::KubernetesTokens(Jwks keys, KubernetesTokenSettings settings)
    : keys_(std::move(keys)), settings_(std::move(settings)) {}

absl::StatusOr<TokenIdentity> KubernetesTokens::verify(
    std::string_view token, std::chrono::system_clock::time_point now) const {
  auto jws = parseJws(token);
  if (!jws.ok()) return jws.status();
  const json& h = jws->header;
  const json& c = jws->claims;
  const std::string alg = stringMember(h, "alg");
  if (alg != "RS256" && alg != "ES256") {
    return tokenDenied("token_signature",
                       weft::strCat("token signed with alg '", alg,
                                    "'; Kubernetes service account tokens are RS256 or ES256"));
  }
  const Jwk* key = keys_.find(stringMember(h, "kid"), alg);
  if (key == nullptr) {
    return tokenDenied("token_signature",
                       weft::strCat("token signed by key '", stringMember(h, "kid"), "' (", alg,
                                    "), which is not in ", settings_.jwks_path));
  }
  if (!verifyJose(*key, jws->signing_input, jws->signature)) {
    return tokenDenied("token_signature", "token signature does not verify: it was altered");
  }
  if (stringMember(c, "iss") != settings_.issuer) {
    return tokenDenied("wrong_issuer",
                       weft::strCat("token issued by '", stringMember(c, "iss"),
                                    "'; this control plane trusts '", settings_.issuer, "'"));
  }
  if (!hasAudience(c, settings_.audience)) {
    return tokenDenied("wrong_audience",
                       weft::strCat("token is not for audience '", settings_.audience,
                                    "' (project it with audience: ", settings_.audience, ")"));
  }
  const auto exp = time(c, "exp");
  if (!exp) return tokenDenied("malformed_token", "malformed token: no integer 'exp'");
  if (*exp <= now) {
    return tokenDenied("token_expired", weft::strCat("token expired at ", weft::rfc3339(*exp)));
  }
  if (const auto nbf = time(c, "nbf"); nbf && *nbf > now + kClockSkew) {
    return tokenDenied("token_expired",
                       weft::strCat("token not valid before ", weft::rfc3339(*nbf)));
  }
  const auto k8s = c.find("kubernetes.io");
  if (k8s == c.end() || !k8s->is_object() || !k8s->contains("serviceaccount") ||
      !(*k8s)["serviceaccount"].is_object()) {
    return tokenDenied("malformed_token",
                       "malformed token: no kubernetes.io namespace and serviceaccount claims");
  }
  TokenIdentity out;
  out.ns = stringMember(*k8s, "namespace");
  out.service_account = stringMember((*k8s)["serviceaccount"], "name");
  if (!isDns1123Label(out.ns) || !isDns1123Subdomain(out.service_account)) {
    return tokenDenied("malformed_token",
                       weft::strCat("malformed token: kubernetes.io namespace '", out.ns,
                                    "' and serviceaccount '", out.service_account, "'"));
  }
  const std::string sub = stringMember(c, "sub");
  if (sub != weft::strCat("system:serviceaccount:", out.ns, ":", out.service_account)) {
    return tokenDenied("malformed_token",
                       weft::strCat("malformed token: sub '", sub, "' does not match its claims"));
  }
  out.identity = identity::workloadIdentity(settings_.trust_domain, out.ns, out.service_account);
  out.expires = *exp;
  out.kind = "kubernetes";
  return out;
}

absl::StatusOr<TokenIdentity> TokenVerifiers::verify(
    std::string_view token, std::chrono::system_clock::time_point now) const {
  auto jws = parseJws(token);
  if (!jws.ok()) return jws.status();
  const std::string alg = stringMember(jws->header, "alg");
  if (alg == "EdDSA" || kubernetes_ == nullptr) return join_.verify(token, now);
  return kubernetes_->verify(token, now);
}

}  // namespace weft::control::auth
