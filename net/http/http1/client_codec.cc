#include "net/http/http1/client_codec.h"

#include <sys/socket.h>

#include <type_traits>

#include "net/http/http1/convert.h"
#include "net/http/http1/errors.h"
#include "net/http/http1/stream_ops.h"

namespace weft::http::http1 {
namespace bhttp = boost::beast::http;
namespace {

// Whether a write that reported `n` bytes and `ec` may have put bytes on the wire. A plain
// socket's count is exact; a failed TLS write reports 0 even if part of a record went out.
template <typename Stream>
bool mayHaveSent(const error_code& ec, size_t n) {
  if constexpr (std::is_same_v<Stream, TcpStream>) {
    return n > 0;
  } else {
    return n > 0 || ec;
  }
}

}  // namespace

template <typename Stream>
ClientConnectionImpl<Stream>::ClientConnectionImpl(Stream stream, const Settings& settings,
                                                   net::ConnectionCounters& counters)
    : stream_(std::move(stream)),
      read_deadline_(beast::get_lowest_layer(stream_)),
      write_deadline_(beast::get_lowest_layer(stream_)),
      settings_(settings),
      stats_(counters) {
  buffer_.reserve(kReadBufferBytes);
}

template <typename Stream>
ClientStream& ClientConnectionImpl<Stream>::startStream() {
  reusable_ = false;
  request_sent_ = false;
  request_done_ = false;
  keep_alive_ = false;
  tunnel_asked_ = tunnel_open_ = tunnel_in_end_ = false;
  parser_.reset();
  return *this;
}

template <typename Stream>
bool ClientConnectionImpl<Stream>::staleWhileIdle() {
  auto& socket = beast::get_lowest_layer(stream_);
  if (!socket.is_open() || buffer_.size() != 0) return true;
  // Anything readable on an idle connection (EOF, a reset, stray bytes) makes it unusable.
  char byte;
  ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

template <typename Stream>
void ClientConnectionImpl<Stream>::close() {
  reusable_ = false;
  error_code ignored;
  beast::get_lowest_layer(stream_).close(ignored);
}

template <typename Stream>
awaitable<error_code> ClientConnectionImpl<Stream>::sendRequestHead(const RequestHead& head,
                                                                    bool flush) {
  head_request_ = head.method == "HEAD";
  tunnel_asked_ = !head.upgrade.empty();
  writer_.startRequest(head);
  // Held back, the head goes out with the first body bytes in one write.
  if (head.body.present && !flush) co_return error_code{};
  write_deadline_.arm(settings_.read_timeout);
  writing_ = true;
  auto [write_ec, n] = co_await writer_.write(stream_, {}, !head.body.present);
  writing_ = false;
  write_deadline_.disarm();
  const error_code ec = timedOut(write_deadline_, write_ec);
  stats_.wrote(n);
  request_sent_ = request_sent_ || mayHaveSent<Stream>(write_ec, n);
  if (!head.body.present) request_done_ = !ec;
  co_return ec;
}

template <typename Stream>
awaitable<error_code> ClientConnectionImpl<Stream>::sendRequestBody(std::span<const char> data,
                                                                    bool end) {
  if (tunnel_asked_ && !tunnel_open_) co_return error_code{};  // refused: nothing to carry
  write_deadline_.arm(settings_.read_timeout);
  writing_ = true;
  auto [write_ec, n] = co_await writer_.write(stream_, data, end);
  writing_ = false;
  write_deadline_.disarm();
  const error_code ec = timedOut(write_deadline_, write_ec);
  // An upload that moves is progress on the exchange: the wait for the response head goes on.
  if (awaiting_head_ && n > 0) read_deadline_.arm(settings_.read_timeout);
  stats_.wrote(n);
  request_sent_ = request_sent_ || mayHaveSent<Stream>(write_ec, n);
  if (!ec && end) request_done_ = true;
  if (!ec && end && tunnel_open_) {
    // The client is done sending: the app reads its end, and may still answer.
    if constexpr (std::is_same_v<Stream, TcpStream>) {
      error_code ignored;
      stream_.shutdown(tcp::socket::shutdown_send, ignored);
    }
  }
  co_return ec;
}

template <typename Stream>
awaitable<error_code> ClientConnectionImpl<Stream>::readResponseHead(ResponseHead& head) {
  for (;;) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(settings_.max_header_bytes));
    parser_->body_limit(boost::none);
    if (head_request_) parser_->skip(true);
    read_deadline_.arm(settings_.read_timeout);
    awaiting_head_ = true;
    auto [ec, n] = co_await readHeader(stream_, buffer_, *parser_);
    awaiting_head_ = false;
    read_deadline_.disarm();
    stats_.read(n);
    if (ec) co_return timedOut(read_deadline_, ec);
    unsigned status = parser_->get().result_int();
    if (status < 100) co_return Errc::kBadStatus;
    // Interim responses (100 Continue, 103 Early Hints) are consumed here; 101 only answers an
    // Upgrade.
    if (status == 101 && !tunnel_asked_) co_return Errc::kBadStatus;
    if (status >= 100 && status < 200 && status != 101) continue;
    break;
  }
  HopInfo hop;
  toResponseHead(parser_->get().base(), head, &hop);
  auto length = parser_->content_length();
  head.body.length = length ? std::optional<uint64_t>(*length) : std::nullopt;
  head.body.present = !parser_->is_done();
  keep_alive_ = hop.keep_alive;
  if (head.status == kTunnelOpen) {
    // What follows the head is the app's side of the tunnel; the connection ends with it.
    tunnel_open_ = true;
    keep_alive_ = false;
    head.body = Body{.present = true, .length = std::nullopt};
    co_return error_code{};
  }
  finishIfDone();
  co_return error_code{};
}

template <typename Stream>
awaitable<BodyRead> ClientConnectionImpl<Stream>::readTunnel(std::span<char> buffer) {
  if (tunnel_in_end_) co_return BodyRead{{}, 0, true};
  BodyRead r = co_await readTunnelSome(stream_, buffer_, buffer, read_deadline_,
                                       settings_.tunnel_idle_timeout);
  stats_.read(r.n);
  tunnel_in_end_ = r.end;
  co_return r;
}

template <typename Stream>
awaitable<BodyRead> ClientConnectionImpl<Stream>::readResponseBody(std::span<char> buffer) {
  if (tunnel_open_) co_return co_await readTunnel(buffer);
  read_deadline_.arm(settings_.read_timeout);
  BodyRead r = co_await readBodySome(stream_, buffer_, *parser_, buffer, settings_.chunkLimits());
  read_deadline_.disarm();
  r.ec = timedOut(read_deadline_, r.ec);
  stats_.read(r.n);
  if (r.end) finishIfDone();
  co_return r;
}

template <typename Stream>
void ClientConnectionImpl<Stream>::finishIfDone() {
  if (parser_->is_done()) reusable_ = keep_alive_ && request_done_;
}

template class ClientConnectionImpl<TcpStream>;
template class ClientConnectionImpl<TlsStream>;

}  // namespace weft::http::http1
