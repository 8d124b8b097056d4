#pragma once

// The mutating admission webhook's decision (AdmissionReview v1, admission.k8s.io/v1): for a
// Pod being created, the JSON patch (RFC 6902) that adds the mesh to it (pod_injector.h), or no
// patch. The webhook never refuses a pod: "allowed" is always true, so a webhook outage or a pod
// it cannot read costs the mesh, not the workload (deploy it with failurePolicy: Ignore).
//
// Two ways a pod asks for the mesh, as the MutatingWebhookConfiguration routes them:
//   - Policy::kNamespaceEnabled: its namespace is labelled weft.dev/inject: enabled; every pod
//     there is injected unless annotated weft.dev/inject: disabled;
//   - Policy::kAnnotatedOnly: any other namespace; only pods annotated weft.dev/inject: enabled.

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "control/inject/pod_injector.h"

namespace weft::control::inject {

enum class Policy { kNamespaceEnabled, kAnnotatedOnly };

// The AdmissionReview response for `review`; InvalidArgument naming the field when `review` is
// not an AdmissionReview v1 with a request uid.
absl::StatusOr<nlohmann::json> review(const nlohmann::json& review, Policy policy,
                                      const InjectSettings& settings);

// The RFC 6902 operations that turn `before` into `after` for the parts of a pod the injector
// changes (metadata.annotations, spec.initContainers, spec.containers, spec.volumes).
nlohmann::json podPatch(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace weft::control::inject
