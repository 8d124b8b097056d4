#pragma once

#include <memory>
#include <optional>

#include <prometheus/registry.h>

#include "absl/status/status.h"
#include "control/auth/admin_token.h"
#include "control/auth/join_tokens.h"
#include "control/auth/kubernetes_tokens.h"
#include "control/ca/certificate_authority.h"
#include "control/ca/holders.h"
#include "control/push/push_service.h"
#include "control/server/control_metrics.h"
#include "control/server/identity_service.h"
#include "control/server/injection_webhook.h"
#include "control/server/operator_api.h"
#include "control/server/options.h"
#include "control/server/policy_api.h"
#include "control/server/trust_manager.h"
#include "control/store/file_store.h"
#include "net/http/api_router.h"
#include "net/http/api_server.h"
#include "runtime/main_loop.h"

namespace weft::control {

// weft-control's main thread, on the same runtime as the proxy (runtime::MainLoop) and the
// same HTTP server (http::ApiServer), with three ports:
// - --listen: the proxies' port, TLS with its own SPIFFE certificate (renewed at half its
//   lifetime), HTTP/2 or HTTP/1.1: certificates from CSRs (IdentityService);
// - --api: the operators' HTTP/JSON API behind the admin token (OperatorApi);
// - --admin: /live, /ready, /metrics.
// State under --data-dir: the CA (DIR/ca, with its rotation state and who holds which leaf),
// the join-token signing key, DIR/admin.token, and the store (DIR/store) with the operators'
// mesh resources.
class ControlServer {
 public:
  explicit ControlServer(Options options);
  ~ControlServer();

  absl::Status start();
  // Runs until drained (SIGTERM/SIGINT); returns the exit code.
  int run();

 private:
  awaitable<void> metrics(http::ApiRequest& request);
  absl::Status loadIdentity();
  // The store under DIR/store and the operators' resources in it (PolicyApi on --api).
  absl::Status loadPolicy();
  // A fresh serving certificate for --listen; then again at half its lifetime.
  absl::Status renewServingCertificate();
  awaitable<void> servingCertificateLoop();
  absl::Status listenAll();

  Options options_;
  runtime::MainLoop main_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  ControlMetrics control_metrics_{*registry_};

  std::unique_ptr<ca::CertificateAuthorityImpl> ca_;
  std::unique_ptr<auth::JoinTokens> tokens_;
  std::unique_ptr<auth::KubernetesTokens> k8s_tokens_;  // with --k8s-jwks
  std::unique_ptr<auth::TokenVerifiers> verifiers_;     // join tokens, and k8s_tokens_
  std::optional<auth::AdminToken> admin_token_;
  ca::Holders holders_;
  std::unique_ptr<TrustManager> trust_;
  std::unique_ptr<IdentityService> identity_service_;
  std::unique_ptr<OperatorApi> operator_api_;
  std::unique_ptr<store::FileStore> store_;
  std::unique_ptr<policy::PolicyStore> policies_;
  std::unique_ptr<PolicyApi> policy_api_;
  std::unique_ptr<push::PushService> push_;
  std::unique_ptr<InjectionWebhook> webhook_service_;  // with --webhook
  identity::PkeyPtr serving_key_;
  std::chrono::system_clock::time_point serving_not_after_;
  asio::steady_timer serving_timer_{main_.io()};

  http::ApiRouter admin_router_{"admin"};
  http::ApiRouter proxy_router_{"control"};
  http::ApiRouter api_router_{"api"};
  http::ApiServer admin_{main_.io(), "admin", admin_router_};
  http::ApiServer listen_{main_.io(), "listen", proxy_router_};
  http::ApiServer api_{main_.io(), "api", api_router_};
  http::ApiRouter webhook_router_{"webhook"};
  http::ApiServer webhook_{main_.io(), "webhook", webhook_router_};
  bool ready_ = false;
};

}  // namespace weft::control
