#include "control/api/resource_key.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace weft::api {
namespace {

using nlohmann::json;

// object[a] (or object[a][b]) when it is a string; "" otherwise.
std::string stringAt(const json& object, const char* a, const char* b = nullptr) {
  if (!object.is_object() || !object.contains(a)) return "";
  const json* at = &object.at(a);
  if (b != nullptr) {
    if (!at->is_object() || !at->contains(b)) return "";
    at = &at->at(b);
  }
  return at->is_string() ? at->get<std::string>() : "";
}

}  // namespace

std::string ResourceKey::describe() const { return weft::strCat(kind, " ", ns, "/", name); }

std::string ResourceKey::path() const { return weft::strCat(kind, "/", ns, "/", name); }

ResourceKey resourceKeyOf(const json& object) {
  std::string ns = stringAt(object, "metadata", "namespace");
  return {stringAt(object, "kind"), ns.empty() ? "default" : std::move(ns),
          stringAt(object, "metadata", "name")};
}

}  // namespace weft::api
