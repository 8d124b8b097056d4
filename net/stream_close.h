#pragma once

// Ending a connection politely, for every codec over a TcpStream or a TlsStream: a TLS
// close_notify, or a half-close that lets the peer read our last bytes first.

#include <chrono>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "net/asio.h"
#include "net/deadline.h"
#include "net/stream_io.h"
#include "net/tls_stream.h"

namespace weft::io {

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
    co_await stream.shutdown();
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
    auto [ec, n] = co_await io::readSome(stream, buffer.prepare(16384));
    if (ec) break;
    discarded += n;
  }
  deadline.disarm();
  lowest.close(ignored);
}

}  // namespace weft::io
