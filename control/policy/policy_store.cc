#include "control/policy/policy_store.h"

#include <algorithm>
#include <unordered_set>

#include "common/strings.h"
#include "control/api/json_yaml.h"
#include "control/ca/refusal.h"

namespace weft::control::policy {
namespace {

using nlohmann::json;

json withVersion(const store::KeyValue& kv) {
  json object = json::parse(kv.value, nullptr, false);
  if (object.is_object() && object["metadata"].is_object()) {
    object["metadata"]["resourceVersion"] = std::to_string(kv.mod_revision);
  }
  return object;
}

absl::Status storeFailed(const absl::Status& st) {
  return refuse(absl::StatusCode::kUnavailable, "store_write_failed",
                weft::strCat("nothing was changed: ", st.message()));
}

}  // namespace

const std::vector<std::string>& knownKinds() {
  static const std::vector<std::string> kinds = {"Service", "HTTPRoute", "DestinationPolicy",
                                                 "AuthorizationPolicy"};
  return kinds;
}

std::string PolicyStore::storeKey(const ResourceKey& key) {
  return weft::strCat(kPolicyPrefix, key.kind, "/", key.ns, "/", key.name);
}

absl::StatusOr<api::MeshConfigConstSharedPtr> PolicyStore::wouldBe(
    const std::vector<Manifest>& manifests, const std::vector<std::string>& replaced) const {
  std::unordered_set<std::string> skip(replaced.begin(), replaced.end());
  std::vector<api::SourceDocument> docs;
  for (const store::KeyValue& kv : store_.list(kPolicyPrefix)) {
    if (skip.contains(kv.key)) continue;
    const json object = json::parse(kv.value, nullptr, false);
    docs.push_back({api::yamlFromJson(object), api::resourceKeyOf(object).describe(), 0});
  }
  for (const Manifest& m : manifests) docs.push_back(m.document);
  return api::decodeDocuments(docs, "weft-control", static_cast<uint64_t>(store_.revision()));
}

absl::StatusOr<std::vector<Applied>> PolicyStore::apply(const std::vector<Manifest>& manifests,
                                                        bool dry_run) {
  std::vector<std::string> keys;
  for (const Manifest& m : manifests) keys.push_back(storeKey(m.key));
  if (auto mesh = wouldBe(manifests, keys); !mesh.ok()) {
    return refuse(absl::StatusCode::kInvalidArgument, "invalid_resource",
                  weft::sv(mesh.status().message()));
  }
  std::vector<Applied> out;
  std::vector<store::Op> ops;
  for (size_t i = 0; i < manifests.size(); ++i) {
    const Manifest& m = manifests[i];
    std::optional<store::KeyValue> live = store_.get(keys[i]);
    const store::Revision current = live ? live->mod_revision : 0;
    if (m.resource_version && *m.resource_version != current) {
      return refuse(absl::StatusCode::kAborted, "conflict",
                    weft::strCat(m.key.describe(), ": resourceVersion ", *m.resource_version,
                                 " is stale (now ", current, live ? "" : ": it does not exist",
                                 "): get it again and reapply your change"));
    }
    Applied a{m.key, live ? "configured" : "created", current,
              live ? withVersion(*live) : json(nullptr), m.object};
    const std::string value = m.object.dump();
    if (live && live->value == value) {
      a.action = "unchanged";
    } else {
      ops.push_back({store::Op::Type::kPut, keys[i], value, current});
    }
    out.push_back(std::move(a));
  }
  if (dry_run || ops.empty()) return out;
  auto rev = store_.commit(ops);
  if (absl::IsAborted(rev.status())) {
    return refuse(absl::StatusCode::kAborted, "conflict", weft::sv(rev.status().message()));
  }
  if (!rev.ok()) return storeFailed(rev.status());
  for (Applied& a : out) {
    if (a.action != "unchanged") a.resource_version = *rev;
    a.object["metadata"]["resourceVersion"] = std::to_string(a.resource_version);
  }
  return out;
}

absl::StatusOr<store::Revision> PolicyStore::remove(
    const ResourceKey& key, std::optional<store::Revision> resource_version) {
  const std::string skey = storeKey(key);
  std::optional<store::KeyValue> live = store_.get(skey);
  if (!live) {
    return refuse(absl::StatusCode::kNotFound, "not_found",
                  weft::strCat(key.describe(), " does not exist"));
  }
  if (resource_version && *resource_version != live->mod_revision) {
    return refuse(absl::StatusCode::kAborted, "conflict",
                  weft::strCat(key.describe(), ": resourceVersion ", *resource_version,
                               " is stale (now ", live->mod_revision, ")"));
  }
  if (auto mesh = wouldBe({}, {skey}); !mesh.ok()) {
    return refuse(absl::StatusCode::kFailedPrecondition, "in_use",
                  weft::strCat("cannot delete ", key.describe(),
                               ": it is still referred to: ", mesh.status().message()));
  }
  auto rev = store_.commit({{store::Op::Type::kDelete, skey, "", live->mod_revision}});
  if (absl::IsAborted(rev.status())) {
    return refuse(absl::StatusCode::kAborted, "conflict", weft::sv(rev.status().message()));
  }
  if (!rev.ok()) return storeFailed(rev.status());
  return *rev;
}

std::optional<json> PolicyStore::get(const ResourceKey& key) const {
  auto kv = store_.get(storeKey(key));
  if (!kv) return std::nullopt;
  return withVersion(*kv);
}

std::vector<json> PolicyStore::list(std::string_view kind, std::string_view ns) const {
  std::vector<json> out;
  const std::string prefix =
      kind.empty() ? std::string(kPolicyPrefix) : weft::strCat(kPolicyPrefix, kind, "/");
  for (const store::KeyValue& kv : store_.list(prefix)) {
    json object = withVersion(kv);
    if (!ns.empty() && api::resourceKeyOf(object).ns != ns) continue;
    out.push_back(std::move(object));
  }
  if (kind.empty()) {
    // Kinds in knownKinds() order, not the store's alphabetical one.
    auto rank = [](const json& o) {
      const auto& kinds = knownKinds();
      return std::find(kinds.begin(), kinds.end(), api::resourceKeyOf(o).kind) - kinds.begin();
    };
    std::stable_sort(out.begin(), out.end(),
                     [&](const json& a, const json& b) { return rank(a) < rank(b); });
  }
  return out;
}

absl::StatusOr<api::MeshConfigConstSharedPtr> PolicyStore::mesh() {
  if (mesh_ && mesh_revision_ == store_.revision()) return mesh_;
  auto mesh = wouldBe({}, {});
  if (!mesh.ok()) return mesh.status();
  mesh_ = *mesh;
  mesh_revision_ = store_.revision();
  return mesh_;
}

}  // namespace weft::control::policy
