#pragma once

// TLS over a worker's socket, driven by readiness: OpenSSL reads from and writes to the socket
// itself (through a small BIO that calls recv/send), and the stream waits on the socket only when
// OpenSSL asks for more input or room. Compared with Asio's ssl::stream (a memory BIO pair fed
// by socket operations), a record is not copied between buffers, the error queue is not cleared
// around every call, and a read gathers every record already received into one completion.
//
// What callers see matches the Asio stream it replaces: failed handshakes and alerts are
// error_codes in Asio's ssl category (their message is OpenSSL's reason: "tlsv1 alert unknown
// ca"), a close_notify reads as asio::error::eof, a connection that ends without one as
// asio::ssl::error::stream_truncated, socket failures as system errors. Cancelling or closing
// the socket (next_layer()) ends a pending operation with operation_aborted.

#include <memory>
#include <span>
#include <tuple>

#include <openssl/ssl.h>

#include "net/asio.h"

namespace weft {

class TlsStream {
 public:
  enum class Role { kClient, kServer };

  // A TLS session on `socket` (connected, or to be connected through next_layer()) with the
  // settings of `context` (certificates, verification, ALPN).
  TlsStream(Socket socket, asio::ssl::context& context);
  TlsStream(const Executor& executor, asio::ssl::context& context);
  TlsStream(TlsStream&&) noexcept;
  TlsStream& operator=(TlsStream&&) noexcept;
  ~TlsStream();

  Executor get_executor() { return next_layer().get_executor(); }
  // The socket: for connecting, socket options, cancel and close (beast::get_lowest_layer).
  Socket& next_layer();
  SSL* native_handle();

  awaitable<std::tuple<error_code>> handshake(Role role);
  // Reads at least one byte: everything OpenSSL has decrypted or can decrypt from what has
  // arrived, up to the buffer's size.
  awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer buffer);
  awaitable<std::tuple<error_code, size_t>> writeAll(asio::const_buffer buffer);
  // Writes all of `buffers`; small ones together, as one record.
  awaitable<std::tuple<error_code, size_t>> writeAll(std::span<const asio::const_buffer> buffers);
  // Writes all of `buffer` as far as the socket takes it now, without waiting: its size, or 0
  // with `ec` set: would_block when the socket is full (writeAll() must then be given the same
  // bytes: OpenSSL has sent part of the record), or why it failed.
  size_t tryWrite(asio::const_buffer buffer, error_code& ec);
  // Sends close_notify and waits for the peer's (as Asio's async_shutdown does).
  awaitable<std::tuple<error_code>> shutdown();

  struct Core;  // defined in tls_stream.cc

 private:
  awaitable<error_code> write(const char* data, size_t size);

  std::unique_ptr<Core> core_;  // on the heap: OpenSSL's BIO points at it across moves
};

}  // namespace weft
