// Bytes from an app, read by the real HTTP/1.1 client codec (http1::ClientConnectionImpl) off a
// socket, in pieces, with the production limits, after it sent a request the first input byte
// picks (GET, HEAD, a POST with a body, or a WebSocket upgrade). The head it returns carries no
// framing or connection fields and writes out again, as the server codec would, to a head that
// parses to the same status and fields; a 101 only answers an upgrade; body reads end; the
// request it wrote parses. Must never crash or leak. A Beast parser fed the same way checks
// that what is held unparsed stays within the chunk line and trailer limits.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/http/http1/client_codec.h"
#include "net/http/http1/convert.h"
#include "tests/fuzz/http1_codec_harness.h"

namespace bhttp = boost::beast::http;
using namespace weft;

namespace {

void checkHead(const http::ResponseHead& head) {
  if (head.status < 100 || head.status > 999) __builtin_trap();
  for (const auto& h : head.headers) {
    if (h.name == "connection" || h.name == "transfer-encoding" || h.name == "content-length" ||
        h.name == "upgrade") {
      __builtin_trap();
    }
  }
  if (head.status == http::kTunnelOpen) return;
  std::string wire;
  http::http1::appendResponseHead(head, true, true, wire);
  bhttp::response_parser<bhttp::empty_body> again;
  again.header_limit(128 * 1024);
  again.eager(false);
  again.body_limit(boost::none);  // only the head is compared
  boost::beast::error_code ec;
  again.put(boost::asio::buffer(wire), ec);
  if (ec || !again.is_header_done()) __builtin_trap();
  http::ResponseHead round;
  http::http1::toResponseHead(again.get().base(), round);
  if (round.status != head.status || round.headers.size() != head.headers.size()) __builtin_trap();
}

awaitable<void> exchange(http::ClientConnection& conn, const http::RequestHead& request,
                         size_t input_size) {
  http::ClientStream& stream = conn.startStream();
  if (co_await stream.sendRequestHead(request, true)) co_return;
  if (request.body.present && request.upgrade.empty()) {
    static constexpr char kBody[] = "hello";
    if (co_await stream.sendRequestBody(std::span<const char>(kBody, 5), true)) co_return;
  }
  http::ResponseHead head;
  if (co_await stream.readResponseHead(head)) co_return;
  checkHead(head);
  if (head.status == http::kTunnelOpen) {
    if (request.upgrade.empty()) __builtin_trap();  // 101 only answers an upgrade
    static constexpr char kBytes[] = "tunnel";
    if (co_await stream.sendRequestBody(std::span<const char>(kBytes, 6), true)) co_return;
  }
  if (!head.body.present) co_return;
  char buffer[4096];
  size_t total = 0;
  for (;;) {
    http::BodyRead r = co_await stream.readResponseBody(std::span<char>(buffer, sizeof(buffer)));
    total += r.n;
    if (total > input_size) __builtin_trap();  // more body than the app sent
    if (r.ec || r.end) break;
  }
  if (stream.responseTrailers().size() != 0) __builtin_trap();  // HTTP/1.1 forwards none
}

// The first input byte picks the request: 'H' HEAD, 'P' a POST with a body, 'U' a WebSocket
// upgrade, anything else GET.
http::RequestHead requestFor(uint8_t pick) {
  http::RequestHead r;
  r.authority = "app";
  r.path = "/fuzz";
  r.method = pick == 'H' ? "HEAD" : pick == 'P' ? "POST" : "GET";
  if (pick == 'P') r.body = {true, 5};
  if (pick == 'U') {
    r.upgrade = "websocket";
    r.body = {true, std::nullopt};
  }
  return r;
}

// The request the codec wrote parses as one.
void checkRequest(const std::string& out) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(out), ec);
  if (out.empty() || ec == bhttp::error::need_more) return;  // not all written: the app left
  if (ec || !parser.is_header_done() || parser.get()[bhttp::field::host] != "app") {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const http::RequestHead request = requestFor(data[0]);
  {
    bhttp::response_parser<bhttp::buffer_body> parser;
    fuzz::configure(parser);
    if (request.method == "HEAD") parser.skip(true);
    const fuzz::Fed fed = fuzz::feedHttp1(parser, data + 1, size - 1, fuzz::kChunkLimits);
    if (!fuzz::heldWithinLimits(fed)) __builtin_trap();
  }

  fuzz::quietLogs();
  asio::io_context io;
  const http::http1::Settings settings = fuzz::codecSettings();
  fuzz::Counters counters;
  std::string out;
  bool finished = false;
  {
    fuzz::SocketPair pair(io);
    auto conn = std::make_unique<http::http1::ClientConnectionImpl<TcpStream>>(
        pair.takeCodecSide(), settings, counters.tcp);
    asio::co_spawn(io, exchange(*conn, request, size), [&](std::exception_ptr e) {
      if (e) __builtin_trap();  // the data path never throws
      finished = true;
    });
    pair.run(io, data + 1, size - 1, out, 1 << 20, [&] { return finished; });
    if (!finished) __builtin_trap();  // the deadlines end every exchange
  }
  checkRequest(out);
  return 0;
}
