#pragma once

// The client side of a mesh connection, before any codec: a TCP connect and an mTLS handshake
// whose peer must present one SPIFFE identity. Each step's error says what failed, for the
// 503 a request gets: the connect (refused, timed out), the TLS handshake (the alert or the
// verification error), or the identity the peer presented.

#include <chrono>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/statusor.h"
#include "net/asio.h"
#include "net/tls_stream.h"

namespace weft::net {

// A TCP connection to `endpoint` within `timeout`, with TCP_NODELAY. Unavailable:
// "connect: Connection refused", "connect timed out after 250ms".
awaitable<absl::StatusOr<TcpStream>> dialTcp(Executor executor, const tcp::endpoint& endpoint,
                                             std::chrono::steady_clock::duration timeout);

// What a mesh connection offers by ALPN.
enum class MeshAlpn {
  kNone,    // nothing: HTTP/1.1
  kHttp,    // h2, then http/1.1
  kOpaque,  // only identity::kOpaqueProtocol; the peer must choose it
};

// The TLS client handshake on `stream` with `context` within `timeout` (offering `alpn`), then the
// peer's SPIFFE ID checked against `expected_identity`. Unavailable: "tls handshake: tlsv1 alert
// unknown ca", "tls handshake timed out"; PermissionDenied: "peer identity mismatch: presented …,
// expected …".
awaitable<absl::StatusOr<TlsStream>> handshakeMtls(TcpStream stream,
                                                   boost::asio::ssl::context& context,
                                                   std::string_view expected_identity,
                                                   MeshAlpn alpn,
                                                   std::chrono::steady_clock::duration timeout);

}  // namespace weft::net
