#include "proxy/admin/admin_access.h"

namespace weft::admin {
namespace {

bool isLoopbackV4(const asio::ip::address_v4& address) { return (address.to_uint() >> 24) == 127; }

}  // namespace

bool isHealthEndpoint(std::string_view path) {
  return path == "/live" || path == "/ready" || path == "/metrics";
}

bool isLoopback(const asio::ip::address& address) {
  if (address.is_v4()) return isLoopbackV4(address.to_v4());
  const asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_loopback()) return true;
  return v6.is_v4_mapped() && isLoopbackV4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
}

bool mayRead(std::string_view path, const asio::ip::address& peer,
             config::AdminDebugAccess access) {
  return isHealthEndpoint(path) || access == config::AdminDebugAccess::kAny || isLoopback(peer);
}

}  // namespace weft::admin
