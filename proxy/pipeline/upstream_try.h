#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>

#include "net/asio.h"
#include "net/http/codec.h"
#include "proxy/pipeline/body_pump.h"
#include "proxy/pipeline/deadline_guard.h"
#include "proxy/pipeline/retry_policy.h"
#include "proxy/upstream/connector.h"
#include "proxy/upstream/pool.h"
#include "proxy/upstream/service_limits.h"

namespace weft::pipeline {

// Where the request body comes from on a try: the client's stream (once, streamed by a
// RequestBodyPump while the response is read), or the copy held for replay (any number of
// times).
struct BodySource {
  http::ServerStream& stream;
  const std::string* replay = nullptr;  // set: send this and never touch the stream's body
  bool consumed = false;                // part of the stream's body was sent: it cannot be resent
};

// What one try left behind.
struct Attempt {
  TryResult result;
  bool client_gone = false;   // the client aborted its request body: no response to send
  unsigned local_status = 0;  // on failure: what to answer with (502, 503, 504)
  std::string reason;         // on failure: what failed, for x-weft-error and the log
  http::ResponseHead head;    // on a response
  upstream::ConnectionPool::Lease lease;  // on a response: the stream to read the body from
  // The circuit breaker's slot for this try, if the target has limits: given back as soon as the
  // client resets its stream, not when the try unwinds.
  upstream::ServiceLimits::PermitPtr permit;
  // Set when the request body streams while the response is read (both sides HTTP/2): it must
  // be stopped and joined before the lease goes.
  std::shared_ptr<RequestBodyPump> pump;
};

// One try of `request` against `target`: a stream on a pooled (or new) connection, the head and
// body sent, the response head read, all before `deadline` (if any). The request goes to a
// fresh connection transparently only when the peer cannot have processed it: no byte of it
// reached the wire (a pooled connection the peer had closed), or the peer refused it (HTTP/2
// REFUSED_STREAM, above a GOAWAY's last-stream-id); and only while its body is still at hand.
// Any other failure ends the try, for the route's retry policy to judge. While the try runs, a
// client that resets its stream aborts the upstream stream too (client_gone) and gives the
// breaker slot back at once; a connection opened for it meanwhile stays in the pool for the
// next request.
class UpstreamTry {
 public:
  UpstreamTry(upstream::ConnectionPool& pool, Executor executor, const char* hop)
      : pool_(pool), executor_(executor), hop_(hop) {}

  awaitable<void> run(Attempt& out, const http::RequestHead& request, BodySource& body,
                      const upstream::Target& target,
                      std::optional<std::chrono::steady_clock::time_point> deadline);

 private:
  upstream::ConnectionPool& pool_;
  Executor executor_;
  const char* hop_;
};

}  // namespace weft::pipeline
