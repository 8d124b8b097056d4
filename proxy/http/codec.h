#pragma once

#include <memory>
#include <span>
#include <string>

#include "proxy/common/asio.h"
#include "proxy/http/message.h"

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
};

// The downstream side of one request/response exchange, whatever the codec (HTTP/1.1 today,
// HTTP/2 streams later). The pipeline reads the request body and writes the response through it.
class ServerStream {
 public:
  virtual ~ServerStream() = default;

  virtual RequestHead& request() = 0;
  virtual const DownstreamInfo& downstream() const = 0;

  virtual awaitable<BodyRead> readRequestBody(std::span<char> buffer) = 0;
  // Whether request body bytes (or its end) are at hand, so a read would not wait.
  virtual bool requestBodyBuffered() const = 0;
  // The response's body framing is in `head.body`; a body-less head ends the exchange. With
  // `flush` false the codec may hold the head back and send it with the first piece of body, in
  // one write: pass false only when body bytes are at hand, or the head would wait on them.
  virtual awaitable<error_code> sendResponseHead(const ResponseHead& head, bool flush) = 0;
  virtual awaitable<error_code> sendResponseBody(std::span<const char> data, bool end) = 0;

  virtual bool responseStarted() const = 0;
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
  // Whether response body bytes (or its end) are at hand, so a read would not wait.
  virtual bool responseBodyBuffered() const = 0;
};

// A connection to an upstream that carries exchanges (one at a time for HTTP/1.1).
class ClientConnection {
 public:
  virtual ~ClientConnection() = default;

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
