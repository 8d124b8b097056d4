#pragma once

// Evaluates AuthorizationPolicies (resources.h): whether a caller may make a request to a
// Service's workloads. The inbound proxy runs it on every request; `weftctl authz check` asks
// weft-control to run the same code on the stored mesh.

#include <string>
#include <string_view>

#include "control/api/resources.h"

namespace weft::api {

struct AuthorizationDecision {
  bool allowed = true;
  // Which policy and rule admitted it ("reviews-callers rules[0]"), "no AuthorizationPolicy"
  // when none targets the Service, or why it was refused.
  std::string reason;
};

// `path` without the query string.
AuthorizationDecision authorize(const MeshConfig& mesh, std::string_view service,
                                std::string_view ns, std::string_view caller,
                                std::string_view method, std::string_view path);

// An opaque TCP connection (no method, no path): only rules without `to` can admit it, as
// Istio's ALLOW rules with HTTP fields never match TCP.
AuthorizationDecision authorizeConnection(const MeshConfig& mesh, std::string_view service,
                                          std::string_view ns, std::string_view caller);

}  // namespace weft::api
