#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace weft::api {

struct HostPort {
  std::string host;  // IP literal, without brackets, canonical (canonicalIp)
  uint16_t port = 0;
};

// Parses "1.2.3.4:80" or "[::1]:80". The host must be an IP literal; it comes back canonical,
// so two spellings of one address compare equal.
absl::StatusOr<HostPort> parseHostPort(std::string_view text);

// The canonical text of an IPv4 or IPv6 literal (inet_ntop's: "::1" for "0:0::1"), so that two
// spellings of one address compare equal; "" when `text` is no IP literal.
std::string canonicalIp(std::string_view text);

// "ip:port", or "[ip]:port" for IPv6: the key an address is looked up by.
std::string addressKey(std::string_view canonical_ip, uint16_t port);

}  // namespace weft::api
