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

// HTTP/1.1 server side of a downstream connection, over a plain or TLS stream. Requests are
// handled one at a time in arrival order, so pipelined requests get their responses in order.
// Bodies stream in both directions through a caller-supplied buffer; nothing is held whole. The
// request body may be read while the response is written (full duplex).
template <typename Stream>
class ServerConnectionImpl final : public ServerConnection, public ServerStream {
 public:
  // `buffer` may hold bytes already read off the connection (by protocol detection): they are
  // parsed first.
  ServerConnectionImpl(Stream stream, DownstreamInfo info, StreamHandler& handler,
                       const Settings& settings, net::ConnectionStats& stats,
                       boost::beast::flat_buffer buffer = {});

  // ServerConnection
  awaitable<void> run() override;
  void drain() override;

  // ServerStream
  RequestHead& request() override { return request_; }
  const DownstreamInfo& downstream() const override { return info_; }
  awaitable<BodyRead> readRequestBody(std::span<char> buffer) override;
  void cancelRequestBody() override;
  bool requestBodyBuffered() const override {
    return buffer_.size() > 0 || (tunnel_ ? tunnel_in_end_ : parser_->is_done());
  }
  awaitable<error_code> sendResponseHead(const ResponseHead& head, bool flush) override;
  awaitable<error_code> sendResponseBody(std::span<const char> data, bool end) override;
  awaitable<error_code> sendResponseTrailers(const HeaderMap&) override {
    return sendResponseBody({}, true);
  }
  bool responseStarted() const override { return response_started_; }
  void setResetCallback(std::function<void()>) override {}

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

  awaitable<void> rejectMalformed(const error_code& ec);
  // A tunnel's client-to-app bytes, as they come; the end when the client half-closes.
  awaitable<BodyRead> readTunnel(std::span<char> buffer);
  awaitable<void> sendLocal(unsigned status, std::string_view reason);
  std::string bodyErrorText(const error_code& ec) const;
  awaitable<void> close();

  Stream stream_;
  // After stream_: they close its socket. The request body may be read while the response is
  // written (the pipeline reads it in a coroutine of its own), so each side has its own.
  Deadline deadline_;  // reads
  Deadline write_deadline_;
  DownstreamInfo info_;
  StreamHandler& handler_;
  const Settings& settings_;
  net::ConnectionStats& stats_;

  boost::beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  RequestHead request_;
  MessageWriter writer_;

  bool idle_ = true;
  bool draining_ = false;
  bool http10_ = false;  // the request in hand is HTTP/1.0: no chunked response
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool expect_continue_ = false;
  bool response_started_ = false;
  bool response_done_ = false;
  bool rejected_ = false;        // the codec answered a request itself and closes after it
  error_code body_error_;        // the request body broke HTTP/1.1's framing or a limit
  bool reading_body_ = false;    // a readRequestBody is in flight
  bool body_cancelled_ = false;  // the rest of the request body is not wanted
  // The request asks for a WebSocket: once the app accepts, the request body is the raw bytes
  // after the head and the response body goes out raw; the connection closes after it.
  bool tunnel_ = false;
  bool tunnel_in_end_ = false;  // the client half-closed its side of the tunnel
};

extern template class ServerConnectionImpl<TcpStream>;
extern template class ServerConnectionImpl<TlsStream>;

}  // namespace weft::http::http1
