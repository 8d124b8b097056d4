#pragma once

// Body streaming steps shared by the HTTP/1.1 server and client codecs (closing a connection:
// net/stream_close.h).

#include <chrono>
#include <span>
#include <string_view>
#include <utility>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>

#include "net/asio.h"
#include "net/deadline.h"
#include "net/http/codec.h"
#include "net/http/http1/errors.h"
#include "net/http/http1/settings.h"
#include "net/stream_close.h"
#include "net/stream_io.h"

namespace weft::http::http1 {

// The parser asked for more bytes of a chunked body while `buffer` holds what it could not take
// yet: a chunk's size line (maybe after the previous chunk's CRLF), or the last chunk's line and
// a trailer section. Too much of either is an error, before the buffer grows further.
template <typename Parser>
error_code checkChunkLimits(const Parser& parser, const beast::flat_buffer& buffer,
                            const ChunkLimits& limits) {
  if (limits.line_bytes == 0 || buffer.size() <= limits.line_bytes) return {};
  if (!parser.is_header_done() || !parser.chunked()) return {};
  std::string_view pending(static_cast<const char*>(buffer.data().data()), buffer.size());
  if (pending.starts_with("\r\n")) pending.remove_prefix(2);
  const size_t eol = pending.find("\r\n");
  if (eol == std::string_view::npos || eol > limits.line_bytes) return Errc::kChunkLineTooLong;
  if (limits.trailer_bytes != 0 && pending.size() - eol > limits.trailer_bytes) {
    return Errc::kTrailersTooLarge;
  }
  return {};
}

// Beast's http::async_read_some, as a plain loop in the caller's coroutine: what is buffered is
// parsed without a trip through the scheduler, and no composed-operation layers (work guards,
// handler binders, a posted completion) wrap each socket read. Parses what `buffer` holds; reads
// more while the parser needs more. Returns the bytes the parser consumed; `need_buffer` when a
// buffer_body is full; `end_of_stream` for an EOF before any byte of a message. `start` applies
// to the first read, and only when nothing is buffered (io::ReadStart).
template <typename Stream, typename Parser>
awaitable<std::pair<error_code, size_t>> readSome(Stream& stream, beast::flat_buffer& buffer,
                                                  Parser& parser,
                                                  io::ReadStart start = io::ReadStart::kTry,
                                                  const ChunkLimits& limits = {}) {
  error_code ec;
  size_t consumed = 0;
  bool parse = buffer.size() != 0;
  if (parse) start = io::ReadStart::kTry;
  for (;;) {
    if (parse) {
      size_t used = parser.put(buffer.data(), ec);
      consumed += used;
      buffer.consume(used);
      if (ec != beast::http::error::need_more) break;
      ec = checkChunkLimits(parser, buffer, limits);
      if (ec) break;
    }
    parse = true;
    size_t size = beast::read_size(buffer, 65536);
    if (size == 0) {
      ec = beast::http::error::buffer_overflow;
      break;
    }
    auto [read_ec, n] = co_await io::readSome(stream, buffer.prepare(size), start);
    start = io::ReadStart::kTry;
    buffer.commit(n);
    if (read_ec == asio::error::eof) {
      if (parser.got_some()) {
        parser.put_eof(ec);  // the message ends with the connection, or is cut short
      } else {
        ec = beast::http::error::end_of_stream;
      }
      break;
    }
    if (read_ec) {
      ec = read_ec;
      break;
    }
  }
  co_return std::pair{ec, consumed};
}

// Reads until the parser has the whole header (Beast's http::async_read_header).
template <typename Stream, typename Parser>
awaitable<std::pair<error_code, size_t>> readHeader(Stream& stream, beast::flat_buffer& buffer,
                                                    Parser& parser,
                                                    io::ReadStart start = io::ReadStart::kTry) {
  size_t consumed = 0;
  while (!parser.is_header_done()) {
    auto [ec, n] = co_await readSome(stream, buffer, parser, start);
    start = io::ReadStart::kTry;
    consumed += n;
    if (ec) co_return std::pair{ec, consumed};
  }
  co_return std::pair{error_code{}, consumed};
}

// Reads at least one byte of body (or the end of it) into `out` through a buffer_body parser.
template <typename Stream, typename Parser>
awaitable<BodyRead> readBodySome(Stream& stream, beast::flat_buffer& buffer, Parser& parser,
                                 std::span<char> out, const ChunkLimits& limits) {
  BodyRead r;
  while (!parser.is_done() && r.n == 0) {
    auto& body = parser.get().body();
    body.data = out.data();
    body.size = out.size();
    auto [ec, consumed] = co_await readSome(stream, buffer, parser, io::ReadStart::kTry, limits);
    (void)consumed;
    r.n = out.size() - body.size;
    if (ec == beast::http::error::need_buffer) ec = {};
    if (ec == beast::http::error::end_of_stream && parser.is_done()) ec = {};
    if (ec) {
      r.ec = ec;
      co_return r;
    }
  }
  r.end = parser.is_done();
  co_return r;
}

// One piece of a tunnel's bytes (after a 101) in one direction: what `buffer` still holds after
// the head, else one read bounded by `idle`. EOF is the direction's end (`end`, no error).
template <typename Stream>
awaitable<BodyRead> readTunnelSome(Stream& stream, beast::flat_buffer& buffer, std::span<char> out,
                                   Deadline& deadline, Deadline::Clock::duration idle) {
  if (buffer.size() > 0) {
    const size_t n = asio::buffer_copy(asio::buffer(out.data(), out.size()), buffer.data());
    buffer.consume(n);
    co_return BodyRead{{}, n, false};
  }
  deadline.arm(idle);
  auto [ec, n] = co_await io::readSome(stream, asio::buffer(out.data(), out.size()));
  deadline.disarm();
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    co_return BodyRead{{}, n, true};
  }
  co_return BodyRead{timedOut(deadline, ec), n, false};
}

}  // namespace weft::http::http1
