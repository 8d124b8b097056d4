// Bytes from a server (or an app speaking h2c), fed to the HTTP/2 client session without a
// socket: three requests are in flight (one with a body), nghttp2 parses the answer, and the
// session maps responses, trailers, resets and GOAWAYs onto the streams. Must never crash;
// once the connection is gone every stream has ended or failed, and no stream has an answer
// without its HEADERS having left.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/http/http2/client_session.h"

using namespace weft;
using namespace weft::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  asio::io_context io;
  http2::Settings settings;
  settings.max_header_bytes = 4096;
  std::vector<std::shared_ptr<http2::ClientStreamState>> streams;
  {
    http2::ClientSession session(io.get_executor(), settings);
    for (int i = 0; i < 3; ++i) {
      RequestHead head;
      head.method = i == 1 ? "POST" : "GET";
      head.authority = "backend";
      head.path = "/" + std::to_string(i);
      head.body.present = i == 1;
      auto state = session.open();
      if (session.submitRequest(state, head)) continue;
      if (i == 1) {
        state->out = "request body";
        state->out_end = true;
        session.resumeData(*state);
      }
      streams.push_back(std::move(state));
    }
    std::string out;
    session.produce(out, 1 << 20);
    // Small pieces, as a socket would deliver them; what the client answers is drained.
    size_t off = 0;
    bool more = true;
    while (more && off < size) {
      size_t n = std::min<size_t>(size - off, 1 + data[off] % 97);
      more = session.receive(data + off, n);
      off += n;
      for (auto& s : streams) {  // the callers read what arrived
        const size_t got = s->buffered();
        s->body.clear();
        s->body_off = 0;
        session.consumed(*s, got);
      }
      io.restart();
      io.poll();
      out.clear();
      if (!session.produce(out, 1 << 20)) break;
    }
    session.abort();
    io.restart();
    io.run();
    for (const auto& s : streams) {
      if (!s->ended && !s->error) __builtin_trap();  // left hanging after the connection went
      if (s->head_done && !s->head_sent) __builtin_trap();  // an answer to what never left
    }
  }
  return 0;
}
