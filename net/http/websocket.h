#pragma once

// The WebSocket handshake fields (RFC 6455 §4) a codec fills in when it translates between an
// HTTP/1.1 Upgrade and an HTTP/2 extended CONNECT (RFC 8441 §5), which carries neither.

#include <string>
#include <string_view>

namespace weft::http::websocket {

inline constexpr std::string_view kProtocol = "websocket";

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string acceptFor(std::string_view key);

// A fresh Sec-WebSocket-Key: 16 random bytes, base64.
std::string newKey();

}  // namespace weft::http::websocket
