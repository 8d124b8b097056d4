#include "net/original_dst.h"

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace weft::net {

std::optional<tcp::endpoint> originalDestination(Socket& socket) {
  error_code ec;
  const tcp::endpoint local = socket.local_endpoint(ec);
  if (ec) return std::nullopt;
  sockaddr_storage storage{};
  socklen_t size = sizeof(storage);
  const bool v6 = local.address().is_v6() && !local.address().to_v6().is_v4_mapped();
  const int rc =
      v6 ? ::getsockopt(socket.native_handle(), SOL_IPV6, IP6T_SO_ORIGINAL_DST, &storage, &size)
         : ::getsockopt(socket.native_handle(), SOL_IP, SO_ORIGINAL_DST, &storage, &size);
  if (rc != 0) return std::nullopt;
  tcp::endpoint original;
  if (storage.ss_family == AF_INET && size >= sizeof(sockaddr_in)) {
    sockaddr_in sin{};
    std::memcpy(&sin, &storage, sizeof(sin));
    original = tcp::endpoint(asio::ip::address_v4(ntohl(sin.sin_addr.s_addr)), ntohs(sin.sin_port));
  } else if (storage.ss_family == AF_INET6 && size >= sizeof(sockaddr_in6)) {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, &storage, sizeof(sin6));
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &sin6.sin6_addr, bytes.size());
    original = tcp::endpoint(asio::ip::address_v6(bytes), ntohs(sin6.sin6_port));
  } else {
    return std::nullopt;
  }
  if (original == local) return std::nullopt;
  return original;
}

}  // namespace weft::net
