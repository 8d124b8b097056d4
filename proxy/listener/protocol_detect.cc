#include "proxy/listener/protocol_detect.h"

#include <algorithm>

#include "net/deadline.h"
#include "net/http/http1/settings.h"
#include "net/http/http2/settings.h"

namespace weft::listener {

Protocol classifyPreface(std::string_view received) {
  const std::string_view preface(http::http2::kClientPreface, http::http2::kClientPrefaceSize);
  const size_t n = std::min(received.size(), preface.size());
  if (received.substr(0, n) == preface.substr(0, n)) {
    return n == preface.size() ? Protocol::kHttp2 : Protocol::kNeedMore;
  }
  // "PRI * HTTP/2.0" is no HTTP/1.x request line: a client that sent it speaks HTTP/2, with a
  // broken preface, and the HTTP/2 codec answers with GOAWAY(PROTOCOL_ERROR), not a 400.
  const std::string_view request_line = preface.substr(0, preface.find('\n') + 1);
  return received.starts_with(request_line) ? Protocol::kHttp2 : Protocol::kHttp1;
}

Protocol classifyIntercepted(std::string_view received) {
  if (received.empty()) return Protocol::kNeedMore;
  // A TLS record of type handshake (22), version 3.x (RFC 8446 §5.1).
  if (received[0] == '\x16') {
    if (received.size() < 2) return Protocol::kNeedMore;
    return received[1] == '\x03' ? Protocol::kTls : Protocol::kOpaque;
  }
  // The HTTP/2 preface, a prefix of it, or its request line with the rest broken.
  if (Protocol p = classifyPreface(received); p != Protocol::kHttp1) return p;
  // An HTTP/1.x request line starts with a method: a token, in practice capital letters
  // (RFC 9110 §9: GET, POST, PROPFIND, ...), then one space.
  constexpr size_t kLongestMethod = 24;
  for (size_t i = 0; i < received.size(); ++i) {
    const char c = received[i];
    if (c == ' ') return i > 0 ? Protocol::kHttp1 : Protocol::kOpaque;
    if (c < 'A' || c > 'Z') {
      if (c != '-' && c != '_') return Protocol::kOpaque;
    }
    if (i >= kLongestMethod) return Protocol::kOpaque;
  }
  return Protocol::kNeedMore;
}

awaitable<Detection> detectIntercepted(TcpStream& stream, beast::flat_buffer& buffer,
                                       std::chrono::steady_clock::duration timeout) {
  const auto start = std::chrono::steady_clock::now();
  buffer.reserve(http::http1::kReadBufferBytes);
  Deadline deadline(stream);
  deadline.arm(timeout, Deadline::OnExpiry::kCancel);
  Detection result;
  for (;;) {
    auto data = buffer.data();
    result.protocol =
        classifyIntercepted(std::string_view(static_cast<const char*>(data.data()), data.size()));
    if (result.protocol != Protocol::kNeedMore) break;
    auto [read_ec, n] = co_await stream.async_read_some(
        buffer.prepare(http::http1::kReadBufferBytes - buffer.size()), kUseTuple);
    buffer.commit(n);
    if (!read_ec) continue;
    if (deadline.expired() || (read_ec == asio::error::eof && buffer.size() > 0)) {
      // Silent until the timeout: the server speaks first. Or a few bytes, then a half-close.
      result.protocol = Protocol::kOpaque;
      break;
    }
    result.ec = read_ec;
    break;
  }
  deadline.disarm();
  result.elapsed = std::chrono::steady_clock::now() - start;
  co_return result;
}

awaitable<std::pair<error_code, Protocol>> detectProtocol(
    TcpStream& stream, beast::flat_buffer& buffer, std::chrono::steady_clock::duration timeout) {
  // The HTTP/1.1 codec goes on reading into this buffer: give it the size it would have had.
  buffer.reserve(http::http1::kReadBufferBytes);
  Deadline deadline(stream);
  deadline.arm(timeout);
  for (;;) {
    auto data = buffer.data();
    Protocol protocol =
        classifyPreface(std::string_view(static_cast<const char*>(data.data()), data.size()));
    if (protocol != Protocol::kNeedMore) co_return std::pair{error_code{}, protocol};
    auto [read_ec, n] = co_await stream.async_read_some(
        buffer.prepare(http::http1::kReadBufferBytes - buffer.size()), kUseTuple);
    buffer.commit(n);
    if (read_ec) co_return std::pair{timedOut(deadline, read_ec), Protocol::kNeedMore};
  }
}

}  // namespace weft::listener
