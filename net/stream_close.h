#pragma once

// Ending a connection politely, for every codec over a TcpStream or a TlsStream: a TLS
// close_notify, or a half-close that lets the peer read our last bytes first.

#include <algorithm>
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

// Half-closes, then discards what the peer still sends until it closes, goes quiet for a
// second, or five seconds have passed, so the peer reads our last response before the
// connection goes away (nginx's lingering close, with shorter bounds). A byte budget would not
// do: a client uploading over loopback sends megabytes before it reads the answer, and a close
// with those bytes unread resets the connection and destroys the answer in the client's buffer.
template <typename Stream>
awaitable<void> lingeringClose(Stream& stream, beast::flat_buffer& buffer, Deadline& deadline) {
  using Clock = Deadline::Clock;
  constexpr Clock::duration kQuiet = std::chrono::seconds(1);
  constexpr Clock::duration kTotal = std::chrono::seconds(5);
  auto& lowest = beast::get_lowest_layer(stream);
  error_code ignored;
  lowest.shutdown(tcp::socket::shutdown_send, ignored);
  const auto end = Clock::now() + kTotal;
  for (auto now = Clock::now(); now < end; now = Clock::now()) {
    deadline.arm(std::min(kQuiet, end - now));
    buffer.consume(buffer.size());
    auto [ec, n] = co_await io::readSome(stream, buffer.prepare(16384));
    if (ec) break;
  }
  deadline.disarm();
  lowest.close(ignored);
}

}  // namespace weft::io
