#pragma once

#include <optional>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "net/asio.h"
#include "net/connection_stats.h"
#include "net/deadline.h"
#include "net/http/codec.h"
#include "net/http/http1/message_writer.h"
#include "net/http/http1/settings.h"
#include "net/tls_stream.h"

namespace weft::http::http1 {

// HTTP/1.1 client side of an upstream connection (to the local app, or to a peer sidecar over
// mTLS). One exchange at a time; reusable when the last one ended cleanly with keep-alive. The
// request body may be sent from one coroutine while another reads the response (full duplex).
template <typename Stream>
class ClientConnectionImpl final : public ClientConnection, public ClientStream {
 public:
  ClientConnectionImpl(Stream stream, const Settings& settings, net::ConnectionCounters& counters);

  // ClientConnection
  ClientStream& startStream() override;
  bool reusable() const override { return reusable_; }
  bool staleWhileIdle() override;
  void close() override;

  // ClientStream
  awaitable<error_code> sendRequestHead(const RequestHead& head, bool flush) override;
  awaitable<error_code> sendRequestBody(std::span<const char> data, bool end) override;
  awaitable<error_code> readResponseHead(ResponseHead& head) override;
  awaitable<BodyRead> readResponseBody(std::span<char> buffer) override;
  bool responseBodyBuffered() const override {
    return buffer_.size() > 0 || (tunnel_open_ ? tunnel_in_end_ : parser_->is_done());
  }
  const HeaderMap& responseTrailers() const override { return no_trailers_; }
  // A write still in flight may have put bytes on the socket already (it can yield to the
  // scheduler after writing), and the response may fail meanwhile: it counts as sent.
  bool requestSent() const override { return request_sent_ || writing_; }
  void abort() override { close(); }

 private:
  using Parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

  void finishIfDone();
  // An open tunnel's app-to-client bytes, as they come; the end when the app half-closes.
  awaitable<BodyRead> readTunnel(std::span<char> buffer);

  Stream stream_;
  // After stream_: they close its socket. The request body may be written while the response
  // is read (an app may answer before it has read the whole body), so each side has its own.
  Deadline read_deadline_;
  Deadline write_deadline_;
  const Settings& settings_;
  net::ConnectionStats stats_;
  boost::beast::flat_buffer buffer_;
  MessageWriter writer_;
  std::optional<Parser> parser_;
  HeaderMap no_trailers_;  // HTTP/1.1 responses' trailers are not forwarded
  bool head_request_ = false;
  bool awaiting_head_ = false;  // readResponseHead is waiting (maybe while the body uploads)
  bool request_sent_ = false;   // a write of the current request put bytes on the socket
  bool writing_ = false;        // a write of the current request is in flight
  bool request_done_ = false;
  bool keep_alive_ = false;
  bool reusable_ = false;
  bool tunnel_asked_ = false;  // the request is an Upgrade
  bool tunnel_open_ = false;   // the app answered 101: bodies are raw bytes both ways
  bool tunnel_in_end_ = false;
};

extern template class ClientConnectionImpl<TcpStream>;
extern template class ClientConnectionImpl<TlsStream>;

}  // namespace weft::http::http1
