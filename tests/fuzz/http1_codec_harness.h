#pragma once

// Drives a real HTTP/1.1 codec (http1::ServerConnectionImpl or ClientConnectionImpl) with fuzz
// input: the codec gets one end of a connected socket pair as its TcpStream; the harness writes
// the input into the other end in pieces (their sizes taken from the input), half-closes it when
// the input ends, and collects everything the codec writes back. Deadlines are a few
// milliseconds, so a codec waiting for more ends quickly and every run ends.

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "net/asio.h"
#include "net/connection_stats.h"
#include "net/http/http1/settings.h"
#include "net/log.h"
#include "tests/fuzz/http1_feed.h"

namespace weft::fuzz {

// The limits the codecs run with in production; deadlines short enough for a fuzzer.
inline http::http1::Settings codecSettings() {
  http::http1::Settings s;
  s.max_header_bytes = kHeaderLimit;
  s.max_chunk_line_bytes = kChunkLimits.line_bytes;
  s.idle_timeout = std::chrono::milliseconds(20);
  s.read_timeout = std::chrono::milliseconds(20);
  s.tunnel_idle_timeout = std::chrono::milliseconds(20);
  return s;
}

// The codecs' warnings (a rejected request, an aborted body) would be most of a run's work.
inline void quietLogs() {
  static const bool once = (log::setLevel(log::Level::kError), true);
  (void)once;
}

// Connection counts that belong to no registry.
struct Counters {
  net::ConnectionTally tcp;
};

class SocketPair {
 public:
  explicit SocketPair(asio::io_context& io) : codec_side_(io.get_executor()) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
      __builtin_trap();
    }
    error_code ec;
    codec_side_.assign(tcp::v4(), fds[0], ec);  // only reads, writes and shutdowns are used
    if (ec) __builtin_trap();
    peer_ = fds[1];
  }
  ~SocketPair() {
    if (peer_ >= 0) ::close(peer_);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;

  Socket takeCodecSide() { return std::move(codec_side_); }
  // The other end: a plain non-blocking fd the test reads and writes.
  int peer() const { return peer_; }

  // Runs `io` while writing `data` to the codec in pieces and reading what it writes into
  // `out` (up to `max_out` bytes kept), until `done()` or the bound on rounds.
  void run(asio::io_context& io, const uint8_t* data, size_t size, std::string& out, size_t max_out,
           const std::function<bool()>& done) {
    size_t off = 0;
    bool shut = false;
    char buffer[16384];
    for (int round = 0; round < 100000 && !done(); ++round) {
      bool progress = false;
      if (off < size) {
        const size_t n = std::min<size_t>(size - off, pieceSize(data[off], size));
        const ssize_t w = ::send(peer_, data + off, n, MSG_NOSIGNAL);
        if (w > 0) {
          off += static_cast<size_t>(w);
          progress = true;
        } else if (w < 0 && errno != EAGAIN) {
          off = size;  // the codec closed its end
        }
      } else if (!shut) {
        ::shutdown(peer_, SHUT_WR);
        shut = true;
        progress = true;
      }
      io.restart();
      if (io.poll() > 0) progress = true;
      for (;;) {
        const ssize_t r = ::recv(peer_, buffer, sizeof(buffer), 0);
        if (r <= 0) break;
        progress = true;
        out.append(buffer,
                   std::min(static_cast<size_t>(r), max_out - std::min(max_out, out.size())));
      }
      if (!progress) {
        io.restart();
        io.run_one_for(std::chrono::milliseconds(5));  // a deadline may be due
      }
    }
  }

 private:
  Socket codec_side_;
  int peer_ = -1;
};

}  // namespace weft::fuzz
