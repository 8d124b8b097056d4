#pragma once

// Feeds fuzz input to a Beast HTTP/1.1 parser the way the codecs' readSome does off a socket:
// in small pieces (their sizes taken from the input), parsing what is buffered, and checking
// the chunk limits whenever the parser asks for more. Tracks the most bytes ever held unparsed,
// which the limits must bound.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "net/http/http1/stream_ops.h"

namespace weft::fuzz {

struct Fed {
  boost::system::error_code ec;  // what stopped parsing (none: done, or the input ran out)
  size_t max_held = 0;           // most bytes buffered but not yet taken by the parser
  size_t max_piece = 0;          // the largest piece read at once
};

// Pieces of 1 to 97 bytes, larger for a large input (so that a 200 KB input is not 4,000 reads).
inline size_t pieceSize(uint8_t seed, size_t size) { return 1 + seed % 97 + size / 256; }

// The limits the codecs parse with: a 64 KiB head, 4 KiB chunk lines, 64 KiB trailers.
inline constexpr size_t kHeaderLimit = 64 * 1024;
inline constexpr http::http1::ChunkLimits kChunkLimits{4096, kHeaderLimit};

// A parser set up as the codecs set theirs up.
template <typename Parser>
void configure(Parser& parser) {
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);
}

// Whether what waited unparsed stayed within the header limit, or the chunk line and trailer
// limits, plus the one read that took it over.
inline bool heldWithinLimits(const Fed& fed) {
  const size_t bound =
      std::max(kHeaderLimit, kChunkLimits.line_bytes + kChunkLimits.trailer_bytes + 2);
  return fed.max_held <= bound + fed.max_piece;
}

template <typename Parser>
Fed feedHttp1(Parser& parser, const uint8_t* data, size_t size,
              const http::http1::ChunkLimits& limits) {
  namespace bhttp = boost::beast::http;
  Fed fed;
  boost::beast::flat_buffer buffer;
  char body[512];
  size_t off = 0;
  for (;;) {
    if (parser.is_header_done()) {
      parser.get().body().data = body;
      parser.get().body().size = sizeof(body);
    }
    if (buffer.size() > 0) {
      boost::system::error_code ec;
      buffer.consume(parser.put(buffer.data(), ec));
      if (ec == bhttp::error::need_buffer) continue;
      if (!ec && !parser.is_done()) continue;  // the head, then the body
      if (ec && ec != bhttp::error::need_more) {
        fed.ec = ec;
        return fed;
      }
      if (!ec) return fed;  // done
      if (auto limit = http::http1::checkChunkLimits(parser, buffer, limits)) {
        fed.ec = limit;
        return fed;
      }
      fed.max_held = std::max(fed.max_held, buffer.size());
    }
    if (off >= size) return fed;
    const size_t n = std::min<size_t>(size - off, pieceSize(data[off], size));
    fed.max_piece = std::max(fed.max_piece, n);
    auto copied = boost::asio::buffer_copy(buffer.prepare(n), boost::asio::buffer(data + off, n));
    buffer.commit(copied);
    off += n;
  }
}

}  // namespace weft::fuzz
