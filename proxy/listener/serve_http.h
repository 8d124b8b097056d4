#pragma once

// Serving one accepted connection with an HTTP codec, registered with its worker for drains.
// Shared by the listeners and the intercepted-traffic paths.

#include <string_view>
#include <utility>

#include <boost/beast/core/flat_buffer.hpp>

#include "net/http/codec.h"
#include "net/http/http1/server_codec.h"
#include "net/http/http2/server_codec.h"
#include "proxy/context/worker_context.h"

namespace weft::listener {

// Registers a connection for drains and counts it while it lives.
class ConnectionScope {
 public:
  ConnectionScope(WorkerContext& ctx, http::ServerConnection& conn) : ctx_(ctx), conn_(conn) {
    ctx_.connections.insert(&conn_);
    ctx_.active_connections.fetch_add(1, std::memory_order_relaxed);
    if (ctx_.draining) conn_.drain();
  }
  ~ConnectionScope() {
    ctx_.connections.erase(&conn_);
    ctx_.active_connections.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  WorkerContext& ctx_;
  http::ServerConnection& conn_;
};

// Counts an opaque relay among the worker's connections: a drain waits for it (up to its grace
// period), as it does for HTTP connections.
class RelayScope {
 public:
  explicit RelayScope(WorkerContext& ctx) : ctx_(ctx) {
    ctx_.active_connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~RelayScope() { ctx_.active_connections.fetch_sub(1, std::memory_order_relaxed); }
  RelayScope(const RelayScope&) = delete;
  RelayScope& operator=(const RelayScope&) = delete;

 private:
  WorkerContext& ctx_;
};

template <typename Stream>
awaitable<void> serveHttp1(WorkerContext& ctx, Stream&& stream, const http::DownstreamInfo& info,
                           http::StreamHandler& pipeline, net::ConnectionStats& stats,
                           beast::flat_buffer&& received) {
  http::http1::ServerConnectionImpl<Stream> conn(std::move(stream), info, pipeline, ctx.http1,
                                                 stats, std::move(received));
  ConnectionScope scope(ctx, conn);
  co_await conn.run();
}

template <typename Stream>
awaitable<void> serveHttp2(WorkerContext& ctx, Stream&& stream, const http::DownstreamInfo& info,
                           http::StreamHandler& pipeline, net::ConnectionStats& stats,
                           std::string_view received) {
  http::http2::ServerConnectionImpl<Stream> conn(std::move(stream), info, pipeline, ctx.http2,
                                                 stats, received);
  ConnectionScope scope(ctx, conn);
  co_await conn.run();
}

}  // namespace weft::listener
