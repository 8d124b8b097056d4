#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "net/asio.h"
#include "net/connection_stats.h"
#include "net/deadline.h"
#include "net/http/codec.h"
#include "net/http/http2/frame_io.h"
#include "net/http/http2/server_session.h"
#include "net/http/http2/settings.h"
#include "net/signal.h"
#include "net/tls_stream.h"

namespace weft::http::http2 {

// HTTP/2 server side of a downstream connection, over a plain (h2c, prior knowledge) or TLS
// (ALPN h2) stream: the socket half of a ServerSession. One reader feeds what arrives to the
// session, with the idle deadline armed while no stream is open (counted from when the last one
// closed); one writer gathers the frames the session has ready into one buffer per write, and
// sends the keepalive PINGs (`keepalive`: a client that answers none is disconnected). Streams
// run concurrently, each in its own handler coroutine; run() returns once the connection is
// closed and every handler is done.
template <typename Stream>
class ServerConnectionImpl final : public ServerConnection,
                                   private SessionListener,
                                   private FrameFlusher {
 public:
  // `received`: bytes already read off the connection (the client preface, by protocol
  // detection), fed to the session first.
  ServerConnectionImpl(Stream stream, DownstreamInfo info, StreamHandler& handler,
                       const Settings& settings, net::ConnectionStats& stats,
                       std::string_view received);

  // ServerConnection
  awaitable<void> run() override;
  void drain() override { session_.drain(); }

 private:
  // SessionListener
  void onIdle() override;
  // FrameFlusher
  void flushFrames() override;

  awaitable<void> writeLoop();

  using Clock = std::chrono::steady_clock;

  Stream stream_;
  Deadline read_deadline_;  // after stream_: they close its socket
  Deadline write_deadline_;
  const Settings& settings_;
  net::ConnectionStats& stats_;
  ServerSession session_;
  std::string received_;
  Signal writer_done_;
  Clock::time_point idle_since_;  // when the last stream closed, or the connection opened
  bool writer_running_ = false;
  WriteState write_state_;
};

extern template class ServerConnectionImpl<TcpStream>;
extern template class ServerConnectionImpl<TlsStream>;

}  // namespace weft::http::http2
