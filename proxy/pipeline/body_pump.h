#pragma once

#include <memory>
#include <span>

#include "net/asio.h"
#include "net/http/codec.h"
#include "net/signal.h"

namespace weft::pipeline {

// Streams the client's request body to the upstream in a coroutine of its own, so the response
// can flow back while the request still streams: gRPC bidi and client streaming, where the
// server answers before the client has finished. Used when both sides are HTTP/2 (full duplex);
// over HTTP/1.1 the body is sent before the response is read.
//
// The pump refers to both streams: whoever starts it must finish() it before either goes away.
class RequestBodyPump {
 public:
  static std::shared_ptr<RequestBodyPump> start(const Executor& executor,
                                                http::ServerStream& downstream,
                                                http::ClientStream& upstream);

  RequestBodyPump(http::ServerStream& downstream, http::ClientStream& upstream,
                  const Executor& executor);

  // The exchange is over (the response ended, or failed): the rest of the body is not wanted.
  // Stops the pump and waits until it has returned.
  awaitable<void> finish();

  bool done() const { return done_; }
  // The client abandoned its request body (the upstream stream was aborted for it).
  bool clientGone() const { return client_gone_; }
  // Writing to the upstream failed (the upstream stream ended or was reset).
  const error_code& upstreamError() const { return upstream_error_; }

 private:
  static constexpr size_t kChunk = 16 * 1024;

  static awaitable<void> run(std::shared_ptr<RequestBodyPump> self);
  void stop();

  http::ServerStream& downstream_;
  http::ClientStream& upstream_;
  Signal finished_;
  std::unique_ptr<char[]> buffer_;
  error_code upstream_error_;
  bool done_ = false;
  bool stopping_ = false;
  bool client_gone_ = false;
};

}  // namespace weft::pipeline
