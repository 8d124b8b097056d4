#pragma once

#include <memory>

#include "net/asio.h"
#include "net/connection_stats.h"
#include "net/http/codec.h"
#include "net/http/http2/client_session.h"
#include "net/http/http2/client_stream.h"
#include "net/http/http2/settings.h"
#include "net/tls_stream.h"

namespace weft::http::http2 {

// An upstream HTTP/2 connection carrying many concurrent streams: what the connection pool
// keeps one of per peer. Also an http::ClientConnection, so code written for HTTP/1.1 can run
// one exchange at a time on it (startStream()).
class Http2ClientConnection : public ClientConnection {
 public:
  bool multiplexed() const override { return true; }

  // A new stream. Check canOpenStream() first: a stream opened after a GOAWAY fails with
  // ClientErrc::kRefused, one over the peer's limit waits in nghttp2 until a slot frees.
  virtual std::unique_ptr<Http2ClientStream> openStream() = 0;
  // No GOAWAY, alive, and fewer streams open than the peer's SETTINGS_MAX_CONCURRENT_STREAMS.
  bool canOpenStream() const override = 0;
  virtual size_t activeStreams() const = 0;
  // The socket is open and the session has not ended.
  virtual bool alive() const = 0;
};

using Http2ClientConnectionPtr = std::unique_ptr<Http2ClientConnection>;

// Over a plain (h2c, prior knowledge) or TLS (ALPN h2: identity::offerAlpn before the handshake,
// identity::negotiatedHttp2 after) stream. The constructor starts one reader coroutine that
// feeds nghttp2 and one writer that batches its frames into writes; the client preface and SETTINGS
// go out first. Both hold the socket and session by shared ownership, so the object may be
// destroyed at any time: that closes the socket, and streams still held fail with
// ClientErrc::kConnectionClosed. A peer that answers no keepalive PING (`keepalive`) is taken
// for dead the same way: the socket closes, streams fail with kConnectionClosed, and alive()
// turns false.
template <typename Stream>
class Http2ClientConnectionImpl final : public Http2ClientConnection {
 public:
  Http2ClientConnectionImpl(Stream stream, const Settings& settings,
                            net::ConnectionCounters& counters);
  ~Http2ClientConnectionImpl() override;

  // Http2ClientConnection
  std::unique_ptr<Http2ClientStream> openStream() override;
  std::unique_ptr<ClientStream> newStream() override { return openStream(); }
  bool canOpenStream() const override;
  size_t activeStreams() const override;
  bool alive() const override;

  // ClientConnection
  // The returned stream replaces (and so cancels, if unfinished) the one started before.
  ClientStream& startStream() override;
  bool reusable() const override;
  bool staleWhileIdle() override { return !alive(); }
  void close() override;

  // The session, for tests and metrics.
  const ClientSession& session() const;

  struct Core;  // socket, deadline, session: shared with the reader and writer

 private:
  std::shared_ptr<Core> core_;
  std::unique_ptr<Http2ClientStream> single_;
};

extern template class Http2ClientConnectionImpl<TcpStream>;
extern template class Http2ClientConnectionImpl<TlsStream>;

}  // namespace weft::http::http2
