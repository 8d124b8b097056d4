#include "control/cli/args.h"

#include <cstdlib>

#include "common/strings.h"
#include "control/api/duration.h"
#include "runtime/atomic_file.h"

namespace weft::control::cli {
namespace {

const std::set<std::string> kGlobalFlags = {"server", "token",   "data-dir",
                                            "output", "timeout", "help"};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

std::string usage() {
  return "usage: weftctl [global options] COMMAND [flags]\n"
         "\n"
         "commands:\n"
         "  token create --namespace NS --service-account SA [--ttl 24h]\n"
         "                          print a join token for spiffe://<td>/ns/NS/sa/SA\n"
         "  ca bundle               print the trust bundle (PEM)\n"
         "  ca status               roots, issuing CA, expiry, rotation phase, who holds which\n"
         "                          certificate\n"
         "  ca rotate               add a new root to the trust bundle; weft-control issues\n"
         "                          from it once every proxy holds both roots\n"
         "  ca rotate --finish      drop the old root once no proxy holds a leaf from it\n"
         "\n"
         "  apply -f FILE|- [--dry-run]\n"
         "                          create or update the resources in FILE (YAML or JSON);\n"
         "                          the whole file or nothing\n"
         "  get KIND [NAME] [-n NS] list resources (all namespaces unless -n), or one;\n"
         "                          KIND: service (svc), httproute (route),\n"
         "                          destinationpolicy (dp), authorizationpolicy (authz),\n"
         "                          all; -o yaml|json\n"
         "  delete KIND NAME [-n NS] | delete -f FILE\n"
         "  diff -f FILE            what apply would change (diff -u); exit 5 when it differs\n"
         "  split ROUTE SUBSET=WEIGHT... [-n NS]\n"
         "                          set the HTTPRoute's weights, e.g. split reviews v1=90 v2=10\n"
         "  proxies                 connected proxies: service, identity, config version,\n"
         "                          SYNCED / STALE / NACKED (and why), certificate expiry\n"
         "  authz check --from SPIFFE-ID --to SERVICE [-n NS] [--method M] [--path P]\n"
         "                          would the Service's proxies admit the request? exit 6 if not\n"
         "  inject -f FILE|- [--image I] [--control HOST:PORT] [--legacy-sidecar]\n"
         "                          the manifests with the mesh added to every workload\n"
         "  stat service NAME | stat deploy/NAME [-n NS] [--prometheus URL] [--window D]\n"
         "                          success rate, requests/s, latency p50/p95/p99 per subset\n"
         "                          and route of a Service, or per Service a workload calls:\n"
         "                          from Prometheus over D (1m), or from the proxies' own\n"
         "                          /metrics read D (10s) apart\n"
         "\n"
         "global options:\n"
         "  --server URL            weft-control's --api (WEFT_SERVER; default\n"
         "                          http://127.0.0.1:15011)\n"
         "  --token TOKEN           the admin token (WEFT_TOKEN)\n"
         "  --data-dir DIR          read the admin token from DIR/admin.token\n"
         "  -o, --output FORMAT     text (default), json, or yaml (get)\n"
         "  --timeout DURATION      per request (default 10s)\n"
         "\n"
         "exit codes: 0 ok, 1 refused by weft-control, 2 usage, 3 weft-control unreachable,\n"
         "4 missing or wrong admin token, 5 diff found differences, 6 authz check denied\n";
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = flags.find(name);
  return it != flags.end() ? it->second : fallback;
}

absl::Status Args::onlyFlags(const std::set<std::string>& allowed) const {
  for (const auto& [name, value] : flags) {
    if (!allowed.contains(name) && !kGlobalFlags.contains(name)) {
      return absl::InvalidArgumentError(weft::strCat("--", name, ": unknown flag for '",
                                                     weft::join(words, " "), "' (see --help)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Args> splitArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "--finish" || arg == "--dry-run" || arg == "-A" ||
        arg == "--legacy-sidecar" || arg == "--all-namespaces") {
      args.flags[arg == "-h"   ? "help"
                 : arg == "-A" ? "all-namespaces"
                               : std::string(arg.substr(2))] = "true";
      continue;
    }
    if (!arg.starts_with("-") || arg == "-") {
      args.words.emplace_back(arg);
      continue;
    }
    std::string name(arg.starts_with("--") ? arg.substr(2) : arg.substr(1));
    if (name == "o") name = "output";
    if (name == "n") name = "namespace";
    if (name == "f") name = "filename";
    std::string value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(weft::strCat(arg, ": wants a value"));
    }
    args.flags[name] = value;
  }
  return args;
}

absl::StatusOr<GlobalOptions> globalOptions(const Args& args) {
  GlobalOptions o;
  o.server = args.get("server", env("WEFT_SERVER"));
  if (o.server.empty()) o.server = "http://127.0.0.1:15011";
  o.output = args.get("output", "text");
  if (o.output != "text" && o.output != "json" && o.output != "yaml") {
    return absl::InvalidArgumentError(
        weft::strCat("--output: want text, json or yaml, got '", o.output, "'"));
  }
  if (args.flags.contains("timeout")) {
    auto d = api::parseDuration(args.get("timeout"));
    if (!d || d->count() == 0) {
      return absl::InvalidArgumentError(
          weft::strCat("--timeout: want a duration such as 10s, got '", args.get("timeout"), "'"));
    }
    o.timeout = *d;
  }
  o.token = args.get("token", env("WEFT_TOKEN"));
  if (o.token.empty() && args.flags.contains("data-dir")) {
    const std::string path = args.get("data-dir") + "/admin.token";
    auto text = runtime::readFile(path, 4096);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          weft::strCat("--data-dir: cannot read the admin token: ", text.status().message()));
    }
    o.token = *text;
    while (!o.token.empty() && (o.token.back() == '\n' || o.token.back() == '\r'))
      o.token.pop_back();
  }
  return o;
}

}  // namespace weft::control::cli
