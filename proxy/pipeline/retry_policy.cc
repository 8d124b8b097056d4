#include "proxy/pipeline/retry_policy.h"

#include <algorithm>

namespace weft::pipeline {

bool isIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

bool retryOnMatches(const api::RetryPolicy& policy, const TryResult& result) {
  auto asked = [&](api::RetryOn on) { return std::ranges::find(policy.on, on) != policy.on.end(); };
  // As in Envoy, 5xx and gateway-error also cover an endpoint that did not answer at all.
  const bool no_answer = result.failure != TryFailure::kNone;
  switch (result.failure) {
    case TryFailure::kConnect:
      if (asked(api::RetryOn::kConnectFailure)) return true;
      break;
    case TryFailure::kRefused:
      if (asked(api::RetryOn::kRefusedStream) || asked(api::RetryOn::kReset)) return true;
      break;
    case TryFailure::kReset:
    case TryFailure::kTimeout:  // Envoy's `reset`: no response at all, reset or timed out
      if (asked(api::RetryOn::kReset)) return true;
      break;
    case TryFailure::kNone:
      break;
  }
  if (no_answer && (asked(api::RetryOn::k5xx) || asked(api::RetryOn::kGatewayError))) return true;
  // A per-try timeout reads as a 504; a connect failure or reset has no status to match.
  const unsigned status = result.failure == TryFailure::kTimeout ? 504 : result.status;
  if (status >= 500 && status <= 599 && asked(api::RetryOn::k5xx)) return true;
  if ((status == 502 || status == 503 || status == 504) && asked(api::RetryOn::kGatewayError)) {
    return true;
  }
  return asked(api::RetryOn::kStatus) &&
         std::ranges::find(policy.statuses, status) != policy.statuses.end();
}

bool bodyReplayable(const http::RequestHead& request) {
  if (!request.body.present) return true;
  return request.body.length && *request.body.length <= kMaxReplayableBody;
}

bool safeToResend(const http::RequestHead& request, bool body_replayable, const TryResult& result) {
  // A body known to be over 64 KiB is never sent twice, not even after a connect failure.
  if (request.body.length && *request.body.length > kMaxReplayableBody) return false;
  // Nothing was processed: connect failures and refused streams.
  if (result.failure == TryFailure::kConnect || result.failure == TryFailure::kRefused) {
    return true;
  }
  // An Idempotency-Key says the app deduplicates repeats of this request
  // (draft-ietf-httpapi-idempotency-key-header).
  const bool idempotent =
      isIdempotent(request.method) || request.headers.get("idempotency-key") != nullptr;
  return idempotent && body_replayable;
}

std::optional<std::chrono::steady_clock::time_point> tryDeadline(
    const api::RouteRule* rule, std::chrono::steady_clock::time_point try_start,
    std::optional<std::chrono::steady_clock::time_point> request_deadline) {
  std::optional<api::Duration> per_try;
  if (rule != nullptr) {
    per_try = rule->timeouts.backend_request;
    if (rule->retry && rule->retry->per_try_timeout) per_try = rule->retry->per_try_timeout;
  }
  if (!per_try) return request_deadline;
  auto deadline = try_start + *per_try;
  return request_deadline ? std::min(deadline, *request_deadline) : deadline;
}

}  // namespace weft::pipeline
