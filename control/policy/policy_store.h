#pragma once

// The operators' mesh resources (Service, HTTPRoute, DestinationPolicy) in weft-control's store,
// one key each (/policy/<Kind>/<namespace>/<name>, the object as JSON). An apply or a delete is
// checked as the whole mesh it would leave (every per-kind check, and references between
// resources), then written in one store commit: a refused one changes nothing, an acknowledged
// one survives kill -9. Every resource carries its resourceVersion (the store's mod_revision);
// a write that names a stale one is refused with 409.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "control/api/resources.h"
#include "control/policy/manifests.h"
#include "control/store/store.h"

namespace weft::control::policy {

inline constexpr std::string_view kPolicyPrefix = "/policy/";

// The kinds the store keeps, in the order `get` lists them.
const std::vector<std::string>& knownKinds();

struct Applied {
  ResourceKey key;
  std::string action;  // "created", "configured", "unchanged"
  store::Revision resource_version = 0;
  nlohmann::json live;    // what was there before (null: nothing)
  nlohmann::json object;  // what is there now (for a dry run: would be)
};

class PolicyStore {
 public:
  explicit PolicyStore(store::Store& store) : store_(store) {}

  // Refusals carry a reason (control/ca/refusal.h): invalid_resource (400), conflict (409, a
  // stale resourceVersion), store_write_failed (503).
  absl::StatusOr<std::vector<Applied>> apply(const std::vector<Manifest>& manifests, bool dry_run);
  // not_found (404), conflict (409), in_use (409: another resource refers to it).
  absl::StatusOr<store::Revision> remove(const ResourceKey& key,
                                         std::optional<store::Revision> resource_version);

  // The object with metadata.resourceVersion, or nullopt.
  std::optional<nlohmann::json> get(const ResourceKey& key) const;
  // Every object of `kind` (all kinds when empty) in `ns` (all when empty).
  std::vector<nlohmann::json> list(std::string_view kind, std::string_view ns) const;

  // The whole mesh, decoded; rebuilt only after a change. Its version is the store revision.
  absl::StatusOr<api::MeshConfigConstSharedPtr> mesh();

  static std::string storeKey(const ResourceKey& key);

 private:
  // Decodes what the store holds, minus `replaced`, plus `manifests`: the mesh after a write.
  absl::StatusOr<api::MeshConfigConstSharedPtr> wouldBe(
      const std::vector<Manifest>& manifests, const std::vector<std::string>& replaced) const;

  store::Store& store_;
  api::MeshConfigConstSharedPtr mesh_;
  store::Revision mesh_revision_ = -1;
};

}  // namespace weft::control::policy
