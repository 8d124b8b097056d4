// Bytes from a client, read by the real HTTP/1.1 server codec (http1::ServerConnectionImpl) off
// a socket, in pieces, with the production limits: every request it hands on is forwardable
// (authority and path set, no hop-by-hop field, and the head the proxy would send upstream parses
// again to the same request), its body reads end, a WebSocket request becomes a tunnel the
// handler echoes through, and everything the codec writes back is well-formed HTTP/1.1. Must
// never crash or leak. A Beast parser fed the same way checks that what is held unparsed stays
// within the chunk line and trailer limits.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/http/http1/convert.h"
#include "net/http/http1/server_codec.h"
#include "tests/fuzz/http1_codec_harness.h"

namespace bhttp = boost::beast::http;
using namespace weft;

namespace {

// What the proxy sends upstream for `head` must parse again, to the same request.
void checkForwardable(const http::RequestHead& head) {
  if (head.authority.empty() || head.path.empty()) __builtin_trap();
  for (const auto& h : head.headers) {
    if (h.name == "host" || h.name == "connection" || h.name == "transfer-encoding" ||
        h.name == "upgrade") {
      __builtin_trap();
    }
  }
  std::string wire;
  http::http1::appendRequestHead(head, wire);
  bhttp::request_parser<bhttp::empty_body> again;
  again.header_limit(128 * 1024);
  again.eager(false);
  again.body_limit(boost::none);  // only the head is compared
  boost::beast::error_code ec;
  again.put(boost::asio::buffer(wire), ec);
  if (ec || !again.is_header_done()) __builtin_trap();
  http::RequestHead round;
  if (!http::http1::toRequestHead(again.get().base(), round).ok()) __builtin_trap();
  if (round.method != head.method || round.path != head.path) __builtin_trap();
}

class Handler : public http::StreamHandler {
 public:
  awaitable<void> handle(http::ServerStream& stream) override {
    const http::RequestHead& req = stream.request();
    checkForwardable(req);
    heads.push_back(req.method == "HEAD");
    char buffer[4096];
    std::span<char> into(buffer, sizeof(buffer));
    if (!req.upgrade.empty()) {
      // A tunnel: open it, then echo what comes until the client's side ends.
      tunnel = true;
      http::ResponseHead head;
      head.status = http::kTunnelOpen;
      head.body = {true, std::nullopt};
      if (co_await stream.sendResponseHead(head, true)) co_return;
      for (int i = 0; i < 1000; ++i) {
        http::BodyRead r = co_await stream.readRequestBody(into);
        if (r.ec) co_return;
        if (co_await stream.sendResponseBody(into.first(r.n), r.end) || r.end) co_return;
      }
      co_await stream.sendResponseBody({}, true);
      co_return;
    }
    for (int i = 0; i < 1000 && req.body.present; ++i) {
      http::BodyRead r = co_await stream.readRequestBody(into);
      if (r.ec) co_return;  // broken framing: the codec answers 400 itself
      if (r.end) break;
    }
    http::ResponseHead head;
    head.status = 200;
    head.body = {true, 2};
    if (co_await stream.sendResponseHead(head, false)) co_return;
    static constexpr char kOk[] = "ok";
    co_await stream.sendResponseBody(std::span<const char>(kOk, 2), true);
  }

  std::vector<bool> heads;  // per request handled: whether it was a HEAD
  bool tunnel = false;
};

// Every response the codec wrote parses, in order (1xx interim ones included), up to a 101
// after which the bytes are the tunnel's; only the last may be cut short.
void checkResponses(const std::string& out, const std::vector<bool>& heads) {
  boost::asio::const_buffer rest(out.data(), out.size());
  size_t handled = 0;
  while (rest.size() > 0) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(128 * 1024);
    parser.body_limit(boost::none);
    parser.eager(true);
    if (handled < heads.size() && heads[handled]) parser.skip(true);
    boost::beast::error_code ec;
    const size_t used = parser.put(rest, ec);
    // Cut short: the connection ended (or the codec's own reply to a HEAD, which the handler
    // never saw, left out the body its content-length announces).
    if (ec == bhttp::error::need_more || (!ec && !parser.is_done() && used == rest.size())) {
      return;
    }
    if (ec || !parser.is_done()) __builtin_trap();
    rest += used;
    const unsigned status = parser.get().result_int();
    if (status == 101) return;
    if (status >= 200) ++handled;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    bhttp::request_parser<bhttp::buffer_body> parser;
    fuzz::configure(parser);
    const fuzz::Fed fed = fuzz::feedHttp1(parser, data, size, fuzz::kChunkLimits);
    if (!fuzz::heldWithinLimits(fed)) __builtin_trap();
  }

  fuzz::quietLogs();
  asio::io_context io;
  const http::http1::Settings settings = fuzz::codecSettings();
  fuzz::Counters counters;
  Handler handler;
  std::string out;
  bool finished = false;
  {
    fuzz::SocketPair pair(io);
    net::ConnectionStats stats(counters.tcp);
    auto conn = std::make_unique<http::http1::ServerConnectionImpl<TcpStream>>(
        pair.takeCodecSide(), http::DownstreamInfo{}, handler, settings, stats);
    asio::co_spawn(io, conn->run(), [&](std::exception_ptr e) {
      if (e) __builtin_trap();  // the data path never throws
      finished = true;
    });
    pair.run(io, data, size, out, 4 << 20, [&] { return finished; });
    if (!finished) __builtin_trap();  // the deadlines end every connection
  }
  checkResponses(out, handler.heads);
  return 0;
}
