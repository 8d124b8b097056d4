#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace weft::api {

struct HostPort {
  std::string host;  // IP literal, without brackets
  uint16_t port = 0;
};

// Parses "1.2.3.4:80" or "[::1]:80". The host must be an IP literal.
absl::StatusOr<HostPort> parseHostPort(std::string_view text);

}  // namespace weft::api
