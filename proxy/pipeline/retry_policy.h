#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "control/api/resources.h"
#include "net/http/message.h"

namespace weft::pipeline {

// How one try against one endpoint ended.
enum class TryFailure {
  kNone,     // a response head arrived (its status may still be a failure)
  kConnect,  // no connection could be made: nothing of the request was sent
  kRefused,  // the endpoint refused the request unprocessed (HTTP/2 REFUSED_STREAM, GOAWAY)
  kReset,    // the connection broke after the request was (partly) sent, before a response head
  kTimeout,  // the per-try or request deadline passed before a response head
};

struct TryResult {
  TryFailure failure = TryFailure::kNone;
  unsigned status = 0;  // the response status when failure == kNone
};

// Bodies up to this size are held back so that a retry can send them again; larger (or
// unknown-length) bodies are streamed and their requests are retried only if nothing was sent.
inline constexpr uint64_t kMaxReplayableBody = 64 * 1024;

// RFC 9110 §9.2.2: a repeated request has the same effect as one.
bool isIdempotent(std::string_view method);

// Whether `policy` names the way the try ended as a reason to retry. As in Envoy, 5xx and
// gateway-error also cover a connect failure, a refusal, a reset and a timeout; a timeout also
// matches "504"; refused-stream and reset match a refusal.
bool retryOnMatches(const api::RetryPolicy& policy, const TryResult& result);

// Whether the request may be sent again after `result`: a request the peer did not process (a
// connect failure, a refusal) can always be retried; otherwise only an idempotent one (by its
// method, or carrying an Idempotency-Key) whose body (if any) is held for replay. The caller
// checks that the body was not streamed away on the failed try.
bool safeToResend(const http::RequestHead& request, bool body_replayable, const TryResult& result);

// Whether the request's body is small enough, and of known length, to hold for replay.
bool bodyReplayable(const http::RequestHead& request);

// The try's deadline: the sooner of the request's and the per-try timeout's.
std::optional<std::chrono::steady_clock::time_point> tryDeadline(
    const api::RouteRule* rule, std::chrono::steady_clock::time_point try_start,
    std::optional<std::chrono::steady_clock::time_point> request_deadline);

}  // namespace weft::pipeline
