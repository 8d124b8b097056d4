#pragma once

// Translation between Beast's HTTP/1.1 messages and the codec-neutral heads. This is where
// HTTP/1-only concerns end: hop-by-hop headers, Host vs absolute-form targets, and framing.

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include "absl/status/status.h"
#include "proxy/http/message.h"

namespace weft::http::http1 {

namespace bhttp = boost::beast::http;

// Fills `out` from a parsed request header. Rejects what a proxy cannot forward (no Host,
// CONNECT, a target that is neither origin- nor absolute-form), with the reason.
absl::Status toRequestHead(const bhttp::request_header<>& in, RequestHead& out);

// Fills a request header for the upstream hop: origin-form target, Host, framing.
void toBeastRequest(const RequestHead& in, bhttp::request_header<>& out);

void toResponseHead(const bhttp::response_header<>& in, ResponseHead& out);

// `body_allowed`: false for responses to HEAD and for 1xx/204/304, which carry no body.
void toBeastResponse(const ResponseHead& in, bool body_allowed, bhttp::response_header<>& out);

}  // namespace weft::http::http1
