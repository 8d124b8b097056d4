#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "net/asio.h"
#include "net/http/codec.h"
#include "proxy/context/worker_context.h"
#include "proxy/metrics/metrics.h"
#include "proxy/pipeline/request_filter.h"
#include "proxy/pipeline/upstream_try.h"
#include "proxy/upstream/connector.h"

namespace weft::pipeline {

// The per-request path, codec-neutral: filters on the request head, the router, the upstream
// exchange (tries with deadlines, retries and the circuit breaker) with both bodies streamed,
// and the golden metrics. One instance per worker and direction.
//
//   inbound:  filters (authorization) -> strip client-sent x-weft-peer-identity, add the
//             verified one -> app (plain)
//   outbound: authority -> Service -> HTTPRoute rule -> weighted backend -> balanced endpoint
//             -> peer sidecar (mTLS, identity checked)
class RequestPipelineImpl final : public http::StreamHandler {
 public:
  static constexpr size_t kBodyChunk = 16 * 1024;

  RequestPipelineImpl(WorkerContext& ctx, bool inbound);

  // http::StreamHandler
  awaitable<void> handle(http::ServerStream& stream) override;

 private:
  // What the exchange came to, for the metrics.
  struct Outcome {
    unsigned status = 0;  // 0: no response could be sent (the client or upstream went away)
    bool failure = true;
    int grpc_status = -1;  // a gRPC response's status, when known
  };

  // Where a request goes: the app (inbound), or a host set chosen by the route (outbound).
  struct Plan {
    WorkerSnapshot* snapshot = nullptr;
    const api::RouteRule* rule = nullptr;     // timeouts and retries; none without a route
    std::shared_ptr<HostSetState> hosts;      // outbound: held while its endpoints are in use
    const upstream::Target* fixed = nullptr;  // inbound: the app
    // Outbound to a pod's own address (an intercepted connection to one endpoint): every try
    // goes to this endpoint of `hosts`, unbalanced.
    uint32_t pinned = balancer::kNoEndpoint;
  };

  absl::Status planInbound(http::ServerStream& stream, metrics::RequestLabels& labels, Plan& plan);
  absl::Status planOutbound(http::ServerStream& stream, WorkerSnapshot& snapshot,
                            metrics::RequestLabels& labels, Plan& plan);
  // An intercepted connection's request to one endpoint of `service` (at `key`).
  absl::Status planPinned(const api::Service& service, const std::string& key,
                          WorkerSnapshot& snapshot, metrics::RequestLabels& labels, Plan& plan);
  std::unique_ptr<char[]> takeBuffer();
  void returnBuffer(std::unique_ptr<char[]> buffer);
  awaitable<Outcome> forward(http::ServerStream& stream, const Plan& plan,
                             std::chrono::steady_clock::time_point start);
  // Sets `retry` when the try may and should be repeated; counts what stopped it otherwise.
  bool shouldRetry(const Plan& plan, const http::RequestHead& request, const Attempt& attempt,
                   const BodySource& body, bool replayable, uint32_t attempts_left,
                   std::optional<std::chrono::steady_clock::time_point> request_deadline);
  awaitable<bool> readReplayBody(http::ServerStream& stream, std::span<char> buffer,
                                 std::string& out);
  awaitable<Outcome> pumpResponse(http::ServerStream& stream, Attempt& attempt,
                                  std::span<char> buffer, const upstream::Target& target);
  awaitable<Outcome> localReply(http::ServerStream& stream, unsigned status,
                                const std::string& reason);

  WorkerContext& ctx_;
  bool inbound_;
  const char* hop_;          // "app" or "upstream", as errors name the next hop
  std::string own_service_;  // "<name>.<namespace>", the inbound dst_service label
  std::vector<std::unique_ptr<char[]>> free_buffers_;    // body buffers, reused across requests
  std::vector<std::unique_ptr<RequestFilter>> filters_;  // run in order before the router
};

}  // namespace weft::pipeline
