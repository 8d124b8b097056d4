#include "control/auth/jws.h"

#include "absl/strings/escaping.h"
#include "common/strings.h"
#include "control/ca/refusal.h"

namespace weft::control::auth {
namespace {

absl::Status malformed(std::string_view why) {
  return refuse(absl::StatusCode::kUnauthenticated, "malformed_token",
                weft::strCat("malformed token: ", why));
}

bool decode(std::string_view part, std::string* out) {
  return absl::WebSafeBase64Unescape(absl::string_view(part.data(), part.size()), out);
}

}  // namespace

std::string stringMember(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

absl::Status tokenDenied(std::string_view reason, std::string_view message) {
  return refuse(absl::StatusCode::kUnauthenticated, reason, message);
}

std::string base64Url(std::string_view bytes) {
  return absl::WebSafeBase64Escape(absl::string_view(bytes.data(), bytes.size()));
}

absl::StatusOr<Jws> parseJws(std::string_view token) {
  if (token.size() > kMaxTokenBytes) {
    return malformed(weft::strCat(token.size(), " bytes; the limit is ", kMaxTokenBytes));
  }
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return malformed("want three base64url parts separated by '.'");
  }
  std::string header;
  std::string claims;
  Jws jws;
  if (!decode(token.substr(0, first), &header) ||
      !decode(token.substr(first + 1, second - first - 1), &claims) ||
      !decode(token.substr(second + 1), &jws.signature)) {
    return malformed("a part is not base64url");
  }
  jws.header = nlohmann::json::parse(header, nullptr, false);
  jws.claims = nlohmann::json::parse(claims, nullptr, false);
  if (!jws.header.is_object() || !jws.claims.is_object()) {
    return malformed("header and claims must be JSON objects");
  }
  jws.signing_input = std::string(token.substr(0, second));
  return jws;
}

bool verifyEdDsa(EVP_PKEY* key, std::string_view input, std::string_view signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string signEdDsa(nlohmann::json header, const nlohmann::json& claims, EVP_PKEY* key) {
  header["alg"] = "EdDSA";
  const std::string input = base64Url(header.dump()) + "." + base64Url(claims.dump());
  unsigned char sig[64];
  size_t sig_len = sizeof(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key);
  EVP_DigestSign(ctx, sig, &sig_len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  EVP_MD_CTX_free(ctx);
  return input + "." + base64Url(std::string_view(reinterpret_cast<const char*>(sig), sig_len));
}

}  // namespace weft::control::auth
