#pragma once

// Opaque TCP: the bytes of one connection copied to another and back, as they come, for
// traffic the proxy does not parse (a destination outside the mesh, a server-speaks-first
// protocol, TLS the app originates itself).

#include <chrono>

#include "net/asio.h"
#include "net/connection_stats.h"
#include "net/tls_stream.h"

namespace weft::net {

struct RelayResult {
  uint64_t a_to_b = 0;  // bytes read from a and written to b
  uint64_t b_to_a = 0;
  error_code error;  // the first failure in either direction (none when both ended cleanly)
};

// Copies a → b and b → a until both directions have ended. A direction ends when its source
// ends (EOF; for TLS also a close without close_notify), which half-closes the other side
// (shutdown of its send direction), so a request-then-half-close client still gets its answer.
// Any failure (a reset, a write error) or a direction without a byte for `idle_timeout` closes
// both connections. Every byte is accounted in the streams' stats as it passes.
awaitable<RelayResult> relay(TcpStream& a, ConnectionStats& a_stats, TcpStream& b,
                             ConnectionStats& b_stats,
                             std::chrono::steady_clock::duration idle_timeout);
awaitable<RelayResult> relay(TcpStream& a, ConnectionStats& a_stats, TlsStream& b,
                             ConnectionStats& b_stats,
                             std::chrono::steady_clock::duration idle_timeout);
awaitable<RelayResult> relay(TlsStream& a, ConnectionStats& a_stats, TcpStream& b,
                             ConnectionStats& b_stats,
                             std::chrono::steady_clock::duration idle_timeout);

}  // namespace weft::net
