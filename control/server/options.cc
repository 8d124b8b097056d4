#include "control/server/options.h"

#include "common/strings.h"
#include "identity/spiffe.h"
#include "runtime/flags.h"

namespace weft::control {

std::string usage() {
  return "usage: weft-control --data-dir DIR [options]\n"
         "  --data-dir DIR          durable state: the CA (DIR/ca), the token signing key,\n"
         "                          DIR/admin.token, the store (created 0700 if missing)\n"
         "  --trust-domain NAME     SPIFFE trust domain (default cluster.local)\n"
         "  --listen HOST:PORT      the proxies' port: certificates, TLS + HTTP/2\n"
         "                          (default 127.0.0.1:15010)\n"
         "  --api HOST:PORT         the operators' API, HTTP/JSON with the admin token\n"
         "                          (default 127.0.0.1:15011)\n"
         "  --admin HOST:PORT       /live, /ready, /metrics (default 127.0.0.1:15014)\n"
         "  --cert-ttl DURATION     lifetime of issued certificates (default 24h, at least 10s)\n"
         "  --ca-cert FILE          the operator's issuing CA certificate (and chain), instead\n"
         "  --ca-key FILE           of the generated one; with its key\n"
         "  --root-cert FILE        the trust anchor(s) for --ca-cert\n"
         "  --registration-ttl DURATION\n"
         "                          how long a proxy's registration outlives its control\n"
         "                          stream (default 30s, at least 3s)\n"
         "  --k8s-jwks FILE         accept Kubernetes ServiceAccount tokens too, checked against\n"
         "                          these keys (the API server's /openid/v1/jwks)\n"
         "  --k8s-issuer URL        their issuer (default\n"
         "                          https://kubernetes.default.svc.cluster.local)\n"
         "  --k8s-audience NAME     their audience (default weft.dev)\n"
         "  --webhook HOST:PORT     serve the sidecar-injection admission webhook there (TLS)\n"
         "  --webhook-cert FILE     its certificate (and chain), as the API server trusts it\n"
         "  --webhook-key FILE      its private key\n"
         "  --inject-image IMAGE    the weft-proxy image injected pods run\n"
         "  --inject-control H:P    where injected proxies reach weft-control's --listen\n"
         "                          (default weft-control.weft-system.svc:15010)\n"
         "  --drain-seconds N       bound on the SIGTERM drain (default 30)\n"
         "  --log-level LEVEL       debug|info|warn|error (default info)\n";
}

absl::StatusOr<Options> parseOptions(int argc, char** argv) {
  using runtime::flags::address;
  using runtime::flags::duration;
  using runtime::flags::seconds;
  using runtime::flags::text;
  Options o;
  const runtime::flags::Flag flags[] = {
      {"--data-dir", text(&o.data_dir)},
      {"--trust-domain", text(&o.trust_domain)},
      {"--listen", address(&o.listen)},
      {"--api", address(&o.api)},
      {"--admin", address(&o.admin)},
      {"--cert-ttl", duration(&o.cert_ttl)},
      {"--ca-cert", text(&o.ca_cert)},
      {"--ca-key", text(&o.ca_key)},
      {"--root-cert", text(&o.root_cert)},
      {"--drain-seconds", seconds(&o.drain)},
      {"--log-level", text(&o.log_level)},
      {"--registration-ttl", duration(&o.registration_ttl)},
      {"--k8s-jwks", text(&o.k8s_jwks)},
      {"--k8s-issuer", text(&o.k8s_issuer)},
      {"--k8s-audience", text(&o.k8s_audience)},
      {"--webhook",
       [&o](std::string_view flag, std::string_view v) {
         api::HostPort hp;
         if (auto st = address(&hp)(flag, v); !st.ok()) return st;
         o.webhook = hp;
         return absl::OkStatus();
       }},
      {"--webhook-cert", text(&o.webhook_cert)},
      {"--webhook-key", text(&o.webhook_key)},
      {"--inject-image", text(&o.inject_image)},
      {"--inject-control", text(&o.inject_control)},
  };
  if (auto st = runtime::flags::parse(argc, argv, flags, usage()); !st.ok()) return st;
  if (o.data_dir.empty()) return runtime::flags::bad("--data-dir", "required");
  if (auto id = identity::parseSpiffeId("spiffe://" + o.trust_domain);
      !id.ok() || id->trust_domain != o.trust_domain) {
    return runtime::flags::bad("--trust-domain",
                               weft::strCat("'", o.trust_domain,
                                            "' is not a SPIFFE trust domain (lowercase letters, "
                                            "digits, '.', '-', '_')"));
  }
  if (o.cert_ttl < std::chrono::seconds(10)) {
    return runtime::flags::bad("--cert-ttl", "at least 10s: proxies renew at 70% of it");
  }
  if (o.webhook && (o.webhook_cert.empty() || o.webhook_key.empty())) {
    return runtime::flags::bad("--webhook", "needs --webhook-cert and --webhook-key");
  }
  if (o.registration_ttl < std::chrono::seconds(3)) {
    return runtime::flags::bad("--registration-ttl",
                               "at least 3s: proxies keep it alive every third of it");
  }
  return o;
}

}  // namespace weft::control
