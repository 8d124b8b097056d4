#pragma once

// Connections that iptables (weft-proxy init) redirected to the listeners, which the app and its
// callers never addressed to the proxy: routed by where they were going (SO_ORIGINAL_DST).

#include <string>

#include "net/asio.h"
#include "net/connection_stats.h"
#include "net/http/codec.h"
#include "net/tls_stream.h"
#include "proxy/context/worker_context.h"

namespace weft::listener {

// Outbound, from the app to `original`:
//   - a Service's address or one of its endpoints, speaking HTTP/1 or HTTP/2 (detected within
//     --detect-timeout): the HTTP pipeline, routed by `original` rather than the Host header;
//   - a Service's, anything else (TLS the app speaks itself, another protocol, silence, an
//     --opaque-ports port): mTLS to one of its endpoints' sidecars, offering only ALPN
//     weft-opaque/1, and the bytes relayed;
//   - anything outside the mesh: relayed as the app sent it to `original` (no mTLS).
awaitable<void> serveInterceptedOutbound(WorkerContext& ctx, TcpStream stream,
                                         tcp::endpoint original, http::StreamHandler& pipeline);

// Inbound, before the mTLS handshake, a connection redirected on its way to `original`: true
// when it starts like TLS and goes on to the handshake. A plaintext one on a --permissive-ports
// port is relayed to `original` here (an AuthorizationPolicy of this Service must admit
// unauthenticated callers); on any other port it is refused, and said so in the log.
awaitable<bool> screenInbound(WorkerContext& ctx, TcpStream& stream, const tcp::endpoint& remote,
                              const tcp::endpoint& original);

// Inbound, after an mTLS handshake that chose ALPN weft-opaque/1: the caller `peer` must be
// admitted by this Service's AuthorizationPolicies as a connection (rules without `to`); the
// bytes are then relayed to `app`.
awaitable<void> relayInboundOpaque(WorkerContext& ctx, TlsStream& stream,
                                   net::ConnectionStats& stats, const std::string& peer,
                                   const tcp::endpoint& app);

}  // namespace weft::listener
