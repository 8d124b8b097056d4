#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "control/api/resources.h"

namespace weft::router {

// The authority forms an app may use for a Service `name` in namespace `ns` listening on `port`:
//   name | name.ns | name.ns.svc | name.ns.svc.cluster.local, each with an optional :port.
// A short name resolves in the proxy's own namespace. Returns NotFound naming the host.
absl::StatusOr<const api::Service*> resolveAuthority(const api::MeshConfig& config,
                                                     std::string_view authority,
                                                     std::string_view own_namespace);

}  // namespace weft::router
