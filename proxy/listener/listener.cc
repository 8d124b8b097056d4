#include "proxy/listener/listener.h"

#include <boost/asio/socket_base.hpp>

#include "common/strings.h"
#include "identity/alpn.h"
#include "identity/credentials.h"
#include "net/deadline.h"
#include "net/error_text.h"
#include "net/log.h"
#include "net/original_dst.h"
#include "net/spawn_guard.h"
#include "net/tls_stream.h"
#include "proxy/listener/intercepted.h"
#include "proxy/listener/protocol_detect.h"
#include "proxy/listener/serve_http.h"

namespace weft::listener {
namespace {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

awaitable<void> serveOutbound(WorkerContext& ctx, Socket socket, http::StreamHandler& pipeline) {
  if (std::optional<tcp::endpoint> original = net::originalDestination(socket)) {
    co_await serveInterceptedOutbound(ctx, std::move(socket), *original, pipeline);
    co_return;
  }
  net::ConnectionStats stats(ctx.process_metrics.tcp(metrics::TcpRole::kOutboundSrc));
  // Coroutine arguments are named locals, never temporaries: GCC 12 destroys temporaries in a
  // co_await full-expression twice.
  TcpStream stream(std::move(socket));
  const http::DownstreamInfo info{false, false, ""};
  // HTTP/2 with prior knowledge or HTTP/1.1, from the first bytes; they go to the codec.
  beast::flat_buffer received;
  auto [ec, protocol] = co_await detectProtocol(stream, received, ctx.http1.idle_timeout);
  if (ec) {
    error_code ignored;
    stream.close(ignored);
    co_return;
  }
  if (protocol == Protocol::kHttp2) {
    auto bytes = received.data();
    const std::string_view preface(static_cast<const char*>(bytes.data()), bytes.size());
    co_await serveHttp2(ctx, std::move(stream), info, pipeline, stats, preface);
  } else {
    co_await serveHttp1(ctx, std::move(stream), info, pipeline, stats, std::move(received));
  }
}

awaitable<void> serveInbound(WorkerContext& ctx, Socket socket, tcp::endpoint remote,
                             http::StreamHandler& pipeline) {
  // Redirected by iptables (the app's port, not ours): plaintext is refused unless permissive.
  const std::optional<tcp::endpoint> original = net::originalDestination(socket);
  if (original) {
    const bool tls = co_await screenInbound(ctx, socket, remote, *original);
    if (!tls) {
      error_code ignored;
      socket.close(ignored);
      co_return;
    }
  }
  net::ConnectionStats stats(ctx.process_metrics.tcp(metrics::TcpRole::kInboundSrc));
  error_code ignored;
  std::shared_ptr<const identity::Credentials> creds = ctx.credentials;  // this connection's
  TlsStream stream(std::move(socket), creds->serverContext());
  error_code ec;
  {
    Deadline deadline(beast::get_lowest_layer(stream));
    deadline.arm(ctx.options.connect_timeout);
    auto [hec] = co_await stream.handshake(TlsStream::Role::kServer);
    ec = timedOut(deadline, hec);
  }
  if (ec) {
    log::warn("inbound tls handshake from ", remote.address().to_string(), ":", remote.port(),
              " refused: ", tlsErrorText(ec, stream.native_handle()));
    beast::get_lowest_layer(stream).close(ignored);
    co_return;
  }
  auto peer = identity::peerIdentity(stream.native_handle());
  if (!peer.ok()) {  // unreachable: the handshake's verify callback requires it
    log::warn("inbound connection without a SPIFFE identity: ", peer.status().message());
    co_return;
  }
  if (identity::negotiatedOpaque(stream.native_handle())) {
    const tcp::endpoint app =
        original ? *original
                 : tcp::endpoint(asio::ip::make_address(ctx.options.app.host, ignored),
                                 ctx.options.app.port);
    co_await relayInboundOpaque(ctx, stream, stats, *peer, app);
    co_return;
  }
  const http::DownstreamInfo info{true, true, *peer};
  if (identity::negotiatedHttp2(stream.native_handle())) {
    identity::keepRecordBuffers(stream.native_handle());
    const std::string_view none;
    co_await serveHttp2(ctx, std::move(stream), info, pipeline, stats, none);
  } else {
    beast::flat_buffer received;
    co_await serveHttp1(ctx, std::move(stream), info, pipeline, stats, std::move(received));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<tcp::acceptor>> bindReusePort(asio::io_context& io,
                                                             const api::HostPort& address,
                                                             bool listen) {
  error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(address.host, ec), address.port);
  auto fail = [&](std::string_view step) {
    return absl::UnavailableError(
        weft::strCat("cannot ", step, " ", address.host, ":", address.port, ": ", ec.message()));
  };
  if (ec) return fail("parse");
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  if (acceptor->open(endpoint.protocol(), ec); ec) return fail("open");
  acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (acceptor->set_option(ReusePort(true), ec); ec) return fail("set SO_REUSEPORT on");
  if (acceptor->bind(endpoint, ec); ec) return fail("bind");
  if (!listen) return acceptor;
  if (acceptor->listen(asio::socket_base::max_listen_connections, ec); ec) return fail("listen on");
  return acceptor;
}

absl::Status startListening(tcp::acceptor& acceptor) {
  error_code ec;
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(weft::strCat(
        "cannot listen on port ", acceptor.local_endpoint(ec).port(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

awaitable<void> acceptLoop(WorkerContext& ctx, tcp::acceptor& acceptor, bool inbound,
                           http::StreamHandler& pipeline) {
  for (;;) {
    // Accepted onto this worker's io_context with its concrete executor type.
    tcp::endpoint peer;  // filled by accept4 itself: no getpeername per connection
    auto [ec, socket] = co_await acceptor.async_accept(ctx.io, peer, kUseTuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: say so and back off instead of spinning.
      log::error("accept failed: ", ec.message());
      asio::steady_timer pause(ctx.io, std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (inbound) {
      asio::co_spawn(ctx.io, serveInbound(ctx, std::move(socket), peer, pipeline),
                     SpawnGuard({"inbound connection", peer}));
    } else {
      asio::co_spawn(ctx.io, serveOutbound(ctx, std::move(socket), pipeline),
                     SpawnGuard({"outbound connection", peer}));
    }
  }
}

}  // namespace weft::listener
