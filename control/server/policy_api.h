#pragma once

// The operators' mesh resources on weft-control's --api port, every route behind the admin token:
//
//   POST   /v1/apply[?dryRun=true]   YAML or JSON manifests (x-weft-source names them in errors)
//     200 {"revision", "results": [{"kind", "namespace", "name", "action", "resourceVersion"}]}
//     (a dry run also returns each "live" and would-be "object", for `weftctl diff`)
//     400 invalid_resource · 409 conflict (stale resourceVersion) · 413 · 503 store_write_failed
//   GET    /v1/resources[/KIND[/NAMESPACE[/NAME]]]   {"items": [...]} or the one object
//   DELETE /v1/resources/KIND/NAMESPACE/NAME[?resourceVersion=N]
//     404 not_found · 409 conflict · 409 in_use (another resource refers to it)
//   POST   /v1/authz/check  {"from": ID, "to": SERVICE, "namespace", "method", "path"}
//     200 {"allowed", "reason"}: what the Service's inbound proxies would decide

#include "control/api/authorize.h"
#include "control/auth/admin_token.h"
#include "control/policy/policy_store.h"
#include "net/http/api_router.h"

namespace weft::control {

class ControlMetrics;

class PolicyApi {
 public:
  PolicyApi(const auth::AdminToken& admin, policy::PolicyStore& policies, ControlMetrics& metrics)
      : admin_(admin), policies_(policies), metrics_(metrics) {}

  void addRoutes(http::ApiRouter& router);

 private:
  awaitable<void> apply(http::ApiRequest& request);
  awaitable<void> get(http::ApiRequest& request);
  awaitable<void> remove(http::ApiRequest& request);
  awaitable<void> authzCheck(http::ApiRequest& request);
  absl::StatusOr<api::AuthorizationDecision> decide(const absl::StatusOr<std::string>& body);

  const auth::AdminToken& admin_;
  policy::PolicyStore& policies_;
  ControlMetrics& metrics_;
};

}  // namespace weft::control
