#include "control/server/control_server.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include "common/rfc3339.h"
#include "common/strings.h"
#include "control/server/tls_context.h"
#include "net/log.h"
#include "net/spawn_guard.h"
#include "runtime/atomic_file.h"
#include "runtime/process_metrics.h"

namespace weft::control {
namespace {

// How long registrations restored at start outlive their ttl (store/file_store.h).
constexpr std::chrono::seconds kRegistrationRestoreGrace{60};

// The proxies' streams: a push stream may be quiet for minutes (keepalive notices a dead peer).
http::http2::Settings listenSettings() {
  http::http2::Settings s;
  s.idle_timeout = std::chrono::minutes(5);
  // Control streams carry a heartbeat each way at least every 10 s: a proxy that takes nothing
  // for 30 s (its window full) is cut off, and so is one that sends nothing.
  s.read_timeout = std::chrono::seconds(30);
  return s;
}

}  // namespace

ControlServer::ControlServer(Options options)
    : options_(std::move(options)), main_(options_.drain) {
  prometheus::BuildGauge()
      .Name("weft_control_info")
      .Help("weft-control is running; its trust domain as a label.")
      .Register(*registry_)
      .Add({{"trust_domain", options_.trust_domain}})
      .Set(1);
  http::addHealthRoutes(admin_router_, [this] { return ready_ && !main_.draining(); });
  admin_router_.get("/metrics", [this](http::ApiRequest& r) { return metrics(r); });
}

ControlServer::~ControlServer() = default;

awaitable<void> ControlServer::metrics(http::ApiRequest& request) {
  if (push_) push_->refreshStatusMetrics();
  const std::string text =
      prometheus::TextSerializer().Serialize(runtime::withProcessMetrics(registry_->Collect()));
  co_await http::reply(request.stream, 200, http::kPrometheusTextType, text);
}

absl::Status ControlServer::loadIdentity() {
  const auto now = std::chrono::system_clock::now();
  const std::string ca_dir = options_.data_dir + "/ca";
  ca::CaSource source{ca_dir, options_.trust_domain, options_.ca_cert, options_.ca_key,
                      options_.root_cert};
  std::unique_ptr<ca::TrustRotation> rotation;
  absl::StatusOr<std::shared_ptr<const ca::CaMaterial>> material;
  if (options_.ca_cert.empty() && options_.ca_key.empty() && options_.root_cert.empty()) {
    auto opened = ca::TrustRotation::open(ca_dir, options_.trust_domain, now);
    if (!opened.ok()) return opened.status();
    rotation = std::move(*opened);
    material = rotation->material();
  } else {
    material = ca::loadOrCreateCa(source, now);
    if (!material.ok()) return material.status();
  }
  control_metrics_.issuerExpires(
      identity::toTimePoint(X509_get0_notAfter((*material)->issuer.get())));
  const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(options_.cert_ttl);
  ca_ = std::make_unique<ca::CertificateAuthorityImpl>(
      std::move(*material), ca::IssuancePolicy{ttl, std::chrono::seconds(20)});
  auto tokens = auth::JoinTokens::loadOrCreate(options_.data_dir + "/token-signing.key",
                                               options_.trust_domain);
  if (!tokens.ok()) return tokens.status();
  tokens_ = std::move(*tokens);
  if (!options_.k8s_jwks.empty()) {
    auto k8s = auth::KubernetesTokens::load(
        {options_.k8s_jwks, options_.k8s_issuer, options_.k8s_audience, options_.trust_domain});
    if (!k8s.ok()) return k8s.status();
    k8s_tokens_ = std::move(*k8s);
  }
  verifiers_ = std::make_unique<auth::TokenVerifiers>(*tokens_, k8s_tokens_.get());
  auto admin = auth::AdminToken::loadOrCreate(options_.data_dir + "/admin.token");
  if (!admin.ok()) return admin.status();
  admin_token_.emplace(std::move(*admin));

  if (auto st = runtime::ensurePrivateDir(ca_dir); !st.ok()) return st;
  const bool rotates = rotation != nullptr;
  trust_ = std::make_unique<TrustManager>(
      main_.io(), std::move(rotation), *ca_, holders_, ca_dir + "/holders.json", [this] {
        control_metrics_.issuerExpires(
            identity::toTimePoint(X509_get0_notAfter(ca_->material()->issuer.get())));
        if (auto st = renewServingCertificate(); !st.ok()) {
          log::error("cannot re-issue the serving certificate: ", st.message());
        }
      });
  trust_->start();

  identity_service_ = std::make_unique<IdentityService>(*ca_, *verifiers_, holders_,
                                                        control_metrics_, options_.trust_domain);
  identity_service_->addRoutes(proxy_router_);
  identity_service_->onIssued([this] { trust_->holdersChanged(); });
  operator_api_ =
      std::make_unique<OperatorApi>(*admin_token_, *tokens_, *ca_, holders_,
                                    rotates ? trust_.get() : nullptr, options_.trust_domain, ttl);
  operator_api_->addRoutes(api_router_);
  return absl::OkStatus();
}

absl::Status ControlServer::loadPolicy() {
  auto store = store::FileStore::open(options_.data_dir + "/store",
                                      std::chrono::steady_clock::now(), kRegistrationRestoreGrace);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  policies_ = std::make_unique<policy::PolicyStore>(*store_);
  // What the store holds was valid when written; a mesh that no longer decodes (a newer check
  // in this binary) is served as it is and every later apply has to mend it.
  if (auto mesh = policies_->mesh(); !mesh.ok()) {
    log::error("the stored mesh resources no longer pass validation: ", mesh.status().message());
  }
  policy_api_ = std::make_unique<PolicyApi>(*admin_token_, *policies_, control_metrics_);
  policy_api_->addRoutes(api_router_);
  push_ = std::make_unique<push::PushService>(
      main_.io(), *store_, *policies_, holders_, *registry_,
      push::PushSettings{.registration_ttl = std::chrono::duration_cast<std::chrono::seconds>(
                             options_.registration_ttl)});
  push_->addRoutes(proxy_router_);
  push_->addOperatorRoutes(api_router_, *admin_token_);
  return absl::OkStatus();
}

absl::Status ControlServer::renewServingCertificate() {
  if (!serving_key_) serving_key_ = identity::generateKey("P-256");
  auto cert = ca_->issueForKey(serving_key_.get(), controlPlaneIdentity(options_.trust_domain));
  if (!cert.ok()) return cert.status();
  auto ctx = serverTlsContext(*cert, serving_key_.get());
  if (!ctx.ok()) return ctx.status();
  listen_.useTls(std::move(*ctx), listenSettings());
  serving_not_after_ = cert->not_after;
  log::debug("serving certificate ", cert->serial, " until ", weft::rfc3339(cert->not_after));
  return absl::OkStatus();
}

awaitable<void> ControlServer::servingCertificateLoop() {
  for (;;) {
    const auto left = serving_not_after_ - std::chrono::system_clock::now();
    serving_timer_.expires_after(std::max<std::chrono::steady_clock::duration>(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(left / 2),
        std::chrono::seconds(1)));
    auto [ec] = co_await serving_timer_.async_wait(kUseTuple);
    if (ec || main_.draining()) co_return;
    if (absl::Status st = renewServingCertificate(); !st.ok()) {
      log::error("cannot renew weft-control's serving certificate: ", st.message());
    }
  }
}

absl::Status ControlServer::listenAll() {
  if (auto st = admin_.listen(options_.admin.host, options_.admin.port); !st.ok()) return st;
  if (auto st = listen_.listen(options_.listen.host, options_.listen.port); !st.ok()) return st;
  if (auto st = api_.listen(options_.api.host, options_.api.port); !st.ok()) return st;
  if (!options_.webhook) return absl::OkStatus();
  auto tls = webhookTlsContext(options_.webhook_cert, options_.webhook_key);
  if (!tls.ok()) return tls.status();
  webhook_service_ = std::make_unique<InjectionWebhook>(
      inject::InjectSettings{.image = options_.inject_image,
                             .control = options_.inject_control,
                             .trust_domain = options_.trust_domain});
  webhook_service_->addRoutes(webhook_router_);
  webhook_.useTls(std::move(*tls));
  return webhook_.listen(options_.webhook->host, options_.webhook->port);
}

absl::Status ControlServer::start() {
  if (absl::Status st = runtime::ensurePrivateDir(options_.data_dir); !st.ok()) {
    return absl::FailedPreconditionError(weft::strCat("--data-dir ", st.message()));
  }
  if (absl::Status st = loadIdentity(); !st.ok()) return st;
  if (absl::Status st = loadPolicy(); !st.ok()) return st;
  if (absl::Status st = renewServingCertificate(); !st.ok()) return st;
  if (absl::Status st = listenAll(); !st.ok()) return st;
  asio::co_spawn(main_.io(), servingCertificateLoop(), SpawnGuard({"serving certificate"}));
  push_->start();
  main_.start({.reload = {},
               .begin_drain =
                   [this] {
                     serving_timer_.cancel();
                     trust_->stop();
                     push_->stop();
                     listen_.stop();
                     api_.stop();
                     webhook_.stop();
                     admin_.stop();
                   },
               .active = [] { return 0; },
               .drained = {}});
  ready_ = true;
  log::info("weft-control ready: trust_domain=", options_.trust_domain,
            " data_dir=", options_.data_dir, " listen=", options_.listen.host, ":", listen_.port(),
            " api=", options_.api.host, ":", api_.port(), " admin=", options_.admin.host, ":",
            admin_.port());
  return absl::OkStatus();
}

int ControlServer::run() {
  main_.run();
  return 0;
}

}  // namespace weft::control
