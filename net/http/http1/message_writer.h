#pragma once

#include <array>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "net/asio.h"
#include "net/http/http1/convert.h"
#include "net/http/message.h"
#include "net/stream_io.h"

namespace weft::http::http1 {

// Writes one outgoing HTTP/1.1 message: the head, serialized into one string, and the body
// as-is or chunked. Each write is a single gather of at most three buffers (head and chunk
// prefix, data, chunk suffix), so a head held back goes out with the first body bytes.
class MessageWriter {
 public:
  void startRequest(const RequestHead& head) {
    reset(head.body);
    if (!head.upgrade.empty()) chunked_ = false;  // the body is a tunnel's raw bytes
    appendRequestHead(head, prefix_);
  }
  // The 101 that opens the tunnel `request` asked for; the body is raw bytes from then on.
  void startTunnelResponse(const ResponseHead& head, const RequestHead& request) {
    reset(head.body);
    chunked_ = false;
    appendTunnelResponseHead(head, request, prefix_);
  }
  // `chunked_allowed` false: a body of unknown length is written as is, to end with the
  // connection (an HTTP/1.0 client; the caller closes after it).
  void startResponse(const ResponseHead& head, bool body_allowed, bool keep_alive,
                     bool chunked_allowed = true) {
    reset(head.body);
    if (!body_allowed || !chunked_allowed) chunked_ = false;
    appendResponseHead(head, body_allowed, keep_alive, prefix_, chunked_allowed);
  }

  // Writes what is pending plus `data`; `end` finishes the message (the last chunk if chunked).
  template <typename Stream>
  awaitable<std::pair<error_code, size_t>> write(Stream& stream, std::span<const char> data,
                                                 bool end) {
    std::string_view suffix;
    if (chunked_) {
      if (!data.empty()) {
        char hex[24];
        int n = std::snprintf(hex, sizeof(hex), "%zx\r\n", data.size());
        prefix_.append(hex, static_cast<size_t>(n));
      }
      suffix = !data.empty() ? (end ? "\r\n0\r\n\r\n" : "\r\n") : (end ? "0\r\n\r\n" : "");
    }
    std::array<asio::const_buffer, 3> buffers{asio::buffer(prefix_), asio::buffer(data),
                                              asio::buffer(suffix.data(), suffix.size())};
    auto [ec, n] = co_await io::writeAll(stream, buffers);
    prefix_.clear();
    co_return std::pair{ec, n};
  }

 private:
  void reset(const Body& body) {
    prefix_.clear();
    chunked_ = body.present && !body.length;
  }

  std::string prefix_;  // head not yet written, and/or the next chunk's size line
  bool chunked_ = false;
};

}  // namespace weft::http::http1
