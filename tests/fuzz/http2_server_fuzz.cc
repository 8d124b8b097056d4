// Bytes from a client, fed to the HTTP/2 server session without a socket: nghttp2 parses them,
// the session maps requests to heads and runs a handler per stream (reading the body, answering
// with a small body) on an io_context, and whatever the session answers is drained. Must never
// crash, leak a stream, or leave a handler running once the connection is gone.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "net/http/http2/server_session.h"
#include "net/http/http2/settings.h"

using namespace weft;
using namespace weft::http;

namespace {

class Handler : public StreamHandler {
 public:
  awaitable<void> handle(ServerStream& stream) override {
    ++running_;
    struct Done {
      size_t& running;
      ~Done() { --running; }
    } done{running_};
    const RequestHead& req = stream.request();
    if (req.authority.empty() || req.path.empty() || req.method.empty()) __builtin_trap();
    char buffer[512];
    for (int i = 0; i < 64 && stream.request().body.present; ++i) {
      std::span<char> into(buffer, sizeof(buffer));
      BodyRead r = co_await stream.readRequestBody(into);
      if (r.ec || r.end) break;
    }
    if (req.path == "/drop") co_return;  // no response: RST_STREAM
    ResponseHead head;
    head.status = 200;
    head.body = {true, 2};
    if (auto ec = co_await stream.sendResponseHead(head, false); ec) co_return;
    static constexpr char kBody[] = "ok";
    std::span<const char> body(kBody, 2);
    co_await stream.sendResponseBody(body, true);
  }

  size_t running() const { return running_; }

 private:
  size_t running_ = 0;
};

class Listener : public http2::SessionListener {
 public:
  void onIdle() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  asio::io_context io;
  http2::Settings settings;
  settings.max_header_bytes = 4096;
  Handler handler;
  Listener listener;
  {
    http2::ServerSession session(io.get_executor(), DownstreamInfo{}, handler, settings, listener);
    // Small pieces, as a socket would deliver them, with the handlers run in between.
    std::string out;
    size_t off = 0;
    bool more = true;
    while (more && off < size) {
      size_t n = std::min<size_t>(size - off, 1 + data[off] % 97);
      more = session.receive(data + off, n);
      off += n;
      io.restart();
      io.poll();
      // A stream leaves the session once nghttp2 has closed it and its handler has returned:
      // beyond the streams nghttp2 keeps open, only those whose handler still runs remain.
      if (session.openStreams() > http2::kMaxConcurrentStreams + handler.running()) {
        __builtin_trap();
      }
      out.clear();
      if (!session.produce(out, 1 << 20)) break;
    }
    session.abort();
    io.restart();
    io.run();
    if (handler.running() != 0)
      __builtin_trap();  // every handler returned once the connection went
    out.clear();
    session.produce(out, 1 << 20);
  }
  return 0;
}
