#include "control/api/resources.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace weft::api {

MeshConfig::MeshConfig(std::vector<Service> services, std::string source, uint64_t version)
    : services_(std::move(services)), source_(std::move(source)), version_(version) {
  for (size_t i = 0; i < services_.size(); ++i) {
    by_key_.emplace(weft::strCat(services_[i].ns, "/", services_[i].name), i);
  }
}

const Service* MeshConfig::findService(std::string_view name, std::string_view ns) const {
  auto it = by_key_.find(weft::strCat(ns, "/", name));
  return it == by_key_.end() ? nullptr : &services_[it->second];
}

nlohmann::json MeshConfig::toJson() const {
  nlohmann::json resources = nlohmann::json::array();
  for (const Service& s : services_) {
    nlohmann::json endpoints = nlohmann::json::array();
    for (const Endpoint& e : s.endpoints) {
      endpoints.push_back({{"address", e.address}, {"identity", e.identity}, {"labels", e.labels}});
    }
    resources.push_back({{"apiVersion", kApiVersion},
                         {"kind", "Service"},
                         {"metadata", {{"name", s.name}, {"namespace", s.ns}}},
                         {"spec", {{"port", s.port}, {"endpoints", endpoints}}}});
  }
  return {{"version", version_}, {"source", source_}, {"resources", resources}};
}

}  // namespace weft::api
