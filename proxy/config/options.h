#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/api/address.h"

namespace weft::config {

// How the sidecar speaks to its app (inbound requests).
enum class AppProtocol {
  kAuto,   // as the request was first sent: h2c for HTTP/2 and gRPC callers, else HTTP/1.1
  kHttp1,  // always HTTP/1.1
  kH2c,    // always HTTP/2 with prior knowledge
};

// Who may read the admin port's debug pages (/config and anything but /live, /ready, /metrics,
// which kubelet and Prometheus reach over the pod network).
enum class AdminDebugAccess {
  kLoopback,  // only clients on 127.0.0.0/8 or ::1
  kAny,       // any client that reaches the admin port
};

// Everything weft-proxy takes on its command line.
struct Options {
  std::string service;
  std::string ns = "default";
  std::string service_account;
  std::map<std::string, std::string> labels;

  api::HostPort outbound{"127.0.0.1", 15001};
  api::HostPort inbound{"0.0.0.0", 15006};
  api::HostPort admin{"0.0.0.0", 15020};
  AdminDebugAccess admin_debug_access = AdminDebugAccess::kLoopback;
  api::HostPort app{"127.0.0.1", 8080};
  AppProtocol app_protocol = AppProtocol::kAuto;

  // Static identity: files made by hand (reloaded on SIGHUP).
  std::string cert;
  std::string key;
  std::string trust_bundle;  // both modes: the trust anchors (dynamic: to trust the control plane)
  // Dynamic identity: certificates from the control plane (proxy/certificates/identity_manager.h).
  std::string control;     // https://HOST:PORT of weft-control's --listen
  std::string token_file;  // the join token, read again on every request
  std::string cache_dir;   // optional: key and certificate kept 0600 across restarts
  std::string trust_domain = "cluster.local";
  std::string config;
  std::vector<std::string> egress;
  // Pushed config: a proxy refuses (NACKs) a config with more Services than this (0: no limit),
  // so a mis-scoped mesh cannot grow a sidecar without bound.
  uint32_t max_services = 0;  // "NS/NAME" outside ns this workload calls (pushed config)

  // Traffic iptables redirected to the listeners (weft-proxy init).
  // Destination ports relayed as bytes without waiting to detect a protocol: servers that speak
  // first (SMTP, MySQL, ...). Linkerd's default list. (Inbound, the caller's ALPN says whether a
  // connection is opaque; this list is not consulted.)
  std::vector<uint16_t> opaque_ports{25, 587, 3306, 4444, 5432, 6379, 9300, 11211};
  // How long an intercepted outbound connection may stay silent before it is taken for a
  // server-speaks-first protocol and relayed as bytes.
  std::chrono::milliseconds detect_timeout{5000};
  // Inbound ports that also take plaintext (non-mesh) callers, relayed as bytes to the app.
  // Every other redirected port takes mesh mTLS only.
  std::vector<uint16_t> permissive_ports;

  bool opaquePort(uint16_t port) const;
  bool permissivePort(uint16_t port) const;

  unsigned workers = 0;  // 0: one per core
  std::chrono::seconds drain{30};
  std::string log_level = "info";

  // Limits and deadlines of the data path.
  size_t max_header_bytes = 64 * 1024;         // an HTTP/1.1 head, or a chunked body's trailers
  size_t max_chunk_line_bytes = 4 * 1024;      // a chunk's size line with its extensions
  std::chrono::seconds idle_timeout{60};       // keep-alive connection without a request
  std::chrono::seconds read_timeout{60};       // no progress on a started request/response
  std::chrono::seconds connect_timeout{2};     // TCP connect + TLS handshake to an upstream
  std::chrono::seconds pool_idle_timeout{30};  // pooled upstream connection left unused
  // A WebSocket direction without a byte (replaces read_timeout once a tunnel is open).
  std::chrono::seconds tunnel_idle_timeout{3600};
  // HTTP/2 server budgets per client connection (docs/http2-limits.md); 0: no limit.
  uint32_t h2_max_premature_resets = 100;  // streams reset before their response began
  uint32_t h2_max_control_frames = 1000;   // SETTINGS/PRIORITY/empty DATA per second

  // spiffe://<trust-domain>/ns/<ns>/sa/<service-account>
  std::string identity() const;
  bool dynamicIdentity() const { return !control.empty(); }
  // Routing from the control plane's pushes: --control without --config.
  bool pushedConfig() const { return dynamicIdentity() && config.empty(); }
};

// Parses argv. `--help` yields a NotFound status whose message is the usage text.
absl::StatusOr<Options> parseOptions(int argc, char** argv);

std::string usage();

}  // namespace weft::config
