#include "control/inject/pod_injector.h"

#include "common/strings.h"

namespace weft::control::inject {
namespace {

using nlohmann::json;

constexpr int kInboundPort = 15006;
constexpr int kOutboundPort = 15001;
constexpr int kAdminPort = 15020;

// The port the app listens on: the first TCP containerPort of the first container.
int appPort(const json& spec) {
  for (const json& c : spec.value("containers", json::array())) {
    for (const json& p : c.value("ports", json::array())) {
      if (p.value("protocol", "TCP") == "TCP" && p.contains("containerPort") &&
          p["containerPort"].is_number_integer()) {
        return p["containerPort"].get<int>();
      }
    }
  }
  return 8080;
}

// The Service the workload serves: its app.kubernetes.io/name or app label.
std::string serviceOf(const json& metadata) {
  const json labels = metadata.value("labels", json::object());
  for (const char* key : {"app.kubernetes.io/name", "app"}) {
    if (labels.contains(key) && labels[key].is_string()) return labels[key];
  }
  return "";
}

// The pod's interception annotations, as flags: {flag, value} for the proxy and for its init.
struct Interception {
  std::vector<std::pair<std::string, std::string>> proxy;
  std::vector<std::pair<std::string, std::string>> init;
};

bool portList(std::string_view v) {
  for (std::string_view item : weft::split(v, ',')) {
    uint32_t port = 0;
    if (!weft::parseUnsigned(weft::trim(item), &port) || port == 0 || port > 65535) return false;
  }
  return true;
}

bool cidrList(std::string_view v) {
  for (std::string_view item : weft::split(v, ',')) {
    item = weft::trim(item);
    const size_t slash = item.find('/');
    uint32_t bits = 0;
    if (slash == std::string_view::npos || !weft::parseUnsigned(item.substr(slash + 1), &bits) ||
        bits > 128 ||
        item.substr(0, slash).find_first_not_of("0123456789abcdefABCDEF.:") !=
            std::string_view::npos) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<Interception> interceptionOf(const json& annotations) {
  Interception out;
  const struct {
    const char* annotation;
    const char* flag;
    bool init;
    bool ports;
  } known[] = {{kOpaquePortsAnnotation, "--opaque-ports", false, true},
               {kPermissivePortsAnnotation, "--permissive-ports", false, true},
               {kSkipInboundPortsAnnotation, "--skip-inbound-ports", true, true},
               {kSkipOutboundPortsAnnotation, "--skip-outbound-ports", true, true},
               {kSkipSubnetsAnnotation, "--skip-subnets", true, false}};
  for (const auto& k : known) {
    if (!annotations.contains(k.annotation)) continue;
    const json& v = annotations[k.annotation];
    const std::string value = v.is_string() ? v.get<std::string>() : std::string();
    if (value.empty() ? k.annotation != std::string_view(kOpaquePortsAnnotation)
                      : !(k.ports ? portList(value) : cidrList(value))) {
      return absl::InvalidArgumentError(
          weft::strCat("annotation ", k.annotation, ": want ", k.ports ? "ports 1-65535" : "CIDRs",
                       ", comma-separated, got '", v.is_string() ? value : v.dump(), "'"));
    }
    (k.init ? out.init : out.proxy).emplace_back(k.flag, value);
  }
  return out;
}

json fieldEnv(const char* name, const char* path) {
  return {{"name", name}, {"valueFrom", {{"fieldRef", {{"fieldPath", path}}}}}};
}

json initContainer(const InjectSettings& s, const Interception& interception) {
  json args = {"init",
               "--proxy-uid",
               std::to_string(s.proxy_uid),
               "--inbound-port",
               std::to_string(kInboundPort),
               "--outbound-port",
               std::to_string(kOutboundPort),
               "--admin-port",
               std::to_string(kAdminPort)};
  for (const auto& [flag, value] : interception.init) {
    args.push_back(flag);
    args.push_back(value);
  }
  return {
      {"name", "weft-init"},
      {"image", s.image},
      {"args", args},
      {"securityContext",
       {{"runAsUser", 0},
        {"runAsNonRoot", false},
        {"allowPrivilegeEscalation", false},
        {"capabilities", {{"drop", {"ALL"}}, {"add", {"NET_ADMIN", "NET_RAW"}}}}}},
      {"resources",
       {{"requests", {{"cpu", "10m"}, {"memory", "10Mi"}}},
        {"limits", {{"cpu", "100m"}, {"memory", "50Mi"}}}}},
  };
}

json proxyContainer(const InjectSettings& s, const std::string& service, int app_port,
                    const std::string& labels, const Interception& interception) {
  json args = {"--service",
               service.empty() ? "$(POD_SERVICE_ACCOUNT)" : service,
               "--namespace",
               "$(POD_NAMESPACE)",
               "--service-account",
               "$(POD_SERVICE_ACCOUNT)",
               "--trust-domain",
               s.trust_domain,
               "--control",
               "https://" + s.control,
               "--token-file",
               "/var/run/secrets/weft.dev/token/token",
               "--trust-bundle",
               "/var/run/weft/trust/ca.pem",
               "--cache-dir",
               "/var/run/weft/cache",
               "--inbound",
               weft::strCat("0.0.0.0:", kInboundPort),
               "--outbound",
               weft::strCat("127.0.0.1:", kOutboundPort),
               "--admin",
               weft::strCat("0.0.0.0:", kAdminPort),
               "--app",
               weft::strCat("127.0.0.1:", app_port)};
  if (!labels.empty()) {
    args.push_back("--labels");
    args.push_back(labels);
  }
  for (const auto& [flag, value] : interception.proxy) {
    args.push_back(flag);
    args.push_back(value);
  }
  json c = {
      {"name", "weft-proxy"},
      {"image", s.image},
      {"args", args},
      {"env",
       {fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace"),
        fieldEnv("POD_SERVICE_ACCOUNT", "spec.serviceAccountName")}},
      {"ports",
       {{{"name", "weft-inbound"}, {"containerPort", kInboundPort}},
        {{"name", "weft-admin"}, {"containerPort", kAdminPort}}}},
      {"startupProbe",
       {{"httpGet", {{"path", "/ready"}, {"port", kAdminPort}}},
        {"periodSeconds", 1},
        {"failureThreshold", 120}}},
      {"readinessProbe", {{"httpGet", {{"path", "/ready"}, {"port", kAdminPort}}}}},
      {"livenessProbe", {{"httpGet", {{"path", "/live"}, {"port", kAdminPort}}}}},
      {"securityContext",
       {{"runAsUser", s.proxy_uid},
        {"runAsGroup", s.proxy_uid},
        {"runAsNonRoot", true},
        {"allowPrivilegeEscalation", false},
        {"readOnlyRootFilesystem", true},
        {"capabilities", {{"drop", {"ALL"}}}}}},
      {"resources",
       {{"requests", {{"cpu", "50m"}, {"memory", "20Mi"}}},
        {"limits", {{"cpu", "1"}, {"memory", "128Mi"}}}}},
      {"volumeMounts",
       {{{"name", "weft-token"},
         {"mountPath", "/var/run/secrets/weft.dev/token"},
         {"readOnly", true}},
        {{"name", "weft-trust"}, {"mountPath", "/var/run/weft/trust"}, {"readOnly", true}},
        {{"name", "weft-cache"}, {"mountPath", "/var/run/weft/cache"}}}},
  };
  if (s.legacy_sidecar) {
    // The kubelet starts containers in order and runs postStart before the next: the app
    // waits until the proxy is ready.
    c["lifecycle"] = {{"postStart",
                       {{"exec",
                         {{"command",
                           {"/usr/bin/weft-proxy", "await-ready", "--admin",
                            weft::strCat("127.0.0.1:", kAdminPort), "--timeout", "120s"}}}}}}};
  } else {
    c["restartPolicy"] = "Always";  // a native sidecar
  }
  return c;
}

json volumes() {
  return {
      {{"name", "weft-token"},
       {"projected",
        {{"sources",
          {{{"serviceAccountToken",
             {{"audience", "weft.dev"}, {"expirationSeconds", 3600}, {"path", "token"}}}}}}}}},
      {{"name", "weft-trust"}, {"configMap", {{"name", "weft-trust-bundle"}}}},
      {{"name", "weft-cache"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "16Mi"}}}},
  };
}

// "k=v,k=v" of the pod's labels, for the proxy's registration (subsets select by them).
std::string labelsArg(const json& metadata) {
  std::vector<std::string> out;
  const json labels = metadata.value("labels", json::object());
  for (const auto& [k, v] : labels.items()) {
    if (v.is_string()) out.push_back(weft::strCat(k, "=", v.get<std::string>()));
  }
  return weft::join(out, ",");
}

}  // namespace

InjectResult injectPod(json& metadata, json& spec, const InjectSettings& s) {
  if (!metadata.is_object()) metadata = json::object();
  if (!spec.is_object() || !spec.contains("containers") || !spec["containers"].is_array()) {
    return {false, "no pod spec with containers"};
  }
  const json annotations = metadata.value("annotations", json::object());
  if (annotations.value(kInjectAnnotation, "") == "disabled") {
    return {false, "annotated weft.dev/inject: disabled"};
  }
  if (annotations.contains(kInjectedAnnotation)) return {false, "already injected"};
  if (spec.value("hostNetwork", false)) {
    return {false, "on the host network: its iptables are the node's"};
  }
  auto interception = interceptionOf(annotations);
  if (!interception.ok()) return {false, std::string(interception.status().message())};
  const std::string service = serviceOf(metadata);
  json proxy = proxyContainer(s, service, appPort(spec), labelsArg(metadata), *interception);
  json inits = spec.value("initContainers", json::array());
  inits.insert(inits.begin(), initContainer(s, *interception));
  if (s.legacy_sidecar) {
    spec["containers"].insert(spec["containers"].begin(), std::move(proxy));
  } else {
    inits.insert(inits.begin() + 1, std::move(proxy));
  }
  spec["initContainers"] = std::move(inits);
  json vols = spec.value("volumes", json::array());
  for (json& v : volumes()) vols.push_back(std::move(v));
  spec["volumes"] = std::move(vols);
  json& ann = metadata["annotations"];
  if (!ann.is_object()) ann = json::object();
  ann[kInjectedAnnotation] = s.legacy_sidecar ? "legacy-sidecar" : "native-sidecar";
  ann["prometheus.io/scrape"] = "true";
  ann["prometheus.io/port"] = std::to_string(kAdminPort);
  ann["prometheus.io/path"] = "/metrics";
  return {true, ""};
}

InjectResult injectObject(json& object, const InjectSettings& s) {
  if (!object.is_object()) return {false, "not a Kubernetes object"};
  const std::string kind = object.value("kind", "");
  if (kind == "Pod") {
    return injectPod(object["metadata"], object["spec"], s);
  }
  json* template_ = nullptr;
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" ||
      kind == "ReplicaSet" || kind == "Job") {
    if (object.contains("spec") && object["spec"].is_object()) {
      template_ = &object["spec"]["template"];
    }
  } else if (kind == "CronJob") {
    if (object.contains("spec") && object["spec"].is_object() &&
        object["spec"].contains("jobTemplate")) {
      json& job = object["spec"]["jobTemplate"];
      if (job.is_object() && job.contains("spec") && job["spec"].is_object()) {
        template_ = &job["spec"]["template"];
      }
    }
  } else {
    return {false, weft::strCat(kind.empty() ? "no kind" : kind, ": not a workload")};
  }
  if (template_ == nullptr || !template_->is_object()) return {false, "no pod template"};
  // The workload's own opt-out counts too.
  const json annotations =
      object.value("metadata", json::object()).value("annotations", json::object());
  if (annotations.value(kInjectAnnotation, "") == "disabled") {
    return {false, "annotated weft.dev/inject: disabled"};
  }
  return injectPod((*template_)["metadata"], (*template_)["spec"], s);
}

}  // namespace weft::control::inject
