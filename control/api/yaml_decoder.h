#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "control/api/resources.h"

namespace weft::api {

// Decodes a multi-document YAML stream of mesh resources. Unknown kinds and unknown fields are
// rejected; every error names the source, line, field path and reason, e.g.
//   mesh.yaml:9: spec.endpoints[0].identity: not a SPIFFE ID (want spiffe://...): 'web'
absl::StatusOr<MeshConfigConstSharedPtr> decodeMeshConfig(std::string_view yaml,
                                                          std::string_view source,
                                                          uint64_t version);

// Reads and decodes a file. Unlike decodeMeshConfig, a file without a single resource (empty,
// only comments, only `---`) and a directory are errors: a mesh config file always names at
// least one Service, and an empty one is far more likely a broken deploy than an intent.
absl::StatusOr<MeshConfigConstSharedPtr> loadMeshConfigFile(const std::string& path,
                                                            uint64_t version);

}  // namespace weft::api
