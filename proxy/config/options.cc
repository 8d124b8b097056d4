#include "proxy/config/options.h"

#include <algorithm>
#include <functional>
#include <string_view>
#include <utility>

#include "common/strings.h"
#include "identity/spiffe.h"
#include "runtime/flags.h"

namespace weft::config {
namespace {

using runtime::flags::bad;
using runtime::flags::Setter;

Setter labels(std::map<std::string, std::string>* field) {
  return [field](std::string_view flag, std::string_view v) {
    for (std::string_view kv : weft::split(v, ',', true)) {
      size_t eq = kv.find('=');
      if (eq == 0 || eq == std::string_view::npos) {
        return bad(flag, weft::strCat("want k=v, got '", kv, "'"));
      }
      (*field)[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
    return absl::OkStatus();
  };
}

// NS/NAME[,NS/NAME]: the Services outside its namespace this workload calls.
Setter egress(std::vector<std::string>* field) {
  return [field](std::string_view flag, std::string_view v) {
    for (std::string_view item : weft::split(v, ',', true)) {
      const size_t slash = item.find('/');
      if (slash == 0 || slash == std::string_view::npos || slash + 1 == item.size() ||
          item.find('/', slash + 1) != std::string_view::npos) {
        return bad(flag, weft::strCat("want NAMESPACE/SERVICE, got '", item, "'"));
      }
      field->emplace_back(item);
    }
    return absl::OkStatus();
  };
}

Setter workers(unsigned* field) {
  return [field](std::string_view flag, std::string_view v) {
    if (!weft::parseUnsigned(v, field) || *field > 256) {
      return bad(flag, "want a number of threads from 1 to 256");
    }
    return absl::OkStatus();
  };
}

Setter bytes(size_t* field, size_t min, size_t max) {
  return [field, min, max](std::string_view flag, std::string_view v) {
    uint32_t n = 0;
    if (!weft::parseUnsigned(v, &n) || n < min || n > max) {
      return bad(flag,
                 weft::strCat("want a size in bytes from ", min, " to ", max, ", got '", v, "'"));
    }
    *field = n;
    return absl::OkStatus();
  };
}

Setter appProtocol(AppProtocol* field) {
  return [field](std::string_view flag, std::string_view v) {
    if (v == "auto") {
      *field = AppProtocol::kAuto;
    } else if (v == "http1") {
      *field = AppProtocol::kHttp1;
    } else if (v == "h2c") {
      *field = AppProtocol::kH2c;
    } else {
      return bad(flag, weft::strCat("want auto, http1 or h2c, got '", v, "'"));
    }
    return absl::OkStatus();
  };
}

Setter adminDebugAccess(AdminDebugAccess* field) {
  return [field](std::string_view flag, std::string_view v) {
    if (v == "loopback") {
      *field = AdminDebugAccess::kLoopback;
    } else if (v == "any") {
      *field = AdminDebugAccess::kAny;
    } else {
      return bad(flag, weft::strCat("want loopback or any, got '", v, "'"));
    }
    return absl::OkStatus();
  };
}

}  // namespace

bool Options::opaquePort(uint16_t port) const {
  return std::find(opaque_ports.begin(), opaque_ports.end(), port) != opaque_ports.end();
}

bool Options::permissivePort(uint16_t port) const {
  return std::find(permissive_ports.begin(), permissive_ports.end(), port) !=
         permissive_ports.end();
}

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
  --admin-debug-access A     loopback|any: who may read /config and the other debug pages;
                             /live /ready /metrics answer anyone (default loopback)
  --app IP:PORT              the local app inbound traffic goes to (default 127.0.0.1:8080)
  --app-protocol P           auto|http1|h2c: how to speak to the app (default auto: h2c for
                             requests that came as HTTP/2 or gRPC, HTTP/1.1 for the rest)
  --cert FILE --key FILE     this workload's certificate and key (PEM), made by hand and
                             re-read on SIGHUP; or, instead:
  --control URL              weft-control's --listen (https://HOST:PORT): the proxy makes its
                             key, asks for its certificate and renews it; listeners open once
                             it holds one
  --token-file FILE          the join token for --control (read again on every renewal)
  --cache-dir DIR            keep the key, the certificate and the pushed config here (0600)
                             across restarts: a restart while the control plane is down serves
  --trust-bundle FILE        trust anchors (PEM); with --control, the roots to trust it by
  --trust-domain TD          (default cluster.local)
  --config FILE              mesh resources (YAML); without it, a proxy with --control takes
                             them from the control plane's pushes (and registers as an endpoint
                             of --service)
  --egress NS/SVC[,NS/SVC]   with pushes: Services outside its namespace it calls (its own
                             namespace's are always pushed)
  --max-services N           with pushes: refuse (NACK) a config with more Services in scope
                             (default 0: no limit)
  --opaque-ports P[,P]       intercepted destination ports relayed as bytes at once (inside
                             mTLS to a mesh peer), for servers that speak first (default
                             25,587,3306,4444,5432,6379,9300,11211)
  --detect-timeout D         how long an intercepted outbound connection may stay silent
                             before it is relayed as bytes (default 5s)
  --permissive-ports P[,P]   inbound ports that also take plaintext callers from outside the
                             mesh (default none: mesh mTLS only)
  --workers N                worker threads (default: one per core)
  --drain-seconds N          grace period for in-flight requests on SIGTERM (default 30)
  --connect-timeout N        seconds for TCP connect + TLS handshake upstream (default 2)
  --idle-timeout N           seconds a keep-alive connection may sit idle (default 60)
  --read-timeout N           seconds without progress on a request or response (default 60)
  --tunnel-idle-timeout N    seconds a WebSocket may go without a byte in one direction
                             before it is closed (default 3600)
  --max-header-bytes N       largest HTTP/1.1 head or trailer section taken (default 65536)
  --max-chunk-line-bytes N   largest chunk size line, extensions included (default 4096)
  --h2-max-premature-resets N
                             HTTP/2 streams a client connection may reset before their response
                             began; beyond it, and once they are over half its streams,
                             GOAWAY(ENHANCE_YOUR_CALM) (default 100; 0: no limit)
  --h2-max-control-frames N  SETTINGS, PRIORITY and empty DATA frames per second an HTTP/2
                             client connection may send; beyond it, GOAWAY(ENHANCE_YOUR_CALM)
                             (default 1000; 0: no limit)
  --log-level L              debug|info|warn|error (default info)
)";
}

absl::StatusOr<Options> parseOptions(int argc, char** argv) {
  Options o;
  // Every flag, once: the flag name and how its value is applied.
  using runtime::flags::address;
  using runtime::flags::count;
  using runtime::flags::seconds;
  using runtime::flags::text;
  const runtime::flags::Flag flags[] = {
      {"--service", text(&o.service)},
      {"--namespace", text(&o.ns)},
      {"--service-account", text(&o.service_account)},
      {"--labels", labels(&o.labels)},
      {"--outbound", address(&o.outbound)},
      {"--inbound", address(&o.inbound)},
      {"--admin", address(&o.admin)},
      {"--admin-debug-access", adminDebugAccess(&o.admin_debug_access)},
      {"--app", address(&o.app)},
      {"--app-protocol", appProtocol(&o.app_protocol)},
      {"--cert", text(&o.cert)},
      {"--key", text(&o.key)},
      {"--trust-bundle", text(&o.trust_bundle)},
      {"--control", text(&o.control)},
      {"--token-file", text(&o.token_file)},
      {"--cache-dir", text(&o.cache_dir)},
      {"--trust-domain", text(&o.trust_domain)},
      {"--config", text(&o.config)},
      {"--egress", egress(&o.egress)},
      {"--max-services", count(&o.max_services)},
      {"--opaque-ports", runtime::flags::ports(&o.opaque_ports)},
      {"--detect-timeout", runtime::flags::duration(&o.detect_timeout)},
      {"--permissive-ports", runtime::flags::ports(&o.permissive_ports)},
      {"--workers", workers(&o.workers)},
      {"--drain-seconds", seconds(&o.drain)},
      {"--connect-timeout", seconds(&o.connect_timeout)},
      {"--idle-timeout", seconds(&o.idle_timeout)},
      {"--read-timeout", seconds(&o.read_timeout)},
      {"--tunnel-idle-timeout", seconds(&o.tunnel_idle_timeout)},
      {"--max-header-bytes", bytes(&o.max_header_bytes, 1024, 1u << 20)},
      {"--max-chunk-line-bytes", bytes(&o.max_chunk_line_bytes, 64, 1u << 20)},
      {"--h2-max-premature-resets", count(&o.h2_max_premature_resets)},
      {"--h2-max-control-frames", count(&o.h2_max_control_frames)},
      {"--log-level", text(&o.log_level)},
  };
  if (auto st = runtime::flags::parse(argc, argv, flags, usage()); !st.ok()) return st;
  if (o.service.empty()) return bad("--service", "required");
  if (o.service_account.empty()) return bad("--service-account", "required");
  if (o.dynamicIdentity()) {
    if (!o.cert.empty() || !o.key.empty()) {
      return bad("--control", "takes no --cert/--key: the control plane issues the certificate");
    }
    if (o.token_file.empty()) return bad("--token-file", "required with --control");
    if (o.trust_bundle.empty()) {
      return bad("--trust-bundle", "required with --control: the roots to trust it by");
    }
    if (!o.control.starts_with("https://")) {
      return bad("--control", weft::strCat("want https://HOST:PORT, got '", o.control, "'"));
    }
  } else if (!o.token_file.empty() || !o.cache_dir.empty()) {
    return bad(o.token_file.empty() ? "--cache-dir" : "--token-file", "needs --control");
  } else if (o.cert.empty() || o.key.empty() || o.trust_bundle.empty()) {
    return bad("--cert/--key/--trust-bundle",
               "all three are required for mTLS (or --control, --token-file and --trust-bundle)");
  }
  if (!o.egress.empty() && !o.pushedConfig()) {
    return bad("--egress", "only with --control and without --config (pushed config)");
  }
  if (auto id = identity::parseSpiffeId(o.identity()); !id.ok()) {
    return bad("--trust-domain/--namespace/--service-account", weft::sv(id.status().message()));
  }
  return o;
}

}  // namespace weft::config
