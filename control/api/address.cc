#include "control/api/address.h"

#include <arpa/inet.h>

#include "common/strings.h"

namespace weft::api {

absl::StatusOr<HostPort> parseHostPort(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(weft::strCat("'", text, "' is not [ipv6]:port"));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(weft::strCat("'", text, "' has no port (want ip:port)"));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  uint32_t p = 0;
  if (!weft::parseUnsigned(port, &p) || p > 65535) {
    return absl::InvalidArgumentError(weft::strCat("'", text, "' has an invalid port"));
  }
  std::string h = canonicalIp(host);
  if (h.empty()) {
    return absl::InvalidArgumentError(weft::strCat("'", text, "': host must be an IP address"));
  }
  return HostPort{std::move(h), static_cast<uint16_t>(p)};
}

std::string canonicalIp(std::string_view text) {
  const std::string s(text);
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    return inet_ntop(AF_INET, buf, out, sizeof(out)) != nullptr ? std::string(out) : "";
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    return inet_ntop(AF_INET6, buf, out, sizeof(out)) != nullptr ? std::string(out) : "";
  }
  return "";
}

std::string addressKey(std::string_view canonical_ip, uint16_t port) {
  if (canonical_ip.find(':') != std::string_view::npos) {
    return weft::strCat("[", canonical_ip, "]:", port);
  }
  return weft::strCat(canonical_ip, ":", port);
}

}  // namespace weft::api
