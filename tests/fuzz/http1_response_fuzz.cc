// A response as the HTTP/1 client codec parses it off the app's socket (64 KiB header limit,
// the chunk line and trailer limits, in pieces), converted to the codec-neutral head and
// written out again as the server codec would. Must never crash; what is held unparsed stays
// within the limits; the head written out parses again to the same status and fields.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "proxy/http/http1/convert.h"
#include "tests/fuzz/http1_feed.h"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bhttp::response_parser<bhttp::buffer_body> parser;
  weft::fuzz::configure(parser);
  // The first byte says whether the request was a HEAD (no body follows the head).
  if (size == 0) return 0;
  if (data[0] == 'H') parser.skip(true);
  const weft::fuzz::Fed fed =
      weft::fuzz::feedHttp1(parser, data + 1, size - 1, weft::fuzz::kChunkLimits);
  if (!weft::fuzz::heldWithinLimits(fed)) __builtin_trap();
  if (!parser.is_header_done()) return 0;

  weft::http::ResponseHead head;
  weft::http::http1::toResponseHead(parser.get().base(), head);
  auto length = parser.content_length();
  head.body.length = length ? std::optional<uint64_t>(*length) : std::nullopt;
  head.body.present = parser.chunked() || (length && *length > 0);
  // The client codec refuses a status below 100 (Beast takes any three digits).
  if (head.status < 100) return 0;
  for (const auto& h : head.headers) {
    if (h.name == "connection" || h.name == "transfer-encoding" || h.name == "content-length") {
      __builtin_trap();
    }
  }
  std::string wire;
  weft::http::http1::appendResponseHead(head, true, true, wire);
  bhttp::response_parser<bhttp::empty_body> again;
  again.header_limit(128 * 1024);
  again.eager(false);
  again.body_limit(boost::none);  // only the head is compared
  boost::beast::error_code ec;
  again.put(boost::asio::buffer(wire), ec);
  if (ec || !again.is_header_done()) __builtin_trap();
  weft::http::ResponseHead round;
  weft::http::http1::toResponseHead(again.get().base(), round);
  if (round.status != head.status || round.headers.size() != head.headers.size()) __builtin_trap();
  return 0;
}
