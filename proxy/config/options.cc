#include "proxy/config/options.h"

#include <string_view>

#include "common/strings.h"
#include "identity/spiffe.h"

namespace weft::config {
namespace {

absl::Status bad(std::string_view flag, std::string_view why) {
  return absl::InvalidArgumentError(weft::strCat(flag, ": ", why));
}

absl::Status parseSeconds(std::string_view flag, std::string_view v, std::chrono::seconds* out) {
  uint32_t n = 0;
  if (!weft::parseUnsigned(v, &n))
    return bad(flag, weft::strCat("want whole seconds, got '", v, "'"));
  *out = std::chrono::seconds(n);
  return absl::OkStatus();
}

bool isKnownFlag(std::string_view flag) {
  static constexpr std::string_view kFlags[] = {
      "--service",      "--namespace",    "--service-account", "--labels",
      "--outbound",     "--inbound",      "--admin",           "--app",
      "--cert",         "--key",          "--trust-bundle",    "--trust-domain",
      "--config",       "--workers",      "--drain-seconds",   "--connect-timeout",
      "--idle-timeout", "--read-timeout", "--log-level"};
  for (auto f : kFlags) {
    if (f == flag) return true;
  }
  return false;
}

}  // namespace

std::string Options::identity() const {
  return identity::workloadIdentity(trust_domain, ns, service_account);
}

std::string usage() {
  return R"(usage: weft-proxy [flags]
  --service NAME             this workload's service name (required)
  --namespace NS             namespace (default: default)
  --service-account SA       service account; identity is spiffe://<td>/ns/<ns>/sa/<sa> (required)
  --labels k=v[,k=v]         this workload's labels
  --outbound IP:PORT         plain HTTP from the local app (default 127.0.0.1:15001)
  --inbound IP:PORT          mTLS from peer sidecars (default 0.0.0.0:15006)
  --admin IP:PORT            /live /ready /config /metrics (default 0.0.0.0:15020)
  --app IP:PORT              the local app inbound traffic goes to (default 127.0.0.1:8080)
  --cert FILE --key FILE     this workload's certificate and key (PEM)
  --trust-bundle FILE        trust anchors (PEM)
  --trust-domain TD          (default cluster.local)
  --config FILE              mesh resources (YAML)
  --workers N                worker threads (default: one per core)
  --drain-seconds N          grace period for in-flight requests on SIGTERM (default 30)
  --connect-timeout N        seconds for TCP connect + TLS handshake upstream (default 2)
  --idle-timeout N           seconds a keep-alive connection may sit idle (default 60)
  --read-timeout N           seconds without progress on a request or response (default 60)
  --log-level L              debug|info|warn|error (default info)
)";
}

absl::StatusOr<Options> parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") return absl::NotFoundError(usage());
    std::string_view name = flag.substr(0, flag.find('='));
    if (!isKnownFlag(name)) return bad(name, "unknown flag (see --help)");
    std::string_view value;
    if (size_t eq = flag.find('='); eq != std::string_view::npos && flag.starts_with("--")) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else {
      if (i + 1 >= argc) return bad(flag, "missing value");
      value = argv[++i];
    }
    absl::Status st;
    auto address = [&](api::HostPort* out) {
      auto hp = api::parseHostPort(value);
      if (!hp.ok()) return bad(flag, weft::sv(hp.status().message()));
      *out = *hp;
      return absl::OkStatus();
    };
    if (flag == "--service")
      o.service = value;
    else if (flag == "--namespace")
      o.ns = value;
    else if (flag == "--service-account")
      o.service_account = value;
    else if (flag == "--labels") {
      for (std::string_view kv : weft::split(value, ',', true)) {
        size_t eq = kv.find('=');
        if (eq == 0 || eq == std::string_view::npos) {
          return bad(flag, weft::strCat("want k=v, got '", kv, "'"));
        }
        o.labels[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
      }
    } else if (flag == "--outbound")
      st = address(&o.outbound);
    else if (flag == "--inbound")
      st = address(&o.inbound);
    else if (flag == "--admin")
      st = address(&o.admin);
    else if (flag == "--app")
      st = address(&o.app);
    else if (flag == "--cert")
      o.cert = value;
    else if (flag == "--key")
      o.key = value;
    else if (flag == "--trust-bundle")
      o.trust_bundle = value;
    else if (flag == "--trust-domain")
      o.trust_domain = value;
    else if (flag == "--config")
      o.config = value;
    else if (flag == "--workers") {
      if (!weft::parseUnsigned(value, &o.workers) || o.workers > 256) {
        return bad(flag, "want a number of threads from 1 to 256");
      }
    } else if (flag == "--drain-seconds")
      st = parseSeconds(flag, value, &o.drain);
    else if (flag == "--connect-timeout")
      st = parseSeconds(flag, value, &o.connect_timeout);
    else if (flag == "--idle-timeout")
      st = parseSeconds(flag, value, &o.idle_timeout);
    else if (flag == "--read-timeout")
      st = parseSeconds(flag, value, &o.read_timeout);
    else if (flag == "--log-level")
      o.log_level = value;
    else
      return bad(flag, "unknown flag (see --help)");
    if (!st.ok()) return st;
  }
  if (o.service.empty()) return bad("--service", "required");
  if (o.service_account.empty()) return bad("--service-account", "required");
  if (o.cert.empty() || o.key.empty() || o.trust_bundle.empty()) {
    return bad("--cert/--key/--trust-bundle", "all three are required for mTLS");
  }
  if (auto id = identity::parseSpiffeId(o.identity()); !id.ok()) {
    return bad("--trust-domain/--namespace/--service-account", weft::sv(id.status().message()));
  }
  return o;
}

}  // namespace weft::config
