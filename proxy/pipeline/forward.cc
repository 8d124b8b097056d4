// The upstream half of RequestPipelineImpl: tries, retries, deadlines, the circuit breaker and
// streaming the response back.
#include <memory>
#include <variant>

#include "common/strings.h"
#include "control/api/duration.h"
#include "net/error_text.h"
#include "net/http/grpc_reply.h"
#include "net/log.h"
#include "proxy/balancer/outlier_detector.h"
#include "proxy/pipeline/request_pipeline.h"

namespace weft::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

balancer::Result outlierResult(const TryResult& r) {
  switch (r.failure) {
    case TryFailure::kConnect:
    case TryFailure::kRefused:  // not taking new work: like a refused connection
      return balancer::Result::kConnectFailure;
    case TryFailure::kReset:
    case TryFailure::kTimeout:
      return balancer::Result::kGatewayError;
    case TryFailure::kNone:
      break;
  }
  return balancer::classifyStatus(r.status);
}

metrics::RetryReason retryReason(const TryResult& r) {
  switch (r.failure) {
    case TryFailure::kConnect:
      return metrics::RetryReason::kConnectFailure;
    case TryFailure::kRefused:
      return metrics::RetryReason::kRefusedStream;
    case TryFailure::kReset:
      return metrics::RetryReason::kReset;
    case TryFailure::kTimeout:
      return metrics::RetryReason::kTimeout;
    case TryFailure::kNone:
      break;
  }
  return r.status >= 500 && r.status <= 599 ? metrics::RetryReason::k5xx
                                            : metrics::RetryReason::kStatus;
}

}  // namespace

awaitable<bool> RequestPipelineImpl::readReplayBody(http::ServerStream& stream,
                                                    std::span<char> buffer, std::string& out) {
  for (;;) {
    http::BodyRead r = co_await stream.readRequestBody(buffer);
    if (r.ec) {
      log::info(hop_, " request body aborted by client: ", r.ec.message());
      co_return false;
    }
    out.append(buffer.data(), r.n);
    if (r.end) co_return true;
    if (out.size() > kMaxReplayableBody) co_return false;  // content-length lied: give up
  }
}

bool RequestPipelineImpl::shouldRetry(const Plan& plan, const http::RequestHead& request,
                                      const Attempt& attempt, const BodySource& body,
                                      bool replayable, uint32_t attempts_left,
                                      std::optional<Clock::time_point> request_deadline) {
  const api::RetryPolicy* retry =
      plan.rule != nullptr && plan.rule->retry ? &*plan.rule->retry : nullptr;
  if (retry == nullptr || attempts_left == 0) return false;
  if (!retryOnMatches(*retry, attempt.result)) return false;
  // A body streamed through on this try is gone: there is nothing to send again.
  if (body.consumed) return false;
  if (!safeToResend(request, !request.body.present || replayable, attempt.result)) return false;
  auto now = Clock::now();
  if (request_deadline && now >= *request_deadline) return false;
  if (plan.hosts == nullptr) return true;
  ServiceState& service = plan.hosts->owner();
  if (service.limits().activeRetries() >= service.limits().settings().max_retries) {
    service.metrics().recordOverflow(metrics::Limit::kMaxRetries);
    service.metrics().budget_exhausted->Increment();
    return false;
  }
  if (!service.budget().tryWithdraw(now)) {
    service.metrics().budget_exhausted->Increment();
    return false;
  }
  service.metrics().recordRetry(retryReason(attempt.result));
  return true;
}

awaitable<RequestPipelineImpl::Outcome> RequestPipelineImpl::forward(http::ServerStream& stream,
                                                                     const Plan& plan,
                                                                     Clock::time_point start) {
  const http::RequestHead& req = stream.request();
  struct BufferLease {  // back to the worker's free list on every exit path
    RequestPipelineImpl& owner;
    std::unique_ptr<char[]> storage;
    ~BufferLease() { owner.returnBuffer(std::move(storage)); }
  } lease_buffer{*this, takeBuffer()};
  std::span<char> buffer(lease_buffer.storage.get(), kBodyChunk);

  const api::RouteRule* rule = plan.rule;
  // The request's deadline: the route's timeout, or a gRPC caller's grpc-timeout if sooner.
  // Locals that live across co_await are the coroutine frame: Asio recycles frames up to about
  // 1 KiB and allocates larger ones per request, so the rarely used ones stay small here (the
  // deadline's text is built when a reason needs it, the replay buffer only for a replay).
  std::optional<Clock::time_point> request_deadline;
  bool deadline_from_grpc = false;
  if (rule != nullptr && rule->timeouts.request) {
    request_deadline = start + *rule->timeouts.request;
  }
  if (const std::string* grpc_timeout = req.headers.get("grpc-timeout")) {
    if (auto d = http::parseGrpcTimeout(*grpc_timeout);
        d && (!request_deadline || start + *d < *request_deadline)) {
      request_deadline = start + *d;
      deadline_from_grpc = true;
    }
  }
  // How a reason names the deadline: "2s", or "500ms (grpc-timeout)".
  auto deadline_text = [&] {
    const auto d = std::chrono::duration_cast<api::Duration>(*request_deadline - start);
    return deadline_from_grpc ? weft::strCat(api::formatDuration(d), " (grpc-timeout)")
                              : api::formatDuration(d);
  };
  uint32_t attempts_left = rule != nullptr && rule->retry ? rule->retry->attempts : 0;

  // A small body of known length is held back so that a retry can send it again.
  const bool replayable = attempts_left > 0 && req.body.present && bodyReplayable(req);
  std::unique_ptr<std::string> replay;
  if (replayable) {
    replay = std::make_unique<std::string>();
    if (!co_await readReplayBody(stream, buffer, *replay)) co_return Outcome{};
  }
  BodySource body{stream, replay.get()};

  ServiceState* service = plan.hosts != nullptr ? &plan.hosts->owner() : nullptr;
  UpstreamTry upstream_try(ctx_.pool, ctx_.io.get_executor(), hop_);
  uint32_t previous = balancer::kNoEndpoint;
  for (int attempt = 0;; ++attempt) {
    const upstream::Target* target = plan.fixed;
    uint32_t endpoint = balancer::kNoEndpoint;
    if (plan.hosts != nullptr) {
      endpoint = plan.pinned != balancer::kNoEndpoint
                     ? plan.pinned
                     : plan.hosts->pick(ctx_.random, Clock::now(), previous);
      target = &plan.hosts->target(endpoint);
    }
    upstream::ServiceLimits::PermitPtr permit;
    if (service != nullptr) {
      // A client that resets its stream while the request waits for a slot leaves the queue.
      upstream::ServiceLimits::Canceller canceller;
      stream.setResetCallback([&canceller] { canceller.cancel(); });
      auto admitted = co_await service->limits().admit(
          attempt > 0, request_deadline.value_or(Clock::time_point::max()), &canceller);
      stream.setResetCallback(nullptr);
      if (auto* refused = std::get_if<upstream::ServiceLimits::Refused>(&admitted)) {
        if (refused->cancelled) co_return Outcome{};  // the client is gone: nothing to answer
        const auto& pool = service->limits().settings();
        if (refused->timed_out) {
          const std::string reason = weft::strCat(
              "request timed out after ", deadline_text(), ": waiting for a connection to ",
              plan.hosts->owner().label(), " (maxConnections=", pool.max_connections, ")");
          co_return co_await localReply(stream, 504, reason);
        }
        service->metrics().recordOverflow(refused->limit);
        uint32_t limit = refused->limit == metrics::Limit::kMaxRequests ? pool.max_requests
                         : refused->limit == metrics::Limit::kMaxRetries
                             ? pool.max_retries
                             : pool.max_pending_requests;
        const std::string reason =
            weft::strCat("circuit open: ", metrics::limitName(refused->limit), "=", limit);
        co_return co_await localReply(stream, 503, reason);
      }
      permit = std::move(std::get<upstream::ServiceLimits::PermitPtr>(admitted));
      if (attempt == 0) service->budget().deposit(Clock::now());
    }

    Attempt a;
    a.permit = std::move(permit);
    // The try points the client's reset at its upstream stream: unhook it before `a` goes.
    struct ResetHook {
      http::ServerStream& stream;
      ~ResetHook() { stream.setResetCallback(nullptr); }
    } reset_hook{stream};
    const auto try_start = Clock::now();
    balancer::EndpointState* state = plan.hosts != nullptr ? &plan.hosts->state(endpoint) : nullptr;
    if (state != nullptr) state->requestStarted();
    const auto deadline = tryDeadline(rule, try_start, request_deadline);
    co_await upstream_try.run(a, req, body, *target, deadline);
    const auto now = Clock::now();
    if (state != nullptr) {
      if (a.result.failure == TryFailure::kNone && !a.client_gone) {
        state->requestFinished(now - try_start, now);
      } else {
        state->requestFinished();
      }
      if (!a.client_gone) plan.hosts->onResult(endpoint, outlierResult(a.result), now);
    }
    if (a.client_gone) {
      if (a.pump) co_await a.pump->finish();
      co_return Outcome{};
    }
    if (a.result.failure == TryFailure::kTimeout && request_deadline && now >= *request_deadline) {
      a.reason = weft::strCat("request timed out after ", deadline_text(), ": ", a.reason);
    }
    if (shouldRetry(plan, req, a, body, replayable, attempts_left, request_deadline)) {
      log::info(hop_, " retrying ", req.method, " ", req.authority, req.path, " after ",
                a.result.failure == TryFailure::kNone ? weft::strCat("status ", a.result.status)
                                                      : a.reason);
      // A request body still streaming on this try's stream stops before that stream goes.
      if (a.pump) co_await a.pump->finish();
      if (a.lease) a.lease.abandon();
      --attempts_left;
      previous = endpoint;
      continue;
    }
    Outcome outcome;
    if (a.result.failure != TryFailure::kNone) {
      outcome = co_await localReply(stream, a.local_status, a.reason);
    } else {
      outcome = co_await pumpResponse(stream, a, buffer, *target);
    }
    if (a.pump) co_await a.pump->finish();
    ctx_.pool.release(*target, std::move(a.lease));
    co_return outcome;
  }
}

awaitable<RequestPipelineImpl::Outcome> RequestPipelineImpl::pumpResponse(
    http::ServerStream& stream, Attempt& attempt, std::span<char> buffer,
    const upstream::Target& target) {
  // Timeouts end with the response head: a response being streamed is never cut for time.
  http::ClientStream& upstream = attempt.lease.stream();
  const http::ResponseHead& head = attempt.head;
  Outcome outcome{head.status, head.status >= 500};
  // A gRPC status decides success by itself: in the head ("trailers-only") or the trailers.
  auto grpc_status = [&outcome](const http::HeaderMap& fields) {
    uint32_t code = 0;
    const std::string* grpc = fields.get("grpc-status");
    if (grpc != nullptr && weft::parseUnsigned(*grpc, &code) && code <= 16) {
      outcome.grpc_status = static_cast<int>(code);
      outcome.failure = code != 0;
    }
  };
  grpc_status(head.headers);
  // Body bytes that came with the head are read before the head is passed on: a body that is
  // malformed from its start (a chunk line over the limit) still gets the client a 502 that
  // says so, instead of a head followed by a cut connection.
  http::BodyRead first;
  const bool have_first = head.body.present && upstream.responseBodyBuffered();
  if (have_first) {
    first = co_await upstream.readResponseBody(buffer);
    if (first.ec && !attempt.client_gone) {
      const std::string reason = weft::strCat(
          hop_, " sent a malformed response body: ", target.address, ": ", errorText(first.ec));
      co_return co_await localReply(stream, 502, reason);
    }
  }
  if (auto ec = co_await stream.sendResponseHead(head, !have_first); ec) {
    co_return Outcome{head.status, true};
  }
  if (!head.body.present) co_return outcome;
  for (bool use_first = have_first;; use_first = false) {
    http::BodyRead r = use_first ? first : co_await upstream.readResponseBody(buffer);
    if (r.ec) {
      // Headers are gone already: all that is left is to cut the response short.
      if (!attempt.client_gone) {
        log::warn(inbound_ ? "inbound" : "outbound", " response from ", target.address,
                  " aborted mid-body: ", r.ec.message());
      }
      co_return Outcome{head.status, true};
    }
    const http::HeaderMap* trailers = r.end ? &upstream.responseTrailers() : nullptr;
    const bool with_trailers = trailers != nullptr && trailers->size() > 0;
    if (r.n > 0 || !with_trailers) {
      if (auto ec = co_await stream.sendResponseBody(buffer.first(r.n), r.end && !with_trailers);
          ec) {
        co_return Outcome{head.status, true};
      }
    }
    if (with_trailers) {
      grpc_status(*trailers);
      if (auto ec = co_await stream.sendResponseTrailers(*trailers); ec) {
        co_return Outcome{head.status, true};
      }
    }
    if (r.end) co_return outcome;
  }
}

}  // namespace weft::pipeline
