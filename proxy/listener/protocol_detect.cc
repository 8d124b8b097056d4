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
