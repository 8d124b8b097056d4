#pragma once

// The socket halves of an HTTP/2 connection, shared by the client and server codecs: a reader
// that feeds what arrives to the session, a writer that batches the frames it has ready, and
// flushFrames() for a batch the session wants written at once.

#include <memory>
#include <string>

#include "net/asio.h"
#include "net/connection_stats.h"
#include "net/deadline.h"
#include "net/http/http2/session_base.h"
#include "net/http/http2/settings.h"
#include "net/stream_io.h"

namespace weft::http::http2 {

struct ReadEnd {
  error_code ec;     // of the last read: eof when the peer closed, none when the session ended
  bool more = true;  // false: the session wants no more input (it may have a GOAWAY to send)
};

// Reads from `stream` and feeds `session` until the session wants no more input, finishes or
// closes, or a read fails. `before_read()` runs before each read (to arm a deadline).
template <typename Stream, typename BeforeRead>
awaitable<ReadEnd> readFrames(Stream& stream, SessionBase& session, net::ConnectionStats& stats,
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

// What a connection's writer keeps between writes.
struct WriteState {
  // Produced and not yet written: the next write sends it, unchanged. Not empty while the
  // writer's write is under way, so flushFrames() leaves it alone then.
  std::string pending;
  bool done = false;  // the writer has returned: nothing more is written
  error_code failed;  // a write by flushFrames() failed: the writer ends with it
};

// Writes what `session` has ready now, as far as the socket takes it without waiting, unless
// bytes are still pending (the writer is in the middle of a write, or has them next); whatever
// is left is the writer's (it is woken).
template <typename Stream>
void flushFrames(Stream& stream, SessionBase& session, net::ConnectionStats& stats,
                 WriteState& state) {
  if (state.done || state.failed || !state.pending.empty() ||
      !session.produce(state.pending, kWriteBatch)) {
    session.wakeWriter();  // a failed produce() ends the writer
    return;
  }
  if (state.pending.empty()) return;
  error_code ec;
  const size_t n = io::tryWrite(stream, asio::buffer(state.pending), ec);
  stats.wrote(n);
  state.pending.erase(0, n);
  if (ec && !io::wouldBlock(ec)) state.failed = ec;
  if (ec) session.wakeWriter();
}

// Writes what `session` produces, in batches of up to kWriteBatch bytes each finished within
// `write_timeout`, and waits for more while there is none. Returns once nothing more will be
// sent: a write failed, the session has finished, is closing (after what it still had), or left
// a keepalive PING unanswered (session.unresponsive()), or `stop` was set. Returns the failed
// write's error (timedOut: a deadline closed the socket under it), or none; `state.done` is set.
template <typename Stream>
awaitable<error_code> writeFrames(Stream& stream, SessionBase& session, Deadline& write_deadline,
                                  Deadline::Clock::duration write_timeout,
                                  net::ConnectionStats& stats, const bool& stop,
                                  WriteState& state) {
  error_code result;
  for (;;) {
    if (state.failed) {
      result = state.failed;
      break;
    }
    const bool ok = !state.pending.empty() || session.produce(state.pending, kWriteBatch);
    if (!state.pending.empty()) {
      write_deadline.arm(write_timeout);
      auto [ec, n] = co_await io::writeAll(stream, asio::buffer(state.pending));
      write_deadline.disarm();
      stats.wrote(n);
      state.pending.clear();
      if (ec) {
        result = timedOut(write_deadline, ec);
        break;
      }
      continue;
    }
    if (!ok || session.finished() || session.closing() || stop) break;
    co_await session.waitForOutput();
  }
  state.done = true;
  co_return result;
}

}  // namespace weft::http::http2
