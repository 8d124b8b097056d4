// A request head as the HTTP/1 server codec parses it (64 KiB header limit), then converted to
// the codec-neutral head. Conversion must never crash; an accepted head must be forwardable.

#include <cstddef>
#include <cstdint>

#include <boost/asio/buffer.hpp>
#include <string>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "proxy/http/http1/convert.h"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(1024 * 1024);
  char body[512];
  boost::asio::const_buffer in(data, size);
  while (in.size() > 0 && !parser.is_done()) {
    if (parser.is_header_done()) {
      parser.get().body().data = body;
      parser.get().body().size = sizeof(body);
    }
    boost::beast::error_code ec;
    size_t used = parser.put(in, ec);
    in += used;
    if (ec == bhttp::error::need_buffer) continue;
    if (ec || used == 0) break;
  }
  if (!parser.is_header_done()) return 0;

  weft::http::RequestHead head;
  if (!weft::http::http1::toRequestHead(parser.get().base(), head).ok()) return 0;
  if (head.authority.empty() || head.path.empty()) __builtin_trap();
  for (const auto& h : head.headers) {
    if (h.name == "host" || h.name == "connection" || h.name == "transfer-encoding") {
      __builtin_trap();
    }
  }
  // What the proxy sends upstream must parse again, to the same request.
  std::string wire;
  weft::http::http1::appendRequestHead(head, wire);
  bhttp::request_parser<bhttp::empty_body> again;
  again.header_limit(128 * 1024);
  again.eager(false);
  boost::beast::error_code ec;
  again.put(boost::asio::buffer(wire), ec);
  if (ec || !again.is_header_done()) __builtin_trap();
  weft::http::RequestHead round;
  if (!weft::http::http1::toRequestHead(again.get().base(), round).ok()) __builtin_trap();
  if (round.method != head.method || round.path != head.path ||
      round.headers.size() != head.headers.size()) {
    __builtin_trap();
  }
  return 0;
}
