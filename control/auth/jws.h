#pragma once

// JSON Web Signatures in compact form (RFC 7515): header.payload.signature, each base64url
// without padding. Weft's join tokens are JWTs signed with EdDSA (Ed25519, RFC 8037); a
// Kubernetes projected ServiceAccount token (RS256/ES256) goes through the same parser.

#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace weft::control::auth {

inline constexpr size_t kMaxTokenBytes = 8 * 1024;

struct Jws {
  nlohmann::json header;
  nlohmann::json claims;
  std::string signing_input;  // "header.payload", as it arrived
  std::string signature;      // decoded
};

// Splits and decodes; refuses (reason malformed_token) anything that is not three base64url
// parts with JSON objects in the first two, or is longer than kMaxTokenBytes. The signature is
// not checked here.
absl::StatusOr<Jws> parseJws(std::string_view token);

// Whether `signature` over `input` verifies with `key` (Ed25519).
bool verifyEdDsa(EVP_PKEY* key, std::string_view input, std::string_view signature);

// header.payload.signature with `key` (Ed25519); "alg" is set to EdDSA.
std::string signEdDsa(nlohmann::json header, const nlohmann::json& claims, EVP_PKEY* key);

std::string base64Url(std::string_view bytes);

// object[name] when it is a string, else "" (a header field or claim read without throwing).
std::string stringMember(const nlohmann::json& object, const char* name);

// A token refused: Unauthenticated with its reason (control/ca/refusal.h).
absl::Status tokenDenied(std::string_view reason, std::string_view message);

}  // namespace weft::control::auth
