#pragma once

// What `weftctl apply` sends and the operator API takes: resource documents as YAML (one or many,
// split by `---`) or JSON (one object, an array, or a {"kind": "List", "items": [...]}). Either
// way each becomes a Manifest: the object as JSON for the store, and the decoders' tree for the
// checks (api::decodeDocuments), so YAML and JSON get the same validation.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "control/api/resource_key.h"
#include "control/api/yaml_decoder.h"
#include "control/store/store.h"

namespace weft::control::policy {

using ResourceKey = api::ResourceKey;

struct Manifest {
  // As written; the decoders report a missing or wrong kind, name or namespace.
  ResourceKey key;
  // metadata.resourceVersion when given: the apply is refused (409) unless it is current.
  std::optional<store::Revision> resource_version;
  // Without metadata.resourceVersion; metadata.namespace filled in ("default").
  nlohmann::json object;
  api::SourceDocument document;
};

// `source` names the input in errors ("mesh.yaml:9: spec.port: …", or "request body: items[2]:
// …" for JSON, which has no lines).
absl::StatusOr<std::vector<Manifest>> parseManifests(std::string_view body,
                                                     std::string_view source);

}  // namespace weft::control::policy
