#include "control/auth/admin_token.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/strings.h"
#include "control/auth/jws.h"
#include "runtime/atomic_file.h"

namespace weft::control::auth {

absl::StatusOr<AdminToken> AdminToken::loadOrCreate(const std::string& path) {
  auto text = runtime::readFile(path, 4096);
  if (text.ok()) {
    std::string token = *text;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    if (token.size() < 16) {
      return absl::DataLossError(weft::strCat(path, ": too short to be an admin token"));
    }
    return AdminToken(std::move(token));
  }
  if (!absl::IsNotFound(text.status())) return text.status();
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("cannot generate the admin token");
  }
  std::string token =
      "weft-admin-" + base64Url(std::string_view(reinterpret_cast<const char*>(bytes), 32));
  if (auto st = runtime::writeFileAtomic(path, token + "\n", 0600); !st.ok()) return st;
  return AdminToken(std::move(token));
}

std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c | 0x20) != kScheme[i] && !(c == ' ' && kScheme[i] == ' ')) return {};
  }
  std::string_view rest = authorization.substr(kScheme.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  return rest;
}

bool AdminToken::accepts(std::string_view authorization) const {
  const std::string_view presented = bearerToken(authorization);
  return presented.size() == token_.size() &&
         CRYPTO_memcmp(presented.data(), token_.data(), token_.size()) == 0;
}

}  // namespace weft::control::auth
