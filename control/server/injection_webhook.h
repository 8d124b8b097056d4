#pragma once

// weft-control's mutating admission webhook on --webhook (TLS with --webhook-cert/-key, the
// certificate the API server trusts through the webhook configuration's caBundle):
//   POST /inject/namespace-enabled   pods of namespaces labelled weft.dev/inject: enabled
//   POST /inject/annotated           pods annotated weft.dev/inject: enabled, anywhere else
// Each takes an AdmissionReview v1 and answers with the patch that injects the pod
// (control/inject/admission.h), or none. A body that is not an AdmissionReview gets 400.

#include "control/inject/admission.h"
#include "control/server/control_metrics.h"
#include "net/http/api_router.h"

namespace weft::control {

class InjectionWebhook {
 public:
  explicit InjectionWebhook(inject::InjectSettings settings) : settings_(std::move(settings)) {}

  void addRoutes(http::ApiRouter& router);

 private:
  awaitable<void> handle(http::ApiRequest& request, inject::Policy policy);

  inject::InjectSettings settings_;
};

}  // namespace weft::control
