// decodeMeshConfig on arbitrary bytes: it must return an error or a config, never crash or
// throw. A decoded config must also serialize, as the admin /config endpoint does.
//
// Known findings (not in the seed corpus, which CI replays):
//  - yaml-cpp 0.7's YAML::LoadAll loops forever, allocating, on input as small as ","
//    (jbeder/yaml-cpp#1040; fixed upstream by #1319, merged after 0.8.0). Run with -timeout=2
//    and, to get past it, -fork=2 -ignore_timeouts=1 -ignore_ooms=1.
//  - a label holding bytes that are not UTF-8 is accepted, and toJson().dump() then throws
//    (YamlDecoderTest.AcceptedConfigSerializesToJson).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control/api/yaml_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto config = weft::api::decodeMeshConfig(yaml, "fuzz.yaml", 1);
  if (config.ok()) {
    for (const auto& svc : (*config)->services()) {
      if ((*config)->findService(svc.name, svc.ns) == nullptr) __builtin_trap();
      for (const auto& ep : svc.endpoints) {
        if (ep.identity.empty() || ep.host.empty()) __builtin_trap();
      }
    }
    (void)(*config)->toJson().dump(2);
  }
  return 0;
}
