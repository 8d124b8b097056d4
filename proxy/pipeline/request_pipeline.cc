#include "proxy/pipeline/request_pipeline.h"

#include <memory>

#include <boost/beast/http/error.hpp>

#include "common/strings.h"
#include "proxy/common/log.h"
#include "proxy/http/local_reply.h"

namespace weft::pipeline {
namespace {

constexpr size_t kBodyChunk = 16 * 1024;

bool isTimeout(const error_code& ec) { return ec == beast::error::timeout; }

// A reused keep-alive connection the peer closed meanwhile fails this way; the request is safe
// to send again on a new connection if none of its body was consumed.
bool isStaleConnection(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == beast::http::error::end_of_stream ||
         ec == asio::ssl::error::stream_truncated;
}

std::string describe(const error_code& ec) {
  std::string s = ec.message();
  if (auto pos = s.find(" (SSL routines)"); pos != std::string::npos) s.erase(pos);
  return s;
}

}  // namespace

RequestPipelineImpl::RequestPipelineImpl(WorkerContext& ctx, bool inbound)
    : ctx_(ctx),
      inbound_(inbound),
      own_service_(weft::strCat(ctx.options.service, ".", ctx.options.ns)) {}

absl::StatusOr<const upstream::Target*> RequestPipelineImpl::resolve(
    http::ServerStream& stream, WorkerSnapshot& snapshot, metrics::RequestLabels& labels) {
  http::RequestHead& req = stream.request();
  labels.inbound = inbound_;
  labels.authority = req.authority;
  if (inbound_) {
    // Only this proxy vouches for the caller: a client-sent identity header never passes.
    req.headers.set(std::string(http::kPeerIdentityHeader), stream.downstream().peer_identity);
    labels.dst_service = own_service_;
    labels.tls = true;
    return &ctx_.app_target;
  }
  req.headers.remove(http::kPeerIdentityHeader);
  auto route = ctx_.router.route(snapshot.mesh(), req.authority);
  if (!route.ok()) {
    labels.dst_service = "unknown";
    return route.status();
  }
  labels.dst_service = weft::strCat(route->service->name, ".", route->service->ns);
  labels.tls = true;
  return &snapshot.targetFor(*route->endpoint);
}

awaitable<void> RequestPipelineImpl::handle(http::ServerStream& stream) {
  auto start = std::chrono::steady_clock::now();
  metrics::RequestLabels labels;
  std::shared_ptr<WorkerSnapshot> snapshot = ctx_.snapshot;  // pinned for this request
  auto target = resolve(stream, *snapshot, labels);
  metrics::TargetMetrics& target_metrics = ctx_.metrics.target(labels);
  target_metrics.recordRequest();
  Outcome outcome;
  if (!target.ok()) {
    unsigned status = target.status().code() == absl::StatusCode::kNotFound ? 404 : 503;
    const std::string reason(weft::sv(target.status().message()));
    outcome = co_await localReply(stream, status, reason);
  } else {
    outcome = co_await forward(stream, **target);
  }
  if (outcome.status != 0) {
    target_metrics.recordResponse(outcome.status, outcome.failure,
                                  std::chrono::steady_clock::now() - start);
  }
}

std::unique_ptr<char[]> RequestPipelineImpl::takeBuffer() {
  if (free_buffers_.empty()) return std::unique_ptr<char[]>(new char[kBodyChunk]);
  std::unique_ptr<char[]> buffer = std::move(free_buffers_.back());
  free_buffers_.pop_back();
  return buffer;
}

void RequestPipelineImpl::returnBuffer(std::unique_ptr<char[]> buffer) {
  constexpr size_t kMaxFree = 64;
  if (buffer && free_buffers_.size() < kMaxFree) free_buffers_.push_back(std::move(buffer));
}

awaitable<RequestPipelineImpl::Outcome> RequestPipelineImpl::forward(
    http::ServerStream& stream, const upstream::Target& target) {
  const http::RequestHead& req = stream.request();
  const char* hop = inbound_ ? "app" : "upstream";
  struct BufferLease {  // back to the worker's free list on every exit path
    RequestPipelineImpl& owner;
    std::unique_ptr<char[]> storage;
    ~BufferLease() { owner.returnBuffer(std::move(storage)); }
  } lease_buffer{*this, takeBuffer()};
  std::span<char> buffer(lease_buffer.storage.get(), kBodyChunk);
  bool body_consumed = false;

  for (int attempt = 0;; ++attempt) {
    auto lease = co_await ctx_.pool.acquire(target, attempt == 0);
    if (!lease.ok()) {
      const std::string reason =
          weft::strCat(hop, " connect failed: ", target.address, ": ", lease.status().message());
      co_return co_await localReply(stream, 503, reason);
    }
    http::ClientConnection& conn = *lease->connection;
    http::ClientStream& upstream = conn.startStream();
    auto retry_or_fail = [&](const error_code& ec, std::string_view what) -> std::string {
      conn.close();
      if (lease->reused && !body_consumed && isStaleConnection(ec)) return {};
      // On a fresh TLS connection a rejected client certificate surfaces at the first read.
      std::string_view failed =
          !lease->reused && target.tls && ec.category() == asio::error::get_ssl_category()
              ? "connect failed"
              : what;
      return weft::strCat(hop, " ", failed, ": ", target.address, ": ", describe(ec));
    };

    if (auto ec = co_await upstream.sendRequestHead(req, !stream.requestBodyBuffered()); ec) {
      std::string reason = retry_or_fail(ec, "write failed");
      if (reason.empty()) continue;
      co_return co_await localReply(stream, 502, reason);
    }
    if (req.body.present) {
      body_consumed = true;
      for (;;) {
        http::BodyRead r = co_await stream.readRequestBody(buffer);
        if (r.ec) {
          conn.close();
          log::info(inbound_ ? "inbound" : "outbound",
                    " request body aborted by client: ", describe(r.ec));
          co_return Outcome{};
        }
        if (auto ec = co_await upstream.sendRequestBody(buffer.first(r.n), r.end); ec) {
          const std::string reason = retry_or_fail(ec, "write failed");
          co_return co_await localReply(stream, 502, reason);
        }
        if (r.end) break;
      }
    }

    http::ResponseHead head;
    if (auto ec = co_await upstream.readResponseHead(head); ec) {
      std::string reason = retry_or_fail(
          ec, isTimeout(ec) ? "response timed out" : "closed before response headers");
      if (reason.empty()) continue;
      co_return co_await localReply(stream, isTimeout(ec) ? 504 : 502, reason);
    }
    Outcome outcome = co_await pumpResponse(stream, upstream, head, buffer, target);
    ctx_.pool.release(target, std::move(lease->connection));
    co_return outcome;
  }
}

awaitable<RequestPipelineImpl::Outcome> RequestPipelineImpl::pumpResponse(
    http::ServerStream& stream, http::ClientStream& upstream, http::ResponseHead& head,
    std::span<char> buffer, const upstream::Target& target) {
  Outcome outcome{head.status, head.status >= 500};
  if (auto ec = co_await stream.sendResponseHead(head, !upstream.responseBodyBuffered()); ec) {
    co_return Outcome{head.status, true};
  }
  if (!head.body.present) co_return outcome;
  for (;;) {
    http::BodyRead r = co_await upstream.readResponseBody(buffer);
    if (r.ec) {
      // Headers are gone already: all that is left is to cut the response short.
      log::warn(inbound_ ? "inbound" : "outbound", " response from ", target.address,
                " aborted mid-body: ", describe(r.ec));
      co_return Outcome{head.status, true};
    }
    if (auto ec = co_await stream.sendResponseBody(buffer.first(r.n), r.end); ec) {
      co_return Outcome{head.status, true};
    }
    if (r.end) co_return outcome;
  }
}

awaitable<RequestPipelineImpl::Outcome> RequestPipelineImpl::localReply(http::ServerStream& stream,
                                                                        unsigned status,
                                                                        const std::string& reason) {
  const http::RequestHead& req = stream.request();
  log::warn(inbound_ ? "inbound" : "outbound", " request failed: status=", status,
            " authority=", req.authority, " path=", req.path, " reason=\"", reason, "\"");
  if (stream.responseStarted()) co_return Outcome{};
  std::string body;
  const http::ResponseHead head = http::localReply(status, reason, body);
  if (auto ec = co_await stream.sendResponseHead(head, false); !ec) {
    co_await stream.sendResponseBody(body, true);
  }
  co_return Outcome{status, true};
}

}  // namespace weft::pipeline
