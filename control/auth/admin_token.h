#pragma once

// The operators' credential for weft-control's --api: a random bearer token written at first
// start to DIR/admin.token (0600) and kept after. weftctl reads it from there (--data-dir), from
// --token or from WEFT_TOKEN.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace weft::control::auth {

class AdminToken {
 public:
  // The token in `path`, created if missing.
  static absl::StatusOr<AdminToken> loadOrCreate(const std::string& path);
  explicit AdminToken(std::string token) : token_(std::move(token)) {}

  // Whether an Authorization header value is "Bearer <this token>" (compared in constant time).
  bool accepts(std::string_view authorization) const;

 private:
  std::string token_;
};

// The credential of "Bearer <credential>" (scheme case-insensitive), or empty.
std::string_view bearerToken(std::string_view authorization);

}  // namespace weft::control::auth
