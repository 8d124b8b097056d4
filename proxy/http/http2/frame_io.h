#pragma once

// The socket halves of an HTTP/2 connection, shared by the client and server codecs: a reader
// that feeds what arrives to the session and a writer that batches the frames it has ready.

#include <memory>
#include <string>

#include "proxy/common/asio.h"
#include "proxy/common/deadline.h"
#include "proxy/common/stream_io.h"
#include "proxy/http/http2/session_base.h"
#include "proxy/http/http2/settings.h"
#include "proxy/metrics/connection_stats.h"

namespace weft::http::http2 {

struct ReadEnd {
  error_code ec;     // of the last read: eof when the peer closed, none when the session ended
  bool more = true;  // false: the session wants no more input (it may have a GOAWAY to send)
};

// Reads from `stream` and feeds `session` until the session wants no more input, finishes or
// closes, or a read fails. `before_read()` runs before each read (to arm a deadline).
template <typename Stream, typename BeforeRead>
awaitable<ReadEnd> readFrames(Stream& stream, SessionBase& session, metrics::ConnectionStats& stats,
                              BeforeRead& before_read) {
  std::unique_ptr<uint8_t[]> buffer(new uint8_t[kReadChunk]);
  ReadEnd end;
  while (end.more && !session.finished() && !session.closing()) {
    before_read();
    auto [ec, n] = co_await io::readSome(stream, asio::buffer(buffer.get(), kReadChunk));
    stats.read(n);
    if (n > 0 && !session.closing()) end.more = session.receive(buffer.get(), n);
    if (ec) {
      end.ec = ec;
      break;
    }
  }
  co_return end;
}

// Writes what `session` produces, in batches of up to kWriteBatch bytes each finished within
// `write_timeout`, and waits for more while there is none. Returns once nothing more will be
// sent: a write failed, the session has finished, is closing (after what it still had), or left
// a keepalive PING unanswered (session.unresponsive()), or `stop` was set. Returns the failed
// write's error (timedOut: a deadline closed the socket under it), or none.
template <typename Stream>
awaitable<error_code> writeFrames(Stream& stream, SessionBase& session, Deadline& write_deadline,
                                  Deadline::Clock::duration write_timeout,
                                  metrics::ConnectionStats& stats, const bool& stop) {
  std::string out;
  for (;;) {
    out.clear();
    const bool ok = session.produce(out, kWriteBatch);
    if (!out.empty()) {
      write_deadline.arm(write_timeout);
      auto [ec, n] = co_await io::writeAll(stream, asio::buffer(out));
      write_deadline.disarm();
      stats.wrote(n);
      if (ec) co_return timedOut(write_deadline, ec);
      continue;
    }
    if (!ok || session.finished() || session.closing() || stop) co_return error_code{};
    co_await session.waitForOutput();
  }
}

}  // namespace weft::http::http2
