#include "control/auth/join_tokens.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "common/rfc3339.h"
#include "common/strings.h"
#include "control/auth/jws.h"
#include "identity/spiffe.h"
#include "runtime/atomic_file.h"

namespace weft::control::auth {
namespace {

constexpr char kIssuer[] = "weft-control";
constexpr char kAudience[] = "weft.dev/join";

std::string hex(const unsigned char* bytes, size_t n) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), n));
}

std::string keyIdOf(EVP_PKEY* key) {
  unsigned char raw[64];
  size_t len = sizeof(raw);
  EVP_PKEY_get_raw_public_key(key, raw, &len);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(raw, len, digest);
  return hex(digest, 8);
}

// A string member of a token's JSON, or "" when it is missing or not a string: the header is
// read before the signature is checked, so it may hold anything.
int64_t secondsOf(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

bool isDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

bool isDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  for (;;) {
    const size_t dot = s.find('.', start);
    if (!isDns1123Label(s.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

JoinTokens::JoinTokens(identity::PkeyPtr key, std::string trust_domain)
    : key_(std::move(key)), trust_domain_(std::move(trust_domain)), kid_(keyIdOf(key_.get())) {}

absl::StatusOr<std::unique_ptr<JoinTokens>> JoinTokens::loadOrCreate(const std::string& key_path,
                                                                     std::string trust_domain) {
  auto text = runtime::readFile(key_path);
  identity::PkeyPtr key;
  if (absl::IsNotFound(text.status())) {
    key = identity::generateKey("ED25519");
    if (!key) return absl::InternalError("cannot generate the token signing key");
    if (auto st = runtime::writeFileAtomic(key_path, identity::privateKeyPem(key.get()), 0600);
        !st.ok()) {
      return st;
    }
  } else if (!text.ok()) {
    return text.status();
  } else {
    auto parsed = identity::parsePrivateKey(*text);
    if (!parsed.ok()) {
      return absl::DataLossError(weft::strCat(key_path, ": ", parsed.status().message()));
    }
    if (EVP_PKEY_get_id(parsed->get()) != EVP_PKEY_ED25519) {
      return absl::DataLossError(weft::strCat(key_path, ": not an Ed25519 key"));
    }
    key = std::move(*parsed);
  }
  return std::make_unique<JoinTokens>(std::move(key), std::move(trust_domain));
}

absl::StatusOr<JoinTokens::Created> JoinTokens::create(
    std::string_view ns, std::string_view service_account, std::chrono::seconds ttl,
    std::chrono::system_clock::time_point now) const {
  if (!isDns1123Label(ns)) {
    return absl::InvalidArgumentError(
        weft::strCat("namespace: '", ns,
                     "' is not a Kubernetes namespace name (DNS-1123 label: a-z, 0-9 "
                     "and '-', at most 63)"));
  }
  if (!isDns1123Subdomain(service_account)) {
    return absl::InvalidArgumentError(
        weft::strCat("serviceAccount: '", service_account,
                     "' is not a Kubernetes service account name (DNS-1123 subdomain)"));
  }
  if (ttl < std::chrono::seconds(1) || ttl > kMaxJoinTokenTtl) {
    return absl::InvalidArgumentError(weft::strCat("ttl: ", ttl.count(), "s is outside 1s..8760h"));
  }
  unsigned char jti[12];
  RAND_bytes(jti, sizeof(jti));
  Created out;
  out.identity = identity::workloadIdentity(trust_domain_, ns, service_account);
  out.expires = now + ttl;
  const nlohmann::json claims = {{"iss", kIssuer},
                                 {"aud", kAudience},
                                 {"sub", out.identity},
                                 {"ns", std::string(ns)},
                                 {"sa", std::string(service_account)},
                                 {"iat", secondsOf(now)},
                                 {"exp", secondsOf(out.expires)},
                                 {"jti", hex(jti, sizeof(jti))}};
  out.token = signEdDsa({{"typ", "JWT"}, {"kid", kid_}}, claims, key_.get());
  return out;
}

absl::StatusOr<TokenIdentity> JoinTokens::verify(std::string_view token,
                                                 std::chrono::system_clock::time_point now) const {
  auto jws = parseJws(token);
  if (!jws.ok()) return jws.status();
  const nlohmann::json& h = jws->header;
  const nlohmann::json& c = jws->claims;
  if (stringMember(h, "alg") != "EdDSA") {
    return tokenDenied("token_signature",
                       weft::strCat("token signed with alg '", stringMember(h, "alg"),
                                    "'; join tokens are EdDSA"));
  }
  if (stringMember(h, "kid") != kid_) {
    return tokenDenied("token_signature",
                       weft::strCat("token signed by key '", stringMember(h, "kid"),
                                    "', not this control plane's (", kid_, ")"));
  }
  if (!verifyEdDsa(key_.get(), jws->signing_input, jws->signature)) {
    return tokenDenied("token_signature", "token signature does not verify: it was altered");
  }
  if (stringMember(c, "iss") != kIssuer || stringMember(c, "aud") != kAudience) {
    return tokenDenied("wrong_audience", "not a weft join token (iss/aud)");
  }
  const auto exp_claim = c.find("exp");
  if (exp_claim == c.end() || !exp_claim->is_number_integer()) {
    return tokenDenied("malformed_token", "malformed token: no integer 'exp'");
  }
  const std::chrono::system_clock::time_point expires{
      std::chrono::seconds(exp_claim->get<int64_t>())};
  if (expires <= now) {
    return tokenDenied("token_expired", weft::strCat("token expired at ", weft::rfc3339(expires)));
  }
  auto id = identity::parseSpiffeId(stringMember(c, "sub"));
  if (!id.ok()) {
    return tokenDenied("malformed_token",
                       weft::strCat("malformed token: sub: ", id.status().message()));
  }
  if (id->trust_domain != trust_domain_) {
    return tokenDenied("wrong_trust_domain",
                       weft::strCat("token is for trust domain ", id->trust_domain,
                                    "; this control plane serves ", trust_domain_));
  }
  TokenIdentity out;
  out.identity = id->uri();
  out.ns = stringMember(c, "ns");
  out.service_account = stringMember(c, "sa");
  out.expires = expires;
  out.kind = "join";
  if (out.identity != identity::workloadIdentity(trust_domain_, out.ns, out.service_account)) {
    return tokenDenied("malformed_token", "malformed token: sub does not match ns and sa");
  }
  return out;
}

}  // namespace weft::control::auth
