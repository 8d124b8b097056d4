#include "proxy/server/worker.h"

#include "net/spawn_guard.h"
#include "proxy/listener/listener.h"

namespace weft::proxy {

Worker::Worker(const config::Options& options, metrics::Metrics& metrics,
               router::RouteTableConstSharedPtr routes,
               std::shared_ptr<const identity::Credentials> creds)
    : ctx_(std::make_unique<WorkerContext>(thread_.io(), options, metrics, std::move(routes),
                                           std::move(creds))),
      outbound_pipeline_(std::make_unique<pipeline::RequestPipelineImpl>(*ctx_, false)),
      inbound_pipeline_(std::make_unique<pipeline::RequestPipelineImpl>(*ctx_, true)) {}

Worker::~Worker() {
  thread_.stop();
  ctx_->pool.closeAll();
  outbound_acceptor_.reset();
  inbound_acceptor_.reset();
  thread_.destroyContext();  // destroys suspended coroutines while what they use still exists
}

absl::Status Worker::bind() {
  if (absl::Status s = thread_.open(); !s.ok()) return s;
  // Claimed now, opened by start(): a proxy waiting for its certificate refuses connections.
  auto outbound = listener::bindReusePort(thread_.io(), ctx_->options.outbound, false);
  if (!outbound.ok()) return outbound.status();
  auto inbound = listener::bindReusePort(thread_.io(), ctx_->options.inbound, false);
  if (!inbound.ok()) return inbound.status();
  outbound_acceptor_ = std::move(*outbound);
  inbound_acceptor_ = std::move(*inbound);
  return absl::OkStatus();
}

absl::Status Worker::start(std::shared_ptr<const identity::Credentials> creds) {
  if (creds) ctx_->credentials = std::move(creds);  // the thread is not running yet
  if (auto st = listener::startListening(*outbound_acceptor_); !st.ok()) return st;
  if (auto st = listener::startListening(*inbound_acceptor_); !st.ok()) return st;
  asio::io_context& io = thread_.io();
  asio::co_spawn(io, listener::acceptLoop(*ctx_, *outbound_acceptor_, false, *outbound_pipeline_),
                 SpawnGuard({"outbound accept loop"}));
  asio::co_spawn(io, listener::acceptLoop(*ctx_, *inbound_acceptor_, true, *inbound_pipeline_),
                 SpawnGuard({"inbound accept loop"}));
  asio::co_spawn(io, sweepPool(), SpawnGuard({"pool sweep"}));
  thread_.start();
  return absl::OkStatus();
}

awaitable<void> Worker::sweepPool() {
  asio::steady_timer timer(thread_.io());
  while (!ctx_->draining) {
    timer.expires_after(std::chrono::seconds(5));
    co_await timer.async_wait(kUseTuple);
    ctx_->pool.evictExpired();
    ctx_->snapshot->refreshGauges(std::chrono::steady_clock::now());
  }
}

void Worker::updateRoutes(router::RouteTableConstSharedPtr routes) {
  // std::function needs a copyable closure: the snapshot goes in a shared_ptr copy anyway.
  thread_.post([this, routes = std::move(routes)] { ctx_->installRoutes(routes); });
}

void Worker::updateEndpoints(std::vector<std::pair<std::string, EndpointListPtr>> changes) {
  auto shared = std::make_shared<const decltype(changes)>(std::move(changes));
  thread_.post([this, shared] {
    for (const auto& [key, list] : *shared) ctx_->updateEndpoints(key, list);
  });
}

void Worker::updateCredentials(std::shared_ptr<const identity::Credentials> creds) {
  thread_.post([this, creds = std::move(creds)] { ctx_->credentials = creds; });
}

void Worker::drain() {
  thread_.post([this] {
    ctx_->draining = true;
    error_code ignored;
    outbound_acceptor_->close(ignored);
    inbound_acceptor_->close(ignored);
    // drain() may end a connection, which erases it from the set: iterate over a copy.
    std::vector<http::ServerConnection*> open(ctx_->connections.begin(), ctx_->connections.end());
    for (auto* conn : open) conn->drain();
    ctx_->pool.closeIdle();
  });
}

int Worker::activeConnections() const {
  return ctx_->active_connections.load(std::memory_order_relaxed);
}

void Worker::stop() { thread_.stop(); }

}  // namespace weft::proxy
