#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"
#include "control/api/resources.h"

namespace weft::api {

// Decodes a multi-document YAML stream of mesh resources. Unknown kinds and unknown fields are
// rejected; every error names the source, line, field path and reason, e.g.
//   mesh.yaml:9: spec.endpoints[0].identity: not a SPIFFE ID (want spiffe://...): 'web'
absl::StatusOr<MeshConfigConstSharedPtr> decodeMeshConfig(std::string_view yaml,
                                                          std::string_view source,
                                                          uint64_t version);

// One resource document in the decoders' tree: parsed from YAML (with lines) or converted from
// JSON (json_yaml.h; errors then name the source and field path without a line). Both go through
// the same checks.
struct SourceDocument {
  YAML::Node node;
  std::string source;  // "mesh.yaml", "HTTPRoute default/reviews"
  int first_line = 0;  // 0-based, of the document within its source
};

// Splits and parses a multi-document YAML stream (16 MiB at most); blank documents are skipped.
absl::StatusOr<std::vector<SourceDocument>> parseYamlDocuments(std::string_view yaml,
                                                               std::string_view source);

// Decodes documents from any number of sources into one config: every per-kind check, unique
// names, and references between them (a route to a Service or subset none of them names).
absl::StatusOr<MeshConfigConstSharedPtr> decodeDocuments(const std::vector<SourceDocument>& docs,
                                                         std::string_view source, uint64_t version);

// Reads and decodes a file. Unlike decodeMeshConfig, a file without a single resource (empty,
// only comments, only `---`) and a directory are errors: a mesh config file always names at
// least one Service, and an empty one is far more likely a broken deploy than an intent.
absl::StatusOr<MeshConfigConstSharedPtr> loadMeshConfigFile(const std::string& path,
                                                            uint64_t version);

}  // namespace weft::api
