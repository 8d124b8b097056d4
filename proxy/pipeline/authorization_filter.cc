#include "proxy/pipeline/authorization_filter.h"

#include "control/api/authorize.h"
#include "net/log.h"

namespace weft::pipeline {

absl::Status AuthorizationFilter::onRequest(const http::RequestHead& request,
                                            const http::DownstreamInfo& downstream,
                                            const WorkerSnapshot& snapshot) {
  const api::MeshConfig& mesh = snapshot.mesh();
  if (mesh.authorizationFor(service_, ns_).empty()) return absl::OkStatus();
  std::string_view path = request.path;
  if (const size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  api::AuthorizationDecision d =
      api::authorize(mesh, service_, ns_, downstream.peer_identity, request.method, path);
  if (d.allowed) return absl::OkStatus();
  return absl::PermissionDeniedError(d.reason);
}

}  // namespace weft::pipeline
