#include "control/auth/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "common/strings.h"
#include "control/auth/jws.h"

namespace weft::control::auth {
namespace {

using nlohmann::json;

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

bool unbase64(const std::string& in, std::string* out) {
  return !in.empty() && absl::WebSafeBase64Unescape(in, out);
}

BnPtr bignum(const std::string& bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

// A public key from OSSL parameters.
identity::PkeyPtr fromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return identity::PkeyPtr(key);
}

absl::StatusOr<identity::PkeyPtr> rsaKey(const json& k) {
  std::string n, e;
  if (!unbase64(stringMember(k, "n"), &n) || !unbase64(stringMember(k, "e"), &e)) {
    return absl::InvalidArgumentError("n and e must be base64url");
  }
  BnPtr bn_n = bignum(n), bn_e = bignum(e);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  identity::PkeyPtr key = fromParams("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  if (!key) return absl::InvalidArgumentError("not a valid RSA public key");
  if (EVP_PKEY_get_bits(key.get()) < 2048) {
    return absl::InvalidArgumentError(
        weft::strCat("RSA key of ", EVP_PKEY_get_bits(key.get()), " bits; 2048 at least"));
  }
  return key;
}

absl::StatusOr<identity::PkeyPtr> ecKey(const json& k) {
  if (stringMember(k, "crv") != "P-256") {
    return absl::InvalidArgumentError(
        weft::strCat("curve '", stringMember(k, "crv"), "'; want P-256"));
  }
  std::string x, y;
  if (!unbase64(stringMember(k, "x"), &x) || !unbase64(stringMember(k, "y"), &y) ||
      x.size() != 32 || y.size() != 32) {
    return absl::InvalidArgumentError("x and y must be 32 bytes, base64url");
  }
  const std::string point = std::string(1, '\x04') + x + y;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  identity::PkeyPtr key = fromParams("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  if (!key) return absl::InvalidArgumentError("not a point on P-256");
  return key;
}

bool digestVerify(EVP_PKEY* key, std::string_view input, const unsigned char* sig, size_t sig_len) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, sig, sig_len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace

absl::StatusOr<Jwks> Jwks::parse(std::string_view text, std::string_view origin) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(weft::strCat(origin, ": ", why));
  };
  if (text.size() > kMaxJwksBytes) return bad("larger than 1 MiB");
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return bad("not a JWK Set (a JSON object with a \"keys\" array)");
  }
  if (doc["keys"].size() > kMaxJwksKeys) return bad("more than 100 keys");
  Jwks set;
  for (size_t i = 0; i < doc["keys"].size(); ++i) {
    const json& k = doc["keys"][i];
    if (!k.is_object()) return bad(weft::strCat("keys[", i, "]: not an object"));
    const std::string use = stringMember(k, "use");
    if (!use.empty() && use != "sig") continue;
    const std::string kty = stringMember(k, "kty");
    Jwk jwk;
    jwk.kid = stringMember(k, "kid");
    absl::StatusOr<identity::PkeyPtr> key = absl::InvalidArgumentError("");
    if (kty == "RSA") {
      jwk.alg = "RS256";
      key = rsaKey(k);
    } else if (kty == "EC") {
      jwk.alg = "ES256";
      key = ecKey(k);
    } else {
      continue;  // not a kind Kubernetes signs with
    }
    const std::string alg = stringMember(k, "alg");
    if (!alg.empty() && alg != jwk.alg) continue;
    if (!key.ok()) {
      return bad(weft::strCat("keys[", i, "] (kid '", jwk.kid, "'): ", key.status().message()));
    }
    jwk.key = std::move(*key);
    set.keys_.push_back(std::move(jwk));
  }
  if (set.keys_.empty()) return bad("no RS256 or ES256 signing key");
  return set;
}

const Jwk* Jwks::find(std::string_view kid, std::string_view alg) const {
  const Jwk* only = nullptr;
  size_t candidates = 0;
  for (const Jwk& k : keys_) {
    if (k.alg != alg) continue;
    if (!kid.empty() && k.kid == kid) return &k;
    ++candidates;
    only = &k;
  }
  return kid.empty() && candidates == 1 ? only : nullptr;
}

bool verifyJose(const Jwk& key, std::string_view input, std::string_view signature) {
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (key.alg == "RS256") return digestVerify(key.key.get(), input, sig, signature.size());
  if (key.alg != "ES256" || signature.size() != 64) return false;
  // JOSE carries r||s; OpenSSL verifies DER.
  ECDSA_SIG* ecdsa = ECDSA_SIG_new();
  ECDSA_SIG_set0(ecdsa, BN_bin2bn(sig, 32, nullptr), BN_bin2bn(sig + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(ecdsa, &der);
  ECDSA_SIG_free(ecdsa);
  const bool ok =
      der_len > 0 && digestVerify(key.key.get(), input, der, static_cast<size_t>(der_len));
  OPENSSL_free(der);
  return ok;
}

}  // namespace weft::control::auth
