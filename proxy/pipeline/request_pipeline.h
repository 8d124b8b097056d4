#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/common/asio.h"
#include "proxy/context/worker_context.h"
#include "proxy/http/codec.h"
#include "proxy/metrics/metrics.h"
#include "proxy/upstream/connector.h"

namespace weft::pipeline {

// The per-request path, codec-neutral: filters on the request head, the router, the upstream
// exchange through the pool with both bodies streamed, and the golden metrics. One instance per
// worker and direction.
//
//   inbound:  strip client-sent x-weft-peer-identity, add the verified one -> app (plain)
//   outbound: authority -> Service -> endpoint -> peer sidecar (mTLS, identity checked)
class RequestPipelineImpl final : public http::StreamHandler {
 public:
  RequestPipelineImpl(WorkerContext& ctx, bool inbound);

  // http::StreamHandler
  awaitable<void> handle(http::ServerStream& stream) override;

 private:
  // What the exchange came to, for the metrics.
  struct Outcome {
    unsigned status = 0;  // 0: no response could be sent (the client or upstream went away)
    bool failure = true;
  };

  absl::StatusOr<const upstream::Target*> resolve(http::ServerStream& stream,
                                                  WorkerSnapshot& snapshot,
                                                  metrics::RequestLabels& labels);
  std::unique_ptr<char[]> takeBuffer();
  void returnBuffer(std::unique_ptr<char[]> buffer);
  awaitable<Outcome> forward(http::ServerStream& stream, const upstream::Target& target);
  awaitable<Outcome> pumpResponse(http::ServerStream& stream, http::ClientStream& upstream,
                                  http::ResponseHead& head, std::span<char> buffer,
                                  const upstream::Target& target);
  awaitable<Outcome> localReply(http::ServerStream& stream, unsigned status,
                                const std::string& reason);

  WorkerContext& ctx_;
  bool inbound_;
  std::string own_service_;  // "<name>.<namespace>", the inbound dst_service label
  std::vector<std::unique_ptr<char[]>> free_buffers_;  // body buffers, reused across requests
};

}  // namespace weft::pipeline
