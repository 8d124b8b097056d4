#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "control/api/resources.h"

namespace weft::router {

// What an outbound request resolved to.
struct Route {
  const api::Service* service = nullptr;
  const api::Endpoint* endpoint = nullptr;
};

// The authority forms an app may use for a Service `name` in namespace `ns` listening on `port`:
//   name | name.ns | name.ns.svc | name.ns.svc.cluster.local, each with an optional :port.
// A short name resolves in the proxy's own namespace. Returns NotFound naming the host.
absl::StatusOr<const api::Service*> resolveAuthority(const api::MeshConfig& config,
                                                     std::string_view authority,
                                                     std::string_view own_namespace);

// Resolves outbound requests to a Service and picks one of its endpoints. One per worker: the
// balancing state is the worker's own; the config it routes on is passed per request.
class OutboundRouter {
 public:
  explicit OutboundRouter(std::string own_namespace) : ns_(std::move(own_namespace)) {}

  // NotFound for an unknown authority, Unavailable when the Service has no endpoints.
  absl::StatusOr<Route> route(const api::MeshConfig& config, std::string_view authority);

 private:
  std::string ns_;
  std::unordered_map<const api::Service*, size_t> next_;  // round-robin cursor per Service
  const api::MeshConfig* cursor_config_ = nullptr;        // cursors belong to this snapshot
};

}  // namespace weft::router
