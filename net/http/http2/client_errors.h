#pragma once

#include <string>

#include "net/asio.h"

namespace weft::http::http2 {

// Why an HTTP/2 client stream failed, distinguishable for the retry logic.
enum class ClientErrc {
  // The server did not process the request: RST_STREAM(REFUSED_STREAM), or the stream was above
  // a GOAWAY's last-stream-id or opened after a GOAWAY. Always safe to retry.
  kRefused = 1,
  // RST_STREAM with any other code, or the stream was cancelled locally.
  kReset,
  // The connection ended (read error, EOF, close()) before the response did.
  kConnectionClosed,
  // The response violated the protocol as far as the proxy needs it (no valid :status, a field
  // section over the header limit).
  kProtocol,
  // A WebSocket (extended CONNECT, RFC 8441) for a server that did not offer
  // SETTINGS_ENABLE_CONNECT_PROTOCOL. Nothing was sent.
  kNoExtendedConnect,
};

const boost::system::error_category& clientCategory();

inline error_code make_error_code(ClientErrc e) {
  return error_code(static_cast<int>(e), clientCategory());
}

// Whether `ec` says the request never reached the application (the refused-stream condition).
inline bool isRefused(const error_code& ec) { return ec == make_error_code(ClientErrc::kRefused); }

}  // namespace weft::http::http2

template <>
struct boost::system::is_error_code_enum<weft::http::http2::ClientErrc> : std::true_type {};
