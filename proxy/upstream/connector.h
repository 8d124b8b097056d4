#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "control/api/address.h"
#include "identity/credentials.h"
#include "net/asio.h"
#include "net/http/codec.h"
#include "net/http/http1/settings.h"
#include "net/http/http2/settings.h"
#include "proxy/metrics/metrics.h"

namespace weft::upstream {

// Where a request goes next: the local app (plain) or a peer sidecar (mTLS, with the identity it
// must present). Built once per endpoint; the pool key keeps connections with different
// security expectations apart.
struct Target {
  // Which codec the connection speaks.
  enum class Protocol {
    kHttp1,  // HTTP/1.1
    kH2c,    // HTTP/2 with prior knowledge (plain)
    kAlpn,   // TLS offering h2 by ALPN: HTTP/2 if the peer picks it, else HTTP/1.1
  };

  std::string key;      // pool key
  std::string address;  // "ip:port", as reported in errors
  api::HostPort host_port;
  bool tls = false;
  std::string identity;  // required peer SPIFFE ID when tls
  Protocol protocol = Protocol::kHttp1;
  // The destination's DestinationPolicy connectTimeout; unset: the proxy's --connect-timeout.
  std::optional<std::chrono::steady_clock::duration> connect_timeout = {};

  // Whether connections to this target may be HTTP/2 (shared by many exchanges at once).
  bool mayMultiplex() const { return protocol != Protocol::kHttp1; }

  static Target plain(const api::HostPort& hp, Protocol protocol = Protocol::kHttp1);
  static Target mtls(const api::HostPort& hp, std::string address, std::string identity);
};

// Opens connections to targets. Errors say what failed: the TCP connect, the TLS handshake (with
// the alert or verification error), or the identity the peer presented.
class Connector {
 public:
  virtual ~Connector() = default;
  virtual awaitable<absl::StatusOr<http::ClientConnectionPtr>> connect(const Target& target) = 0;
};

using CredentialsSource = std::function<std::shared_ptr<const identity::Credentials>()>;

class ConnectorImpl final : public Connector {
 public:
  ConnectorImpl(Executor executor, const http::http1::Settings& http1,
                const http::http2::Settings& http2,
                std::chrono::steady_clock::duration connect_timeout, metrics::Metrics& metrics,
                CredentialsSource credentials);

  // Connector
  awaitable<absl::StatusOr<http::ClientConnectionPtr>> connect(const Target& target) override;

 private:
  Executor executor_;
  const http::http1::Settings& http1_;
  const http::http2::Settings& http2_;
  std::chrono::steady_clock::duration connect_timeout_;
  metrics::Metrics& metrics_;
  CredentialsSource credentials_;
};

}  // namespace weft::upstream
