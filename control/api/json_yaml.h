#pragma once

// Resources travel as JSON (the operator API, the store, the push to proxies) and are written by
// people as YAML. The decoders (yaml_decoder.h) walk one tree type whatever the input was, so
// JSON and YAML go through the same checks: these convert between the two.

#include <string>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace weft::api {

// JSON to the decoders' tree. Numbers and booleans become plain scalars, as YAML writes them.
YAML::Node yamlFromJson(const nlohmann::json& j);

// A parsed YAML document to JSON: quoted scalars stay strings; plain ones that read as an
// integer, a decimal, true/false or null become that (YAML 1.2's core schema).
nlohmann::json jsonFromYaml(const YAML::Node& n);

// Block-style YAML text for people (`weftctl get -o yaml`, `weftctl diff`).
std::string yamlText(const nlohmann::json& j);

}  // namespace weft::api
