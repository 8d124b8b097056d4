#include "net/http/http1/server_codec.h"
#include "common/strings.h"

#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include "net/http/http1/convert.h"
#include "net/http/http1/errors.h"
#include "net/http/http1/stream_ops.h"
#include "net/http/local_reply.h"
#include "net/http/websocket.h"
#include "net/log.h"

namespace weft::http::http1 {
namespace bhttp = boost::beast::http;

template <typename Stream>
ServerConnectionImpl<Stream>::ServerConnectionImpl(Stream stream, DownstreamInfo info,
                                                   StreamHandler& handler, const Settings& settings,
                                                   net::ConnectionStats& stats,
                                                   beast::flat_buffer buffer)
    : stream_(std::move(stream)),
      deadline_(beast::get_lowest_layer(stream_)),
      write_deadline_(beast::get_lowest_layer(stream_)),
      info_(std::move(info)),
      handler_(handler),
      settings_(settings),
      stats_(stats),
      buffer_(std::move(buffer)) {
  buffer_.reserve(kReadBufferBytes);
}

template <typename Stream>
awaitable<void> ServerConnectionImpl<Stream>::run() {
  // The first request usually came with the connection. A later one is sent only after the
  // client has read the response before it, unless it is pipelined (and then buffered here).
  io::ReadStart start = io::ReadStart::kTry;
  for (;;) {
    if (draining_) break;
    idle_ = true;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(settings_.max_header_bytes));
    parser_->body_limit(boost::none);  // bodies stream through; no size cap on the proxy
    // Cancelled rather than closed at the deadline: a client that sent part of a header gets
    // its 408.
    deadline_.arm(settings_.idle_timeout, Deadline::OnExpiry::kCancel);
    auto [read_ec, n] = co_await readHeader(stream_, buffer_, *parser_, start);
    start = io::ReadStart::kWaitFirst;
    deadline_.disarm();
    const error_code ec = timedOut(deadline_, read_ec);
    idle_ = false;
    stats_.read(n);
    if (ec) {
      co_await rejectMalformed(ec);
      break;
    }

    request_ = RequestHead{};
    response_started_ = response_done_ = false;
    body_error_ = {};
    body_cancelled_ = false;
    const auto& msg = parser_->get();
    head_request_ = msg.method() == bhttp::verb::head;
    http10_ = msg.version() < 11;
    // A body whose end is unknown would be read as the next request (smuggling): refuse it
    // and close.
    if (auto framing = checkRequestFraming(msg.base(), parser_->chunked()); !framing.ok()) {
      keep_alive_ = false;
      const std::string reason(weft::sv(framing.message()));
      co_await sendLocal(framing.code() == absl::StatusCode::kUnimplemented ? 501 : 400, reason);
      break;
    }
    // WebSocket becomes a tunnel. An Upgrade the mesh cannot carry is refused in words, not
    // dropped for the app to puzzle over. h2c is ignored instead (RFC 9110 §7.8 lets a server do
    // that): the request is served as HTTP/1.1.
    tunnel_ = false;
    tunnel_in_end_ = false;
    if (parser_->upgrade()) {
      const std::string_view protocol = weft::trim(msg[bhttp::field::upgrade]);
      if (weft::equalsIgnoreCase(protocol, websocket::kProtocol)) {
        tunnel_ = true;
      } else if (!weft::equalsIgnoreCase(protocol, "h2c")) {
        keep_alive_ = false;
        const std::string reason =
            weft::strCat("Upgrade '", protocol, "' is not supported through the mesh");
        co_await sendLocal(501, reason);
        break;
      }
    }
    HopInfo hop;
    auto st = toRequestHead(msg.base(), request_, &hop);
    keep_alive_ = hop.keep_alive;
    expect_continue_ = hop.expect_continue;
    if (!st.ok()) {
      keep_alive_ = false;
      const std::string reason(weft::sv(st.message()));
      co_await sendLocal(st.code() == absl::StatusCode::kUnimplemented ? 405 : 400, reason);
      break;
    }
    auto length = parser_->content_length();
    request_.body.length = length ? std::optional<uint64_t>(*length) : std::nullopt;
    request_.body.present = !parser_->is_done();
    if (tunnel_) {
      // RFC 6455 §4.1: a GET; its body would come before the tunnel's bytes.
      keep_alive_ = false;
      if (msg.method() != bhttp::verb::get || request_.body.present) {
        co_await sendLocal(400, "a WebSocket upgrade must be a GET request without a body");
        break;
      }
      request_.upgrade = std::string(websocket::kProtocol);
      request_.body = Body{.present = true, .length = std::nullopt};
    }

    co_await handler_.handle(*this);
    if (body_error_ && !response_started_) {
      // The handler gave up on a body that broke the framing: the client still gets an answer.
      keep_alive_ = false;
      co_await sendLocal(400, bodyErrorText(body_error_));
      break;
    }
    // The connection carries another request only if this exchange ended cleanly on both sides.
    if (!response_done_ || !parser_->is_done() || !keep_alive_) break;
  }
  co_await close();
}

template <typename Stream>
void ServerConnectionImpl<Stream>::drain() {
  draining_ = true;
  if (idle_ && buffer_.size() == 0) {
    error_code ignored;
    beast::get_lowest_layer(stream_).cancel(ignored);
  }
}

template <typename Stream>
awaitable<void> ServerConnectionImpl<Stream>::rejectMalformed(const error_code& ec) {
  // A peer that leaves between requests, or an idle connection timing out, is not an error.
  bool quiet_end = ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                   ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
                   ec == asio::ssl::error::stream_truncated ||
                   (ec == beast::error::timeout && buffer_.size() == 0);
  if (quiet_end) co_return;
  keep_alive_ = false;
  if (ec == beast::error::timeout) {
    co_await sendLocal(408, "request header not received before the read deadline");
  } else if (ec == bhttp::error::header_limit) {
    const std::string reason =
        weft::strCat("request header larger than ", settings_.max_header_bytes, " bytes");
    co_await sendLocal(431, reason);
  } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() ||
             ec == bhttp::error::buffer_overflow) {
    const std::string reason = weft::strCat("malformed HTTP/1.1 request: ", ec.message());
    co_await sendLocal(400, reason);
  }
}

template <typename Stream>
std::string ServerConnectionImpl<Stream>::bodyErrorText(const error_code& ec) const {
  if (ec == Errc::kChunkLineTooLong) {
    return weft::strCat("malformed request body: chunk size line longer than ",
                        settings_.max_chunk_line_bytes, " bytes");
  }
  if (ec == Errc::kTrailersTooLarge) {
    return weft::strCat("malformed request body: trailers larger than ", settings_.max_header_bytes,
                        " bytes");
  }
  return weft::strCat("malformed request body: ", ec.message());
}

template <typename Stream>
awaitable<void> ServerConnectionImpl<Stream>::sendLocal(unsigned status, std::string_view reason) {
  log::warn("downstream request rejected: status=", status, " reason=\"", reason, "\"");
  rejected_ = true;
  std::string body;
  const ResponseHead head = localReply(status, reason, body);
  if (auto ec = co_await sendResponseHead(head, false); ec) co_return;
  co_await sendResponseBody(body, true);
}

template <typename Stream>
awaitable<BodyRead> ServerConnectionImpl<Stream>::readRequestBody(std::span<char> buffer) {
  if (body_cancelled_) co_return BodyRead{asio::error::operation_aborted, 0, false};
  if (tunnel_) co_return co_await readTunnel(buffer);
  if (expect_continue_) {
    expect_continue_ = false;
    // Once the response has started, the client is told no more (RFC 9110 §10.1.1).
    if (!response_started_) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      write_deadline_.arm(settings_.read_timeout);
      auto [ec, n] = co_await io::writeAll(stream_, asio::buffer(kContinue));
      write_deadline_.disarm();
      stats_.wrote(n);
      if (ec) co_return BodyRead{timedOut(write_deadline_, ec), 0, false};
    }
  }
  deadline_.arm(settings_.read_timeout);
  reading_body_ = true;
  BodyRead r = co_await readBodySome(stream_, buffer_, *parser_, buffer, settings_.chunkLimits());
  reading_body_ = false;
  deadline_.disarm();
  r.ec = timedOut(deadline_, r.ec);
  if (body_cancelled_ && r.ec) r.ec = asio::error::operation_aborted;
  stats_.read(r.n);
  if (isMalformed(r.ec)) body_error_ = r.ec;
  co_return r;
}

template <typename Stream>
awaitable<BodyRead> ServerConnectionImpl<Stream>::readTunnel(std::span<char> buffer) {
  // The pipeline reads only once the app has accepted the upgrade: what the client sent after
  // its request head (a pipelined request, say) never reached an app that refused it.
  if (tunnel_in_end_) co_return BodyRead{{}, 0, true};
  reading_body_ = true;
  BodyRead r =
      co_await readTunnelSome(stream_, buffer_, buffer, deadline_, settings_.tunnel_idle_timeout);
  reading_body_ = false;
  stats_.read(r.n);
  tunnel_in_end_ = r.end;  // the client is done sending; the other direction goes on
  if (body_cancelled_ && r.ec) r.ec = asio::error::operation_aborted;
  co_return r;
}

template <typename Stream>
void ServerConnectionImpl<Stream>::cancelRequestBody() {
  body_cancelled_ = true;
  // Only a read waits here now (the response is complete): cancel it. The unread rest is
  // drained, briefly, when the connection closes.
  if (reading_body_) {
    error_code ignored;
    beast::get_lowest_layer(stream_).cancel(ignored);
  }
}

template <typename Stream>
awaitable<error_code> ServerConnectionImpl<Stream>::sendResponseHead(const ResponseHead& head,
                                                                     bool flush) {
  response_started_ = true;
  // A request body left unread cannot be skipped safely: say so, and close after this response.
  if (draining_ || !parser_ || !parser_->is_done()) keep_alive_ = false;
  bool body_allowed = !head_request_ && head.status != 204 && head.status != 304;
  bool has_body = head.body.present && body_allowed;
  // No Transfer-Encoding to an HTTP/1.0 client (RFC 9112 §6.1): a body of unknown length ends
  // with the connection instead.
  if (http10_ && has_body && !head.body.length) keep_alive_ = false;
  if (tunnel_ && head.status == kTunnelOpen) {
    writer_.startTunnelResponse(head, request_);
  } else {
    writer_.startResponse(head, body_allowed, keep_alive_, !http10_);
  }
  // Held back, the head goes out with the first body bytes in one write.
  if (!flush && has_body) co_return error_code{};
  write_deadline_.arm(settings_.read_timeout);
  auto [write_ec, n] = co_await writer_.write(stream_, {}, !has_body);
  write_deadline_.disarm();
  const error_code ec = timedOut(write_deadline_, write_ec);
  stats_.wrote(n);
  if (!ec && !has_body) response_done_ = true;
  co_return ec;
}

template <typename Stream>
awaitable<error_code> ServerConnectionImpl<Stream>::sendResponseBody(std::span<const char> data,
                                                                     bool end) {
  if (response_done_) co_return error_code{};
  write_deadline_.arm(settings_.read_timeout);
  auto [write_ec, n] = co_await writer_.write(stream_, data, end);
  write_deadline_.disarm();
  const error_code ec = timedOut(write_deadline_, write_ec);
  stats_.wrote(n);
  if (!ec && end) response_done_ = true;
  co_return ec;
}

template <typename Stream>
awaitable<void> ServerConnectionImpl<Stream>::close() {
  auto& lowest = beast::get_lowest_layer(stream_);
  if ((rejected_ || tunnel_ || (parser_ && !parser_->is_done())) && lowest.is_open()) {
    // Unread request bytes (a body, whatever follows a request refused for its framing, or a
    // tunnel's) would turn our close into a reset that can destroy the response in flight: stop
    // sending, then discard what the client still sends, briefly.
    co_await io::lingeringClose(stream_, buffer_, deadline_);
  } else {
    co_await io::shutdownStream(stream_, deadline_);
  }
}

template class ServerConnectionImpl<TcpStream>;
template class ServerConnectionImpl<TlsStream>;

}  // namespace weft::http::http1
