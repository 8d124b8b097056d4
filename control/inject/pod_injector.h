#pragma once

// Adds the mesh to a Kubernetes workload: what `weftctl inject` and (later) weft-control's
// admission webhook do to a pod template. Added:
//   - initContainer weft-init: `weft-proxy init` (NET_ADMIN, NET_RAW; runs as root, once);
//   - the proxy, weft-proxy, as a native sidecar (an init container with restartPolicy Always,
//     Kubernetes >= 1.29) whose startup probe is /ready: the app starts only once the proxy
//     holds a certificate and a config, and a Job's pod finishes when its app does. With
//     legacy_sidecar, the proxy is the first regular container instead;
//   - its resources, UID (proxy_uid), env from the downward API (pod name, namespace, service
//     account), the projected ServiceAccount token (audience weft.dev) it proves its identity
//     with, the trust bundle (ConfigMap weft-trust-bundle), a memory-backed --cache-dir;
//   - Prometheus scrape annotations on the pod, and weft.dev/injected.
// A pod annotated weft.dev/inject: disabled, one already injected, or one on the host network is
// left as it is, with the reason.

#include <string>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace weft::control::inject {

struct InjectSettings {
  std::string image = "ghcr.io/weft-mesh/weft-proxy:0.1.0";
  std::string control = "weft-control.weft-system.svc:15010";  // HOST:PORT of --listen
  std::string trust_domain = "cluster.local";
  uint32_t proxy_uid = 1337;
  bool legacy_sidecar = false;
};

inline constexpr char kInjectAnnotation[] = "weft.dev/inject";
inline constexpr char kInjectedAnnotation[] = "weft.dev/injected";
// Per-pod interception settings, each a comma-separated list of ports (skip-subnets: CIDRs),
// passed to weft-proxy (opaque, permissive) or to its init container (skip-*).
inline constexpr char kOpaquePortsAnnotation[] = "weft.dev/opaque-ports";
inline constexpr char kPermissivePortsAnnotation[] = "weft.dev/permissive-ports";
inline constexpr char kSkipInboundPortsAnnotation[] = "weft.dev/skip-inbound-ports";
inline constexpr char kSkipOutboundPortsAnnotation[] = "weft.dev/skip-outbound-ports";
inline constexpr char kSkipSubnetsAnnotation[] = "weft.dev/skip-subnets";

struct InjectResult {
  bool injected = false;
  std::string reason;  // why not, when not
};

// Mutates one pod (its "metadata" and "spec" objects, as in a Pod or a pod template). A pod whose
// interception annotations are malformed is left alone, the reason naming the annotation.
InjectResult injectPod(nlohmann::json& metadata, nlohmann::json& spec, const InjectSettings& s);

// Finds the pod template of a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or
// CronJob and injects it; other kinds come back untouched, with the reason.
InjectResult injectObject(nlohmann::json& object, const InjectSettings& s);

}  // namespace weft::control::inject
