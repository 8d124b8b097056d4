#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "control/api/address.h"

namespace weft::control {

// What weft-control takes on its command line.
struct Options {
  std::string data_dir;  // required: where its durable state lives (created 0700)
  std::string trust_domain = "cluster.local";
  api::HostPort listen{"127.0.0.1", 15010};  // the proxies' port: TLS, HTTP/2
  api::HostPort api{"127.0.0.1", 15011};     // the operators' port: HTTP/JSON, admin token
  api::HostPort admin{"127.0.0.1", 15014};   // /live, /ready, /metrics
  std::chrono::milliseconds cert_ttl{std::chrono::hours(24)};
  // The operator's own CA instead of the generated one (control/ca/ca_material.h).
  std::string ca_cert;
  std::string ca_key;
  std::string root_cert;
  // A proxy's registration lapses this long after its control stream ends.
  std::chrono::milliseconds registration_ttl{std::chrono::seconds(30)};
  std::chrono::seconds drain{30};
  std::string log_level = "info";
  // Kubernetes ServiceAccount tokens in place of join tokens (control/auth/kubernetes_tokens.h):
  // on when k8s_jwks is set.
  std::string k8s_jwks;
  std::string k8s_issuer = "https://kubernetes.default.svc.cluster.local";
  std::string k8s_audience = "weft.dev";
  // The admission webhook (control/server/injection_webhook.h): on when webhook is set.
  std::optional<api::HostPort> webhook;
  std::string webhook_cert;
  std::string webhook_key;
  std::string inject_image = "ghcr.io/weft-mesh/weft-proxy:0.1.0";
  std::string inject_control = "weft-control.weft-system.svc:15010";
};

// Parses argv. --help: NotFound with the usage text as the message. Errors name the flag.
absl::StatusOr<Options> parseOptions(int argc, char** argv);
std::string usage();

}  // namespace weft::control
