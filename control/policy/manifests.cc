#include "control/policy/manifests.h"

#include <charconv>

#include "common/strings.h"
#include "control/api/json_yaml.h"
#include "control/ca/refusal.h"

namespace weft::control::policy {
namespace {

using nlohmann::json;

absl::Status invalid(std::string_view message) {
  return refuse(absl::StatusCode::kInvalidArgument, "invalid_resource", message);
}

// Takes metadata.resourceVersion out of `object` (the decoders do not know it).
absl::StatusOr<std::optional<store::Revision>> takeResourceVersion(json& object,
                                                                   std::string_view where) {
  if (!object.is_object() || !object["metadata"].is_object()) return std::nullopt;
  json& meta = object["metadata"];
  auto it = meta.find("resourceVersion");
  if (it == meta.end()) return std::nullopt;
  store::Revision rv = -1;
  if (it->is_number_integer()) {
    rv = it->get<store::Revision>();
  } else if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), rv);
    if (ec != std::errc() || end != s.data() + s.size()) rv = -1;
  }
  if (rv < 0) {
    return invalid(weft::strCat(where,
                                ": metadata.resourceVersion: must be a number, as `get` "
                                "shows it (leave it out to apply whatever is there)"));
  }
  meta.erase(it);
  return rv;
}

absl::Status addManifest(json object, api::SourceDocument document, std::string_view where,
                         std::vector<Manifest>& out) {
  auto rv = takeResourceVersion(object, where);
  if (!rv.ok()) return rv.status();
  if (*rv && document.node.IsMap() && document.node["metadata"].IsMap()) {
    document.node["metadata"].remove("resourceVersion");
  }
  Manifest m{api::resourceKeyOf(object), *rv, std::move(object), std::move(document)};
  if (m.object.is_object() && m.object["metadata"].is_object() &&
      !m.object["metadata"].contains("namespace")) {
    m.object["metadata"]["namespace"] = m.key.ns;
  }
  out.push_back(std::move(m));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Manifest>> parseJson(std::string_view body, std::string_view source) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return invalid(weft::strCat(source, ": invalid JSON"));
  json items;
  std::string prefix;
  if (doc.is_array()) {
    items = std::move(doc);
  } else if (doc.is_object() && doc.value("kind", "") == "List") {
    if (!doc["items"].is_array()) return invalid(weft::strCat(source, ": items: must be a list"));
    items = std::move(doc["items"]);
    prefix = "items";
  } else {
    items = json::array({std::move(doc)});
  }
  std::vector<Manifest> out;
  const bool one = items.size() == 1 && prefix.empty();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string where =
        one ? std::string(source) : weft::strCat(source, ": ", prefix, "[", i, "]");
    api::SourceDocument document{api::yamlFromJson(items[i]), where, 0};
    if (auto st = addManifest(std::move(items[i]), std::move(document), where, out); !st.ok()) {
      return st;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Manifest>> parseManifests(std::string_view body,
                                                     std::string_view source) {
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return invalid(weft::strCat(source, ": no resources (the input is empty)"));
  }
  std::vector<Manifest> out;
  if (body[first] == '{' || body[first] == '[') {
    auto parsed = parseJson(body, source);
    if (!parsed.ok()) return parsed.status();
    out = std::move(*parsed);
  } else {
    auto docs = api::parseYamlDocuments(body, source);
    if (!docs.ok()) return invalid(weft::sv(docs.status().message()));
    for (api::SourceDocument& d : *docs) {
      json object;
      try {
        object = api::jsonFromYaml(d.node);
      } catch (const YAML::Exception& e) {
        return invalid(weft::strCat(source, ": invalid YAML: ", e.msg));
      }
      const std::string where = weft::strCat(source, ":", d.first_line + 1);
      if (auto st = addManifest(std::move(object), std::move(d), where, out); !st.ok()) return st;
    }
  }
  if (out.empty()) return invalid(weft::strCat(source, ": no resources (only comments or `---`)"));
  return out;
}

}  // namespace weft::control::policy
