// A request as the HTTP/1 server codec parses it off a socket (64 KiB header limit, the chunk
// line and trailer limits, in pieces), its framing checked, then converted to the codec-neutral
// head. Must never crash; what is held unparsed stays within the limits; an accepted head must
// be forwardable and parse again to the same request.

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "proxy/http/http1/convert.h"
#include "tests/fuzz/http1_feed.h"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::request_parser<bhttp::buffer_body> parser;
  weft::fuzz::configure(parser);
  const weft::fuzz::Fed fed = weft::fuzz::feedHttp1(parser, data, size, weft::fuzz::kChunkLimits);
  if (!weft::fuzz::heldWithinLimits(fed)) __builtin_trap();
  if (!parser.is_header_done()) return 0;
  if (!weft::http::http1::checkRequestFraming(parser.get().base(), parser.chunked()).ok()) {
    return 0;
  }

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
  again.body_limit(boost::none);  // only the head is compared
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
