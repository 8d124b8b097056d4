#include "proxy/upstream/connector.h"

#include <openssl/ssl.h>

#include "common/strings.h"
#include "proxy/common/deadline.h"
#include "proxy/common/error_text.h"
#include "proxy/common/stream_io.h"
#include "proxy/common/tls_stream.h"
#include "proxy/http/http1/client_codec.h"
#include "proxy/http/http1/stream_ops.h"
#include "proxy/http/http2/client_connection.h"

namespace weft::upstream {
namespace {

// "tls handshake: certificate verify failed (unable to get local issuer certificate)",
// "tls handshake: tlsv1 alert unknown ca", ...
std::string tlsFailure(const error_code& ec, SSL* ssl) {
  return weft::strCat("tls handshake: ", tlsErrorText(ec, ssl));
}

}  // namespace

Target Target::plain(const api::HostPort& hp, Protocol protocol) {
  std::string address = weft::strCat(hp.host, ":", hp.port);
  const bool h2c = protocol == Protocol::kH2c;
  return Target{weft::strCat(h2c ? "h2c|" : "plain|", address), address, hp, false, "",
                h2c ? Protocol::kH2c : Protocol::kHttp1};
}

Target Target::mtls(const api::HostPort& hp, std::string address, std::string identity) {
  return Target{weft::strCat("mtls|", address, "|", identity),
                std::move(address),
                hp,
                true,
                std::move(identity),
                Protocol::kAlpn};
}

ConnectorImpl::ConnectorImpl(Executor executor, const http::http1::Settings& settings,
                             std::chrono::steady_clock::duration connect_timeout,
                             metrics::Metrics& metrics, CredentialsSource credentials)
    : executor_(std::move(executor)),
      settings_(settings),
      connect_timeout_(connect_timeout),
      metrics_(metrics),
      credentials_(std::move(credentials)) {}

awaitable<absl::StatusOr<http::ClientConnectionPtr>> ConnectorImpl::connect(const Target& target) {
  error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(target.host_port.host, ec), target.host_port.port);
  if (ec) co_return absl::InvalidArgumentError(weft::strCat("bad address: ", ec.message()));

  const auto connect_timeout = target.connect_timeout.value_or(connect_timeout_);
  TcpStream stream(executor_);
  error_code cec;
  {
    Deadline deadline(stream);
    deadline.arm(connect_timeout);
    auto [connect_ec] = co_await stream.async_connect(endpoint, kUseTuple);
    cec = timedOut(deadline, connect_ec);
  }
  if (cec == beast::error::timeout) {
    co_return absl::UnavailableError(weft::strCat(
        "connect timed out after ",
        std::chrono::duration_cast<std::chrono::milliseconds>(connect_timeout).count(), "ms"));
  }
  if (cec) co_return absl::UnavailableError(weft::strCat("connect: ", cec.message()));
  stream.set_option(tcp::no_delay(true), ec);
  // The connect waited to write; the connection's reads should not wake for writability.
  if (error_code rec = io::dropWriteInterest(stream); rec) {
    co_return absl::UnavailableError(
        weft::strCat("connect: re-registering the socket: ", rec.message()));
  }

  if (!target.tls) {
    auto& counters = metrics_.tcp(metrics::TcpRole::kInboundDst);
    if (target.protocol == Target::Protocol::kH2c) {
      co_return std::make_unique<http::http2::Http2ClientConnectionImpl<TcpStream>>(
          std::move(stream), settings_, counters);
    }
    co_return std::make_unique<http::http1::ClientConnectionImpl<TcpStream>>(std::move(stream),
                                                                             settings_, counters);
  }

  std::shared_ptr<const identity::Credentials> creds = credentials_();
  TlsStream tls(std::move(stream), creds->clientContext());
  if (target.protocol == Target::Protocol::kAlpn) http::http2::offerH2(tls);
  error_code hec;
  {
    Deadline deadline(beast::get_lowest_layer(tls));
    deadline.arm(connect_timeout);
    auto [handshake_ec] = co_await tls.handshake(TlsStream::Role::kClient);
    hec = timedOut(deadline, handshake_ec);
  }
  if (hec == beast::error::timeout) {
    co_return absl::UnavailableError("tls handshake timed out");
  }
  if (hec) co_return absl::UnavailableError(tlsFailure(hec, tls.native_handle()));
  auto peer = identity::peerIdentity(tls.native_handle());
  if (!peer.ok()) {
    co_return absl::PermissionDeniedError(
        weft::strCat("peer identity: ", peer.status().message(), ", expected ", target.identity));
  }
  if (*peer != target.identity) {
    co_return absl::PermissionDeniedError(
        weft::strCat("peer identity mismatch: presented ", *peer, ", expected ", target.identity));
  }
  auto& counters = metrics_.tcp(metrics::TcpRole::kOutboundDst);
  if (identity::negotiatedHttp2(tls.native_handle())) {
    identity::keepRecordBuffers(tls.native_handle());
    co_return std::make_unique<http::http2::Http2ClientConnectionImpl<TlsStream>>(
        std::move(tls), settings_, counters);
  }
  co_return std::make_unique<http::http1::ClientConnectionImpl<TlsStream>>(std::move(tls),
                                                                           settings_, counters);
}

}  // namespace weft::upstream
