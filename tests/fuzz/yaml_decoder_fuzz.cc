// decodeMeshConfig on arbitrary bytes: it must return an error or a config, never crash or
// throw. A decoded config must also serialize, as the admin /config endpoint does, and that
// JSON (which is YAML) must decode again to the same resources.
//
// Known findings (not in the seed corpus, which CI replays):
//  - yaml-cpp 0.7's YAML::LoadAll loops forever, allocating, on input as small as ","
//    (jbeder/yaml-cpp#1040; fixed upstream by #1319, merged after 0.8.0). Run with -timeout=2
//    and, to get past it, -fork=2 -ignore_timeouts=1 -ignore_ooms=1.
//  - a label holding bytes that are not UTF-8 is accepted, and toJson().dump() then throws
//    (YamlDecoderTest.AcceptedConfigSerializesToJson).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control/api/yaml_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto config = weft::api::decodeMeshConfig(yaml, "fuzz.yaml", 1);
  if (!config.ok()) return 0;
  const weft::api::MeshConfig& mesh = **config;
  for (const auto& svc : mesh.services()) {
    if (mesh.findService(svc.name, svc.ns) == nullptr) __builtin_trap();
    for (const auto& ep : svc.endpoints) {
      if (ep.identity.empty() || ep.host.empty()) __builtin_trap();
    }
    for (const auto* route : mesh.routesFor(svc)) {
      for (const auto& rule : route->rules) {
        if (rule.backend_refs.empty()) __builtin_trap();
        for (const auto& backend : rule.backend_refs) {
          const auto* target = mesh.findService(backend.name, backend.ns);
          if (target == nullptr) __builtin_trap();
          if (!backend.subset.empty() && target->findSubset(backend.subset) == nullptr) {
            __builtin_trap();
          }
        }
      }
    }
    (void)mesh.policyFor(svc);
  }
  const nlohmann::json json = mesh.toJson();
  (void)json.dump(2);
  std::string again;
  for (const auto& resource : json["resources"]) again += resource.dump() + "\n---\n";
  auto decoded_again = weft::api::decodeMeshConfig(again, "fuzz.json", 1);
  if (!decoded_again.ok() || (*decoded_again)->toJson()["resources"] != json["resources"]) {
    __builtin_trap();
  }
  return 0;
}
