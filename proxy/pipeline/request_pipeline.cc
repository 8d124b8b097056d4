#include "proxy/pipeline/request_pipeline.h"

#include <memory>

#include "common/strings.h"
#include "net/http/grpc_reply.h"
#include "net/http/local_reply.h"
#include "net/log.h"
#include "proxy/pipeline/authorization_filter.h"
#include "proxy/router/outbound_router.h"

namespace weft::pipeline {
namespace {

unsigned statusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kInternal:
      return 500;
    default:
      return 503;
  }
}

}  // namespace

RequestPipelineImpl::RequestPipelineImpl(WorkerContext& ctx, bool inbound)
    : ctx_(ctx),
      inbound_(inbound),
      hop_(inbound ? "app" : "upstream"),
      own_service_(weft::strCat(ctx.options.service, ".", ctx.options.ns)) {
  if (inbound) {
    filters_.push_back(std::make_unique<AuthorizationFilter>(ctx.options.service, ctx.options.ns));
  }
}

absl::Status RequestPipelineImpl::planInbound(http::ServerStream& stream,
                                              metrics::RequestLabels& labels, Plan& plan) {
  http::RequestHead& req = stream.request();
  // Only this proxy vouches for the caller: a client-sent identity header never passes.
  req.headers.set(std::string(http::kPeerIdentityHeader), stream.downstream().peer_identity);
  labels.dst_service = own_service_;
  labels.tls = true;
  // The app gets the protocol its caller spoke: a request the client sidecar carried over
  // HTTP/2 for an HTTP/1 caller says so in x-weft-orig-proto.
  bool h2c = false;
  switch (ctx_.options.app_protocol) {
    case config::AppProtocol::kAuto:
      h2c = stream.downstream().http2 && req.headers.get(http::kOrigProtoHeader) == nullptr;
      break;
    case config::AppProtocol::kHttp1:
      break;
    case config::AppProtocol::kH2c:
      h2c = true;
      break;
  }
  req.headers.remove(http::kOrigProtoHeader);
  plan.fixed = h2c ? &ctx_.app_target_h2c : &ctx_.app_target;
  return absl::OkStatus();
}

absl::Status RequestPipelineImpl::planOutbound(http::ServerStream& stream, WorkerSnapshot& snapshot,
                                               metrics::RequestLabels& labels, Plan& plan) {
  http::RequestHead& req = stream.request();
  req.headers.remove(http::kPeerIdentityHeader);
  if (stream.downstream().http2) {
    req.headers.remove(http::kOrigProtoHeader);
  } else {
    req.headers.set(std::string(http::kOrigProtoHeader), "HTTP/1.1");
  }
  labels.dst_service = "unknown";
  const std::string& original_dst = stream.downstream().original_dst;
  const api::Service* found = nullptr;
  if (!original_dst.empty()) {
    // Intercepted: the address the app dialled names the Service, whatever the Host header says.
    const AddressMatch match = snapshot.findAddress(original_dst);
    if (match.service == nullptr) {
      return absl::UnavailableError(weft::strCat("no service at ", original_dst,
                                                 " (the app's destination left the mesh config)"));
    }
    if (match.endpoint) return planPinned(*match.service, original_dst, snapshot, labels, plan);
    found = match.service;
  } else {
    auto svc = router::resolveAuthority(snapshot.mesh(), req.authority, ctx_.options.ns);
    if (!svc.ok()) return svc.status();
    found = *svc;
  }
  const api::Service& parent = *found;
  const router::RouteEntry* entry = snapshot.routes().match(parent, req);
  if (entry == nullptr) {
    labels.dst_service = snapshot.serviceLabel(parent);
    return absl::NotFoundError(weft::strCat("no route matched: ", req.method, " ", req.path,
                                            " to service ", parent.name, ".", parent.ns));
  }
  labels.route = entry->route_label;
  size_t picked = router::pickBackend(*entry, ctx_.random);
  if (picked == router::kNoBackend) {
    labels.dst_service = snapshot.serviceLabel(parent);
    return absl::InternalError(weft::strCat("no backend: every backendRef of route ",
                                            entry->route_label, " has weight 0"));
  }
  const router::Backend& backend = entry->backends[picked];
  labels.dst_service = snapshot.serviceLabel(*backend.service);
  labels.dst_subset = backend.subset;
  labels.tls = true;
  plan.rule = entry->rule;
  plan.hosts = snapshot.hostSet(backend);
  if (plan.hosts->empty()) {
    return absl::UnavailableError(
        weft::strCat("no endpoints for service ", labels.dst_service,
                     backend.subset.empty() ? "" : weft::strCat(" subset ", backend.subset)));
  }
  return absl::OkStatus();
}

absl::Status RequestPipelineImpl::planPinned(const api::Service& service, const std::string& key,
                                             WorkerSnapshot& snapshot,
                                             metrics::RequestLabels& labels, Plan& plan) {
  labels.dst_service = snapshot.serviceLabel(service);
  labels.route = "default";
  labels.tls = true;
  plan.hosts = snapshot.serviceState(service).hostSet("");
  plan.pinned = memberAt(*plan.hosts, key);
  if (plan.pinned != balancer::kNoEndpoint) return absl::OkStatus();
  return absl::UnavailableError(
      weft::strCat("endpoint ", key, " is no longer one of service ", labels.dst_service));
}

awaitable<void> RequestPipelineImpl::handle(http::ServerStream& stream) {
  auto start = std::chrono::steady_clock::now();
  metrics::RequestLabels labels;
  labels.inbound = inbound_;
  labels.authority = stream.request().authority;
  std::shared_ptr<WorkerSnapshot> snapshot = ctx_.snapshot;  // pinned for this request
  Plan plan;
  plan.snapshot = snapshot.get();
  absl::Status planned = absl::OkStatus();
  for (const auto& filter : filters_) {
    planned = filter->onRequest(stream.request(), stream.downstream(), *snapshot);
    if (!planned.ok()) break;
  }
  if (!planned.ok()) {
    if (inbound_) {  // refused by a filter: still counted as this Service's
      labels.dst_service = own_service_;
      labels.tls = true;
    }
  } else {
    planned = inbound_ ? planInbound(stream, labels, plan)
                       : planOutbound(stream, *snapshot, labels, plan);
  }
  metrics::TargetMetrics& target_metrics = ctx_.metrics.target(labels);
  target_metrics.recordRequest();
  Outcome outcome;
  if (!planned.ok()) {
    const std::string reason(weft::sv(planned.message()));
    outcome = co_await localReply(stream, statusFor(planned), reason);
  } else {
    outcome = co_await forward(stream, plan, start);
  }
  if (outcome.status != 0) {
    target_metrics.recordResponse(outcome.status, outcome.failure,
                                  std::chrono::steady_clock::now() - start, outcome.grpc_status);
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

awaitable<RequestPipelineImpl::Outcome> RequestPipelineImpl::localReply(http::ServerStream& stream,
                                                                        unsigned status,
                                                                        const std::string& reason) {
  const http::RequestHead& req = stream.request();
  log::warn(inbound_ ? "inbound" : "outbound", " request failed: status=", status,
            " authority=", req.authority, " path=", req.path, " reason=\"", reason, "\"");
  if (stream.responseStarted()) co_return Outcome{};
  if (http::isGrpcRequest(req)) {  // gRPC callers get a gRPC status, never an HTTP error body
    const http::ResponseHead head = http::grpcLocalReply(status, reason);
    co_await stream.sendResponseHead(head, true);
    co_return Outcome{head.status, true, static_cast<int>(http::grpcStatusForLocalReply(status))};
  }
  std::string body;
  const http::ResponseHead head = http::localReply(status, reason, body);
  if (auto ec = co_await stream.sendResponseHead(head, false); !ec) {
    co_await stream.sendResponseBody(body, true);
  }
  co_return Outcome{status, true};
}

}  // namespace weft::pipeline
