#pragma once

// Translation between Beast's HTTP/1.1 messages and the codec-neutral heads. This is where
// HTTP/1-only concerns end: hop-by-hop headers, Host vs absolute-form targets, and framing.

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <string>

#include "absl/status/status.h"
#include "net/http/message.h"

namespace weft::http::http1 {

namespace bhttp = boost::beast::http;

// What the HTTP/1.1 codec itself needs from a parsed head, found while converting it.
struct HopInfo {
  bool keep_alive = false;       // as Beast's message::keep_alive()
  bool expect_continue = false;  // Expect: 100-continue (requests)
};

// Fills `out` from a parsed request header. Rejects what a proxy cannot forward (no Host, two
// Host headers, a Host other than an absolute-form target's authority, CONNECT, `*` but for
// OPTIONS, a target that is neither origin- nor absolute-form), with the reason.
// `hop`, when given, receives the head's hop-by-hop facts (also on failure).
absl::Status toRequestHead(const bhttp::request_header<>& in, RequestHead& out,
                           HopInfo* hop = nullptr);

// RFC 9112 §6.1, §6.3: a request's Transfer-Encoding must be chunked alone (`chunked`: the
// parser frames the body as chunked), and HTTP/1.0 has none. InvalidArgument (400, then close:
// the body's end is unknown) or Unimplemented (501, another coding before chunked).
absl::Status checkRequestFraming(const bhttp::request_header<>& in, bool chunked);

// Appends the request head for the upstream hop: request line with the origin-form target,
// Host, end-to-end headers, framing (Content-Length, or chunked for a streamed body), CRLF. A
// tunnel request (`upgrade`) gets Connection/Upgrade and no framing; a WebSocket one gets the
// Sec-WebSocket-Key and -Version an HTTP/2 client did not send.
void appendRequestHead(const RequestHead& in, std::string& out);

void toResponseHead(const bhttp::response_header<>& in, ResponseHead& out, HopInfo* hop = nullptr);

// Appends the response head. `body_allowed`: false for responses to HEAD and for 204/304,
// which carry no body; `keep_alive` false adds `Connection: close`. `chunked_allowed` false (an
// HTTP/1.0 client, RFC 9112 §6.1): a body of unknown length gets no Transfer-Encoding and ends
// with the connection.
void appendResponseHead(const ResponseHead& in, bool body_allowed, bool keep_alive,
                        std::string& out, bool chunked_allowed = true);

// Appends the 101 that opens the tunnel `request` asked for (its Upgrade protocol), with the
// Sec-WebSocket-Accept the request's key asks for when `in` lacks one.
void appendTunnelResponseHead(const ResponseHead& in, const RequestHead& request, std::string& out);

}  // namespace weft::http::http1
