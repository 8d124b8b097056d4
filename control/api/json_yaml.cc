#include "control/api/json_yaml.h"

#include <charconv>
#include <cstdint>
#include <string_view>

namespace weft::api {
namespace {

using nlohmann::json;

// The plain scalar `s` as YAML 1.2's core schema reads it.
json plainScalar(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (*first == '+') ++first;
  int64_t i = 0;
  if (auto [end, ec] = std::from_chars(first, last, i); ec == std::errc() && end == last) {
    return i;
  }
  uint64_t u = 0;
  if (auto [end, ec] = std::from_chars(first, last, u); ec == std::errc() && end == last) {
    return u;
  }
  double d = 0;
  if (s.find_first_of("0123456789") != std::string::npos) {
    if (auto [end, ec] = std::from_chars(first, last, d); ec == std::errc() && end == last) {
      return d;
    }
  }
  return s;
}

void emit(YAML::Emitter& out, const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, value] : j.items()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, value);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const json& item : j) emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const std::string& s = j.get_ref<const std::string&>();
      // Quote what would read back as another type ("80", "true").
      if (!plainScalar(s).is_string()) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    case json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << j.dump();
  }
}

}  // namespace

YAML::Node yamlFromJson(const json& j) {
  switch (j.type()) {
    case json::value_t::object: {
      YAML::Node n(YAML::NodeType::Map);
      for (const auto& [key, value] : j.items()) n[key] = yamlFromJson(value);
      return n;
    }
    case json::value_t::array: {
      YAML::Node n(YAML::NodeType::Sequence);
      for (const json& item : j) n.push_back(yamlFromJson(item));
      return n;
    }
    case json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    case json::value_t::string:
      return YAML::Node(j.get<std::string>());
    default:
      return YAML::Node(j.dump());
  }
}

json jsonFromYaml(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : n) out[kv.first.as<std::string>()] = jsonFromYaml(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : n) out.push_back(jsonFromYaml(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      // "!" is the tag of a quoted scalar: always a string.
      if (n.Tag() == "!") return n.Scalar();
      return plainScalar(n.Scalar());
    default:
      return nullptr;
  }
}

std::string yamlText(const json& j) {
  YAML::Emitter out;
  emit(out, j);
  return std::string(out.c_str()) + "\n";
}

}  // namespace weft::api
