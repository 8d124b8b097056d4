#pragma once

#include <optional>

#include "net/asio.h"

namespace weft::net {

// Where the client of an accepted connection meant to go, when an iptables REDIRECT (or DNAT)
// sent the connection here instead: the address conntrack recorded before the rewrite
// (SO_ORIGINAL_DST, IP6T_SO_ORIGINAL_DST for IPv6). nullopt when the connection was not
// redirected: the lookup fails (no conntrack entry, no NAT module) or yields this socket's own
// local address, as it does for a client that dialled the listener itself.
std::optional<tcp::endpoint> originalDestination(Socket& socket);

}  // namespace weft::net
