#pragma once

// ALPN, both sides, in one place: which application protocols a mesh TLS connection may speak
// and in what order of preference ("h2", then "http/1.1").

#include <openssl/ssl.h>

namespace weft::identity {

// Client side: offers h2, then http/1.1 (before the handshake).
void offerAlpn(SSL* ssl);
// Client side: offers only kOpaqueProtocol, for a TCP stream the peer sidecar relays as bytes
// to its app (traffic that is not HTTP, tunnelled through mesh mTLS).
void offerOpaque(SSL* ssl);
inline constexpr char kOpaqueProtocol[] = "weft-opaque/1";

// Server side: picks the first of our protocols the client offers; a client that offers
// neither goes on without ALPN (HTTP/1.1).
void selectAlpnOnAccept(SSL_CTX* ctx);

// Whether ALPN chose HTTP/2 ("h2") on an established TLS connection.
bool negotiatedHttp2(const SSL* ssl);
// Whether ALPN chose kOpaqueProtocol.
bool negotiatedOpaque(const SSL* ssl);

}  // namespace weft::identity
