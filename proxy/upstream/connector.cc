#include "proxy/upstream/connector.h"

#include "common/strings.h"
#include "identity/alpn.h"
#include "net/dial.h"
#include "net/http/http1/client_codec.h"
#include "net/http/http2/client_connection.h"
#include "net/tls_stream.h"

namespace weft::upstream {

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

ConnectorImpl::ConnectorImpl(Executor executor, const http::http1::Settings& http1,
                             const http::http2::Settings& http2,
                             std::chrono::steady_clock::duration connect_timeout,
                             metrics::Metrics& metrics, CredentialsSource credentials)
    : executor_(std::move(executor)),
      http1_(http1),
      http2_(http2),
      connect_timeout_(connect_timeout),
      metrics_(metrics),
      credentials_(std::move(credentials)) {}

awaitable<absl::StatusOr<http::ClientConnectionPtr>> ConnectorImpl::connect(const Target& target) {
  error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address(target.host_port.host, ec), target.host_port.port);
  if (ec) co_return absl::InvalidArgumentError(weft::strCat("bad address: ", ec.message()));

  const auto connect_timeout = target.connect_timeout.value_or(connect_timeout_);
  absl::StatusOr<TcpStream> stream = co_await net::dialTcp(executor_, endpoint, connect_timeout);
  if (!stream.ok()) co_return stream.status();

  if (!target.tls) {
    auto& counters = metrics_.tcp(metrics::TcpRole::kInboundDst);
    if (target.protocol == Target::Protocol::kH2c) {
      co_return std::make_unique<http::http2::Http2ClientConnectionImpl<TcpStream>>(
          std::move(*stream), http2_, counters);
    }
    co_return std::make_unique<http::http1::ClientConnectionImpl<TcpStream>>(std::move(*stream),
                                                                             http1_, counters);
  }

  std::shared_ptr<const identity::Credentials> creds = credentials_();
  absl::StatusOr<TlsStream> tls = co_await net::handshakeMtls(
      std::move(*stream), creds->clientContext(), target.identity,
      target.protocol == Target::Protocol::kAlpn ? net::MeshAlpn::kHttp : net::MeshAlpn::kNone,
      connect_timeout);
  if (!tls.ok()) co_return tls.status();
  auto& counters = metrics_.tcp(metrics::TcpRole::kOutboundDst);
  if (identity::negotiatedHttp2(tls->native_handle())) {
    identity::keepRecordBuffers(tls->native_handle());
    co_return std::make_unique<http::http2::Http2ClientConnectionImpl<TlsStream>>(std::move(*tls),
                                                                                  http2_, counters);
  }
  co_return std::make_unique<http::http1::ClientConnectionImpl<TlsStream>>(std::move(*tls), http1_,
                                                                           counters);
}

}  // namespace weft::upstream
