#pragma once

// Body streaming and connection-closing steps shared by the HTTP/1.1 server and client codecs.

#include <chrono>
#include <span>
#include <utility>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include "proxy/common/asio.h"
#include "proxy/common/deadline.h"
#include "proxy/http/codec.h"

namespace weft::http::http1 {

// Reads at least one byte of body (or the end of it) into `out` through a buffer_body parser.
template <typename Stream, typename Parser>
awaitable<BodyRead> readBodySome(Stream& stream, beast::flat_buffer& buffer, Parser& parser,
                                 std::span<char> out) {
  BodyRead r;
  while (!parser.is_done() && r.n == 0) {
    auto& body = parser.get().body();
    body.data = out.data();
    body.size = out.size();
    auto [ec, consumed] = co_await beast::http::async_read_some(stream, buffer, parser, kUseTuple);
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

inline awaitable<void> shutdownStream(TcpStream& stream, Deadline&) {
  error_code ignored;
  stream.shutdown(tcp::socket::shutdown_send, ignored);
  stream.close(ignored);
  co_return;
}

inline awaitable<void> shutdownStream(TlsStream& stream, Deadline& deadline) {
  auto& lowest = beast::get_lowest_layer(stream);
  if (lowest.is_open()) {
    deadline.arm(std::chrono::seconds(1));
    co_await stream.async_shutdown(kUseTuple);
    deadline.disarm();
  }
  error_code ignored;
  lowest.close(ignored);
}

// Half-closes, then discards what the peer still sends, for at most a second or 1 MiB, so the
// peer reads our last response before the connection goes away.
template <typename Stream>
awaitable<void> lingeringClose(Stream& stream, beast::flat_buffer& buffer, Deadline& deadline) {
  auto& lowest = beast::get_lowest_layer(stream);
  error_code ignored;
  lowest.shutdown(tcp::socket::shutdown_send, ignored);
  deadline.arm(std::chrono::seconds(1));
  size_t discarded = 0;
  while (discarded < (1u << 20)) {
    buffer.consume(buffer.size());
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(16384), kUseTuple);
    if (ec) break;
    discarded += n;
  }
  deadline.disarm();
  lowest.close(ignored);
}

}  // namespace weft::http::http1
