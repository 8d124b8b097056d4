#include "proxy/context/worker_context.h"

namespace weft {

const upstream::Target& WorkerSnapshot::targetFor(const api::Endpoint& endpoint) {
  auto it = targets_.find(&endpoint);
  if (it == targets_.end()) {
    it = targets_
             .emplace(&endpoint, upstream::Target::mtls({endpoint.host, endpoint.port},
                                                        endpoint.address, endpoint.identity))
             .first;
  }
  return it->second;
}

WorkerContext::WorkerContext(asio::io_context& io_context, const config::Options& opts,
                             metrics::Metrics& process_metrics,
                             api::MeshConfigConstSharedPtr initial_mesh,
                             std::shared_ptr<const identity::Credentials> initial_credentials)
    : io(io_context),
      options(opts),
      process_metrics(process_metrics),
      http1{opts.max_header_bytes, opts.idle_timeout, opts.read_timeout},
      snapshot(std::make_shared<WorkerSnapshot>(std::move(initial_mesh))),
      credentials(std::move(initial_credentials)),
      metrics(process_metrics),
      router(opts.ns),
      connector(io_context.get_executor(), http1, opts.connect_timeout, process_metrics,
                [this] { return credentials; }),
      pool(connector, opts.pool_idle_timeout),
      app_target(upstream::Target::plain(opts.app)) {}

}  // namespace weft
