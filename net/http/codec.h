#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "net/asio.h"
#include "net/http/message.h"

namespace weft::http {

// Result of one body read: `n` bytes were placed in the buffer; `end` once the body is complete.
struct BodyRead {
  error_code ec;
  size_t n = 0;
  bool end = false;
};

// What the proxy knows about the connection a request arrived on.
struct DownstreamInfo {
  bool inbound = false;  // came from a peer sidecar (mTLS) rather than the local app
  bool tls = false;
  std::string peer_identity;  // the peer's SPIFFE ID when tls
  bool http2 = false;         // the connection speaks HTTP/2 (else HTTP/1.x)
  // The peer certificate's serial, hex: weft's own API ports only (http::ApiServer).
  std::string peer_serial = {};
  // Where the app meant to go when iptables redirected its connection to the proxy ("ip:port",
  // api::addressKey): routing goes by it instead of the Host header. "" otherwise.
  std::string original_dst = {};
};

// The downstream side of one request/response exchange, whatever the codec (HTTP/1.1 today,
// HTTP/2 streams later). The pipeline reads the request body and writes the response through it.
class ServerStream {
 public:
  virtual ~ServerStream() = default;

  virtual RequestHead& request() = 0;
  virtual const DownstreamInfo& downstream() const = 0;

  virtual awaitable<BodyRead> readRequestBody(std::span<char> buffer) = 0;
  // The rest of the request body is not wanted (the response is complete): a read pending in
  // another coroutine returns at once with an error, and the codec stops the upload when the
  // handler returns (HTTP/2: RST_STREAM NO_ERROR). HTTP/1.1 never reads concurrently with the
  // handler and deals with an unread body when the handler returns, as always.
  virtual void cancelRequestBody() = 0;
  // Whether request body bytes (or its end) are at hand, so a read would not wait.
  virtual bool requestBodyBuffered() const = 0;
  // The response's body framing is in `head.body`; a body-less head ends the exchange. With
  // `flush` false the codec may hold the head back and send it with the first piece of body, in
  // one write: pass false only when body bytes are at hand, or the head would wait on them.
  virtual awaitable<error_code> sendResponseHead(const ResponseHead& head, bool flush) = 0;
  virtual awaitable<error_code> sendResponseBody(std::span<const char> data, bool end) = 0;
  // Ends a response whose body was sent with `end` false by sending trailer fields (gRPC's
  // status). HTTP/1.1 ends the body and drops them: its clients do not ask for trailers.
  virtual awaitable<error_code> sendResponseTrailers(const HeaderMap& trailers) = 0;

  virtual bool responseStarted() const = 0;
  // Runs `callback` (once) if the client abandons the exchange while it is being handled: an
  // HTTP/2 RST_STREAM or the connection lost. HTTP/1.1 never calls it (a lost connection shows at
  // the next read or write). Pass nullptr to clear it before what it refers to goes away. Set
  // after the client has gone, it runs at once.
  virtual void setResetCallback(std::function<void()> callback) = 0;
};

// A downstream connection's codec: reads requests off the connection and hands each exchange to
// a StreamHandler until the peer goes away, an error ends it, or a drain closes it.
class ServerConnection {
 public:
  virtual ~ServerConnection() = default;
  virtual awaitable<void> run() = 0;
  // Stop taking new requests: close now if idle, else after the exchanges in flight finish.
  virtual void drain() = 0;
};

// Handles the exchanges a server codec produces: the request pipeline.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  virtual awaitable<void> handle(ServerStream& stream) = 0;
};

// The upstream side of one exchange.
class ClientStream {
 public:
  virtual ~ClientStream() = default;

  // `flush` as for ServerStream::sendResponseHead.
  virtual awaitable<error_code> sendRequestHead(const RequestHead& head, bool flush) = 0;
  virtual awaitable<error_code> sendRequestBody(std::span<const char> data, bool end) = 0;
  virtual awaitable<error_code> readResponseHead(ResponseHead& head) = 0;
  virtual awaitable<BodyRead> readResponseBody(std::span<char> buffer) = 0;
  // Whether any byte of the request may have reached the peer: HTTP/1.1 once a write put some of
  // it on the socket, HTTP/2 once its HEADERS frame was handed to the connection's writer. While
  // false, the request can go elsewhere unchanged: the peer cannot have seen it.
  virtual bool requestSent() const = 0;
  // Whether response body bytes (or its end) are at hand, so a read would not wait.
  virtual bool responseBodyBuffered() const = 0;
  // Trailer fields that came after the response body (valid once the body's end was read;
  // empty for HTTP/1.1).
  virtual const HeaderMap& responseTrailers() const = 0;
  // Abandons the exchange now: HTTP/2 resets the stream (CANCEL), HTTP/1.1 closes the
  // connection. Pending and later operations fail.
  virtual void abort() = 0;
};

// A connection to an upstream that carries exchanges (one at a time for HTTP/1.1).
class ClientConnection {
 public:
  virtual ~ClientConnection() = default;

  // Whether many exchanges share the connection at once (HTTP/2): the pool then hands out streams
  // of one shared connection instead of whole connections.
  virtual bool multiplexed() const { return false; }
  // Multiplexed codecs: whether a new stream may open now (under the peer's stream limit, no
  // GOAWAY), and a new stream, which ends (reset if unfinished) when destroyed.
  virtual bool canOpenStream() const { return false; }
  virtual std::unique_ptr<ClientStream> newStream() { return nullptr; }

  // Starts an exchange. For HTTP/1.1 the connection is busy until that exchange completes.
  virtual ClientStream& startStream() = 0;
  // Whether the last exchange ended cleanly and the connection can carry another.
  virtual bool reusable() const = 0;
  // Whether the peer has closed or sent unexpected bytes while the connection sat idle.
  virtual bool staleWhileIdle() = 0;
  virtual void close() = 0;
};

using ClientConnectionPtr = std::unique_ptr<ClientConnection>;

}  // namespace weft::http
