#pragma once

// Reading and writing the data-path streams (a bare socket, or TlsStream over one) from codec
// code that is generic over them.
//
// Both try the operation first and wait on the socket only when it would block, and an
// operation that did not wait returns to its caller directly. Asio's own async_read_some and
// async_write would hand even an immediate result to the scheduler, which first polls the
// reactor again (an epoll_wait) before the caller resumes: several per proxied request. A
// worker-wide budget (InlineBudget) makes every 16th immediate result go through the scheduler,
// so a connection whose data is always there cannot keep its worker from the others.

#include <span>
#include <tuple>

#include "net/asio.h"
#include "net/tls_stream.h"

namespace weft::io {

// kWaitFirst: the caller knows the socket has nothing yet (it has just answered a request and
// reads the next one), so the read waits for data before it tries: no recv that finds nothing
// between the answer and the worker's sleep, when the woken client may be waiting for this
// vCPU. Data that is already there is reported by the wait at once. A TlsStream tracks this
// itself (its last recv came back short) and takes no hint.
enum class ReadStart { kTry, kWaitFirst };

awaitable<std::tuple<error_code, size_t>> readSome(Socket& stream, asio::mutable_buffer buffer,
                                                   ReadStart start = ReadStart::kTry);
// Writes all of `buffers`, which must outlive the operation.
awaitable<std::tuple<error_code, size_t>> writeAll(Socket& stream,
                                                   std::span<const asio::const_buffer> buffers);
awaitable<std::tuple<error_code, size_t>> writeAll(Socket& stream, asio::const_buffer buffer);

// Writes what the socket takes now, without waiting: the bytes written, with would_block when
// it took none of them (or not all, on a TlsStream). What is left must be written next,
// unchanged (OpenSSL may have sent part of a record).
size_t tryWrite(Socket& stream, asio::const_buffer buffer, error_code& ec);
bool wouldBlock(const error_code& ec);

// Once a socket has waited to write (a connect does), Asio keeps EPOLLOUT in its epoll
// registration and re-arms it with every later wait, so each wait to read on a writable socket
// also reports an EPOLLOUT event that nobody waits for: one more pass of the reactor per read.
// Registers the socket afresh, for reads only; a later wait to write adds EPOLLOUT again.
error_code dropWriteInterest(Socket& socket);

inline auto readSome(TlsStream& stream, asio::mutable_buffer buffer, ReadStart = ReadStart::kTry) {
  return stream.readSome(buffer);
}
inline auto writeAll(TlsStream& stream, std::span<const asio::const_buffer> buffers) {
  return stream.writeAll(buffers);
}
inline auto writeAll(TlsStream& stream, asio::const_buffer buffer) {
  return stream.writeAll(buffer);
}

inline size_t tryWrite(TlsStream& stream, asio::const_buffer buffer, error_code& ec) {
  return stream.tryWrite(buffer, ec);
}

}  // namespace weft::io
