#include "proxy/listener/intercepted.h"

#include <boost/beast/core/flat_buffer.hpp>

#include "common/strings.h"
#include "control/api/address.h"
#include "control/api/authorize.h"
#include "net/deadline.h"
#include "net/dial.h"
#include "net/log.h"
#include "net/stream_io.h"
#include "net/tcp_relay.h"
#include "proxy/listener/protocol_detect.h"
#include "proxy/listener/serve_http.h"

namespace weft::listener {
namespace {

using metrics::Detected;
using metrics::TcpRole;

std::string keyOf(const tcp::endpoint& endpoint) {
  return api::addressKey(endpoint.address().to_string(), endpoint.port());
}

std::string_view bytesOf(const beast::flat_buffer& buffer) {
  auto data = buffer.data();
  return std::string_view(static_cast<const char*>(data.data()), data.size());
}

Detected detectedOf(const Detection& d, std::chrono::steady_clock::duration timeout) {
  switch (d.protocol) {
    case Protocol::kHttp1:
      return Detected::kHttp1;
    case Protocol::kHttp2:
      return Detected::kHttp2;
    case Protocol::kTls:
      return Detected::kTls;
    default:
      return d.elapsed >= timeout ? Detected::kTimeout : Detected::kOpaque;
  }
}

// Sends what detection already read (if anything), then relays both ways.
template <typename Downstream, typename Upstream>
awaitable<void> relayWith(WorkerContext& ctx, Downstream& down, net::ConnectionStats& down_stats,
                          const beast::flat_buffer& received, Upstream& upstream,
                          net::ConnectionStats& upstream_stats, const std::string& what) {
  RelayScope scope(ctx);
  if (received.size() > 0) {
    auto [ec, n] = co_await io::writeAll(upstream, received.data());
    upstream_stats.wrote(n);
    if (ec) {
      log::warn(what, ": write failed: ", ec.message());
      co_return;
    }
  }
  auto result = co_await net::relay(down, down_stats, upstream, upstream_stats,
                                    ctx.options.tunnel_idle_timeout);
  if (result.error) log::debug(what, " ended: ", result.error.message());
}

// Inbound, bytes for the app at `app` from `caller` ("" when unauthenticated): admitted as a
// connection by this Service's AuthorizationPolicies, then relayed.
template <typename Stream>
awaitable<void> relayToApp(WorkerContext& ctx, Stream& stream, net::ConnectionStats& stats,
                           const std::string& caller, const tcp::endpoint& app,
                           const std::string& what) {
  auto decision =
      api::authorizeConnection(ctx.snapshot->mesh(), ctx.options.service, ctx.options.ns, caller);
  if (!decision.allowed) {
    log::warn(what, " refused: ", decision.reason);
    co_return;
  }
  auto upstream = co_await net::dialTcp(ctx.io.get_executor(), app, ctx.options.connect_timeout);
  if (!upstream.ok()) {
    log::warn(what, ": app unreachable: ", upstream.status().message());
    co_return;
  }
  net::ConnectionStats app_stats(ctx.process_metrics.tcp(TcpRole::kInboundDst));
  const beast::flat_buffer nothing;
  co_await relayWith(ctx, stream, stats, nothing, *upstream, app_stats, what);
}

// Outside the mesh: to `original` as the app sent it.
awaitable<void> relayDirect(WorkerContext& ctx, TcpStream& app, net::ConnectionStats& app_stats,
                            const beast::flat_buffer& received, const tcp::endpoint& original) {
  const std::string what = weft::strCat("outbound opaque connection to ", keyOf(original));
  auto upstream =
      co_await net::dialTcp(ctx.io.get_executor(), original, ctx.options.connect_timeout);
  if (!upstream.ok()) {
    log::warn(what, " (not in the mesh) failed: ", upstream.status().message());
    co_return;
  }
  net::ConnectionStats stats(ctx.process_metrics.tcp(TcpRole::kOutboundDstPlain));
  co_await relayWith(ctx, app, app_stats, received, *upstream, stats, what);
}

// A mesh destination that does not speak HTTP: mTLS to a sidecar of `match.service`, which
// relays the bytes to its app. Dialled at a pod's own address, the connection goes there (its
// sidecar's rules redirect it, and the port tells that sidecar which app port is meant); at a
// virtual IP, to a balanced endpoint's address (its sidecar relays to its --app).
awaitable<void> relayMesh(WorkerContext& ctx, TcpStream& app, net::ConnectionStats& app_stats,
                          const beast::flat_buffer& received, const tcp::endpoint& original) {
  const std::string key = keyOf(original);
  std::shared_ptr<WorkerSnapshot> snapshot = ctx.snapshot;
  const AddressMatch match = snapshot->findAddress(key);
  if (match.service == nullptr) {
    log::warn("outbound opaque connection to ", key, ": no longer in the mesh config");
    co_return;
  }
  const std::string& label = snapshot->serviceLabel(*match.service);
  std::shared_ptr<HostSetState> hosts = snapshot->serviceState(*match.service).hostSet("");
  const uint32_t endpoint =
      match.endpoint ? memberAt(*hosts, key)
                     : hosts->pick(ctx.random, balancer::Clock::now(), balancer::kNoEndpoint);
  if (endpoint == balancer::kNoEndpoint) {
    log::warn("outbound opaque connection to ", key, ": no endpoints for service ", label);
    co_return;
  }
  const upstream::Target& target = hosts->target(endpoint);
  const std::string what = weft::strCat("outbound opaque connection to ", key, " (service ", label,
                                        ", endpoint ", target.address, ")");
  error_code ec;
  const tcp::endpoint to =
      match.endpoint
          ? original
          : tcp::endpoint(asio::ip::make_address(target.host_port.host, ec), target.host_port.port);
  const auto timeout = target.connect_timeout.value_or(ctx.options.connect_timeout);
  auto fail = [&](const absl::Status& status) {
    hosts->onResult(endpoint, balancer::Result::kConnectFailure, balancer::Clock::now());
    log::warn(what, " failed: ", status.message());
  };
  auto tcp = co_await net::dialTcp(ctx.io.get_executor(), to, timeout);
  if (!tcp.ok()) {
    fail(tcp.status());
    co_return;
  }
  std::shared_ptr<const identity::Credentials> creds = ctx.credentials;
  auto tls = co_await net::handshakeMtls(std::move(*tcp), creds->clientContext(), target.identity,
                                         net::MeshAlpn::kOpaque, timeout);
  if (!tls.ok()) {
    fail(tls.status());
    co_return;
  }
  hosts->onResult(endpoint, balancer::Result::kSuccess, balancer::Clock::now());
  net::ConnectionStats stats(ctx.process_metrics.tcp(TcpRole::kOutboundDst));
  co_await relayWith(ctx, app, app_stats, received, *tls, stats, what);
}

}  // namespace

awaitable<void> serveInterceptedOutbound(WorkerContext& ctx, TcpStream stream,
                                         tcp::endpoint original, http::StreamHandler& pipeline) {
  net::ConnectionStats stats(ctx.process_metrics.tcp(TcpRole::kOutboundSrc));
  const std::string key = keyOf(original);
  const bool in_mesh = ctx.snapshot->findAddress(key).service != nullptr;
  beast::flat_buffer received;
  if (!in_mesh) {
    co_await relayDirect(ctx, stream, stats, received, original);
    co_return;
  }
  if (ctx.options.opaquePort(original.port())) {
    co_await relayMesh(ctx, stream, stats, received, original);
    co_return;
  }
  const Detection detected =
      co_await detectIntercepted(stream, received, ctx.options.detect_timeout);
  if (detected.ec) {  // closed before a byte: nothing to route
    error_code ignored;
    stream.close(ignored);
    co_return;
  }
  ctx.process_metrics.recordDetection(detectedOf(detected, ctx.options.detect_timeout),
                                      detected.elapsed);
  http::DownstreamInfo info;
  info.original_dst = key;
  switch (detected.protocol) {
    case Protocol::kHttp1:
      co_await serveHttp1(ctx, std::move(stream), info, pipeline, stats, std::move(received));
      break;
    case Protocol::kHttp2: {
      const std::string preface(bytesOf(received));
      co_await serveHttp2(ctx, std::move(stream), info, pipeline, stats, preface);
      break;
    }
    default:
      co_await relayMesh(ctx, stream, stats, received, original);
  }
}

awaitable<bool> screenInbound(WorkerContext& ctx, TcpStream& stream, const tcp::endpoint& remote,
                              const tcp::endpoint& original) {
  // A mesh caller starts with a TLS handshake record; wait for its first byte and peek at it.
  bool timed_out = false;
  {
    Deadline deadline(stream);
    deadline.arm(ctx.options.connect_timeout, Deadline::OnExpiry::kCancel);
    auto [ec] = co_await stream.async_wait(tcp::socket::wait_read, kUseTuple);
    timed_out = deadline.expired();
    if (ec && !timed_out) co_return false;
  }
  char first = 0;
  error_code ec;
  const size_t n =
      timed_out ? 0 : stream.receive(asio::buffer(&first, 1), tcp::socket::message_peek, ec);
  if (!timed_out && (ec || n == 0)) co_return false;  // closed before a byte
  if (!timed_out && first == '\x16') co_return true;
  const std::string from =
      weft::strCat(remote.address().to_string(), ":", remote.port(), " to port ", original.port());
  if (!ctx.options.permissivePort(original.port())) {
    log::warn("inbound plaintext connection from ", from,
              " refused: mesh mTLS required (the port is not in --permissive-ports)");
    co_return false;
  }
  net::ConnectionStats stats(ctx.process_metrics.tcp(TcpRole::kInboundSrcPlain));
  const std::string what = weft::strCat("inbound plaintext connection from ", from);
  co_await relayToApp(ctx, stream, stats, "", original, what);
  co_return false;
}

awaitable<void> relayInboundOpaque(WorkerContext& ctx, TlsStream& stream,
                                   net::ConnectionStats& stats, const std::string& peer,
                                   const tcp::endpoint& app) {
  const std::string what =
      weft::strCat("inbound opaque connection from ", peer, " to ", keyOf(app));
  co_await relayToApp(ctx, stream, stats, peer, app, what);
}

}  // namespace weft::listener
