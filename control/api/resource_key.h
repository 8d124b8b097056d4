#pragma once

// Which resource an object is: its kind, namespace and name, as the store, the operator API and
// the control stream name it.

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace weft::api {

struct ResourceKey {
  std::string kind;
  std::string ns;
  std::string name;

  bool operator==(const ResourceKey&) const = default;
  // "HTTPRoute default/reviews", for people.
  std::string describe() const;
  // "HTTPRoute/default/reviews", the control stream's key.
  std::string path() const;
};

// kind, metadata.namespace ("default" when absent) and metadata.name of a resource object; a
// part that is missing or not a string is "" (the decoder reports it).
ResourceKey resourceKeyOf(const nlohmann::json& object);

}  // namespace weft::api
