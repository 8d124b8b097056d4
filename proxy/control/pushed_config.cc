#include "proxy/control/pushed_config.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "control/api/json_yaml.h"
#include "control/api/resource_key.h"
#include "control/api/yaml_decoder.h"
#include "runtime/atomic_file.h"

namespace weft::proxy::control {
namespace {

using nlohmann::json;

bool hasString(const json& object, const char* key) {
  return object.contains(key) && object.at(key).is_string();
}

uint64_t numericVersion(const std::string& version) {
  uint64_t v = 0;
  std::from_chars(version.data(), version.data() + version.size(), v);
  return v;
}

}  // namespace

absl::StatusOr<api::MeshConfigConstSharedPtr> PushedConfig::build(
    const std::map<std::string, api::push::Resource>& resources, const std::string& version) {
  std::vector<api::SourceDocument> docs;
  docs.reserve(resources.size());
  for (const auto& [key, r] : resources) {
    if (const std::string is = api::resourceKeyOf(r.object).path(); is != key) {
      return absl::InvalidArgumentError(weft::strCat("resource ", key, ": its object is ", is));
    }
    docs.push_back({api::yamlFromJson(r.object), key, 0});
  }
  return api::decodeDocuments(docs, weft::strCat("control plane version ", version),
                              numericVersion(version));
}

absl::StatusOr<api::MeshConfigConstSharedPtr> PushedConfig::apply(const api::push::Update& update,
                                                                  uint32_t max_services) {
  std::map<std::string, api::push::Resource> next = resources_;
  for (const std::string& key : update.removed) next.erase(key);
  for (const api::push::Resource& r : update.resources) next[r.key] = r;
  auto mesh = build(next, update.version);
  if (!mesh.ok()) return mesh.status();
  if (max_services != 0 && (*mesh)->services().size() > max_services) {
    return absl::ResourceExhaustedError(
        weft::strCat((*mesh)->services().size(), " Services in scope, over --max-services ",
                     max_services, ": narrow the proxy's scope (its namespace and --egress)"));
  }
  resources_ = std::move(next);
  version_ = update.version;
  return mesh;
}

std::optional<std::vector<std::string>> PushedConfig::endpointChanges(
    const api::push::Update& update) const {
  if (!update.removed.empty() || empty()) return std::nullopt;
  // The object without what an endpoint change touches.
  auto rest = [](json object) {
    if (object.is_object() && object.contains("spec") && object["spec"].is_object()) {
      object["spec"].erase("endpoints");
    }
    if (object.is_object() && object.contains("metadata") && object["metadata"].is_object()) {
      object["metadata"].erase("resourceVersion");
    }
    return object;
  };
  std::vector<std::string> services;
  for (const api::push::Resource& r : update.resources) {
    auto held = resources_.find(r.key);
    if (held == resources_.end()) return std::nullopt;
    const api::ResourceKey key = api::resourceKeyOf(r.object);
    if (key.kind != "Service" || key.path() != r.key) return std::nullopt;
    if (rest(held->second.object) != rest(r.object)) return std::nullopt;
    services.push_back(weft::strCat(key.ns, "/", key.name));
  }
  return services;
}

std::map<std::string, std::string> PushedConfig::held() const {
  std::map<std::string, std::string> out;
  for (const auto& [key, r] : resources_) out[key] = r.version;
  return out;
}

absl::Status PushedConfig::save(const std::string& dir) const {
  json resources = json::array();
  for (const auto& [key, r] : resources_) {
    resources.push_back({{"key", key}, {"version", r.version}, {"object", r.object}});
  }
  const json doc = {{"version", version_}, {"resources", std::move(resources)}};
  return runtime::writeFileAtomic(dir + "/config.json", doc.dump(), 0600);
}

absl::StatusOr<api::MeshConfigConstSharedPtr> PushedConfig::load(const std::string& dir) {
  const std::string path = dir + "/config.json";
  auto text = runtime::readFile(path, api::push::kMaxMessageBytes);
  if (!text.ok()) return text.status();
  const json doc = json::parse(*text, nullptr, false);
  if (!doc.is_object() || !doc.contains("resources") || !doc["resources"].is_array()) {
    return absl::DataLossError(weft::strCat(path, ": not a cached config"));
  }
  std::map<std::string, api::push::Resource> resources;
  for (const json& r : doc["resources"]) {
    if (!r.is_object() || !r.contains("object") || !hasString(r, "key") ||
        !hasString(r, "version")) {
      return absl::DataLossError(
          weft::strCat(path, ": a resource without its key, version or object"));
    }
    const std::string key = r.at("key").get<std::string>();
    resources[key] = {key, r.at("version").get<std::string>(), r.at("object")};
  }
  if (!hasString(doc, "version")) {
    return absl::DataLossError(weft::strCat(path, ": no config version"));
  }
  const std::string version = doc.at("version").get<std::string>();
  auto mesh = build(resources, version);
  if (!mesh.ok()) {
    return absl::DataLossError(weft::strCat(path, ": ", mesh.status().message()));
  }
  resources_ = std::move(resources);
  version_ = version;
  return mesh;
}

}  // namespace weft::proxy::control
