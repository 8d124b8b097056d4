#pragma once

#include "net/asio.h"

namespace weft::http::http1 {

// Limits the HTTP/1.1 codecs enforce on top of Beast's parser.
enum class Errc {
  // A chunked body's size line (size and extensions) exceeded Settings::max_chunk_line_bytes.
  kChunkLineTooLong = 1,
  // A chunked body's trailer section exceeded Settings::max_header_bytes.
  kTrailersTooLarge,
  // A response status below 100 (Beast's parser takes any three digits).
  kBadStatus,
};

const boost::system::error_category& errorCategory();

inline error_code make_error_code(Errc e) {
  return error_code(static_cast<int>(e), errorCategory());
}

// Whether `ec` says the peer's message broke HTTP/1.1's syntax or a limit (rather than the
// connection failing): Beast's parse errors and the codec's own limits.
bool isMalformed(const error_code& ec);

}  // namespace weft::http::http1

template <>
struct boost::system::is_error_code_enum<weft::http::http1::Errc> : std::true_type {};
