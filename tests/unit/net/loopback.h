#pragma once

// Helpers for the tests of the data-path streams: a connected pair of TCP sockets on 127.0.0.1,
// reading a stream to its end, and payloads that show misordered or lost bytes.

#include <array>
#include <string>

#include "net/asio.h"
#include "net/stream_io.h"

namespace weft::testutil {

// Connects `ours` to a fresh listener on 127.0.0.1 and accepts the other end into `theirs`.
inline void connectLoopback(asio::io_context& io, Socket& ours, Socket& theirs) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ours.connect(acceptor.local_endpoint());
  acceptor.accept(theirs);
}

// Reads from `stream` (a Socket or a TlsStream) until an error: what arrived goes to `out`, the
// error to `end`.
template <typename Stream>
awaitable<void> readAll(Stream& stream, std::string& out, error_code& end) {
  std::array<char, 16384> buffer;
  for (;;) {
    auto [ec, n] = co_await io::readSome(stream, asio::buffer(buffer));
    out.append(buffer.data(), n);
    if (ec) {
      end = ec;
      co_return;
    }
  }
}

// `size` bytes that repeat only every 251 bytes, starting at `seed`.
inline std::string pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 7 % 251);
  return s;
}

}  // namespace weft::testutil
