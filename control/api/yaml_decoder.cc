#include "control/api/yaml_decoder.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <yaml-cpp/yaml.h>

#include "common/strings.h"
#include "control/api/decode_kinds.h"

namespace weft::api {
namespace {

constexpr size_t kMaxConfigBytes = 16 << 20;

// Every resource decoded so far, and the references to check once all are in.
struct Decoded {
  Resources resources;
  std::vector<decoder::ServiceRef> refs;
  std::unordered_set<std::string> names;                    // "<kind>/<ns>/<name>"
  std::unordered_map<std::string, std::string> policy_for;  // "<ns>/<name>" -> its policy
};

absl::Status errorAt(std::string_view source, int line, std::string_view field,
                     std::string_view reason) {
  return absl::InvalidArgumentError(
      weft::strCat(decoder::location(source, line), ": ", field, ": ", reason));
}

// Names are unique per kind and namespace.
template <typename T>
absl::Status checkUniqueName(const decoder::Decoder& d, const YAML::Node& doc,
                             std::string_view kind, const T& added, Decoded& out) {
  if (!out.names.insert(weft::strCat(kind, "/", added.ns, "/", added.name)).second) {
    return d.error(doc["metadata"], "metadata.name",
                   weft::strCat("duplicate ", kind, " ", added.ns, "/", added.name));
  }
  return absl::OkStatus();
}

absl::Status decodeDocument(const decoder::Decoder& d, const YAML::Node& doc, Decoded& out) {
  if (auto st = d.requireMap(doc, "(document)", {"apiVersion", "kind", "metadata", "spec"});
      !st.ok()) {
    return st;
  }
  auto version = d.string(doc, "", "apiVersion");
  if (!version.ok()) return version.status();
  if (*version != kApiVersion) {
    return d.error(doc["apiVersion"], "apiVersion",
                   weft::strCat("unsupported '", *version, "' (want ", kApiVersion, ")"));
  }
  auto kind = d.string(doc, "", "kind");
  if (!kind.ok()) return kind.status();
  Resources& r = out.resources;
  if (*kind == "Service") {
    auto svc = decoder::decodeService(d, doc);
    if (!svc.ok()) return svc.status();
    if (auto st = checkUniqueName(d, doc, "Service", *svc, out); !st.ok()) return st;
    r.services.push_back(std::move(*svc));
  } else if (*kind == "HTTPRoute") {
    auto route = decoder::decodeHTTPRoute(d, doc, &out.refs);
    if (!route.ok()) return route.status();
    if (auto st = checkUniqueName(d, doc, "HTTPRoute", *route, out); !st.ok()) return st;
    r.routes.push_back(std::move(*route));
  } else if (*kind == "DestinationPolicy") {
    auto policy = decoder::decodeDestinationPolicy(d, doc, &out.refs);
    if (!policy.ok()) return policy.status();
    auto st = checkUniqueName(d, doc, "DestinationPolicy", *policy, out);
    if (!st.ok()) return st;
    const TargetRef& target = policy->target_ref;
    auto [it, added] = out.policy_for.emplace(weft::strCat(target.ns, "/", target.name),
                                              weft::strCat(policy->ns, "/", policy->name));
    if (!added) {
      const decoder::ServiceRef& ref = out.refs.back();  // this policy's targetRef
      return errorAt(
          ref.source, ref.line, "spec.targetRef",
          weft::strCat("Service ", it->first, " already has DestinationPolicy ", it->second));
    }
    r.policies.push_back(std::move(*policy));
  } else if (*kind == "AuthorizationPolicy") {
    auto policy = decoder::decodeAuthorizationPolicy(d, doc, &out.refs);
    if (!policy.ok()) return policy.status();
    auto st = checkUniqueName(d, doc, "AuthorizationPolicy", *policy, out);
    if (!st.ok()) return st;
    r.authorization.push_back(std::move(*policy));
  } else {
    return d.error(
        doc["kind"], "kind",
        weft::strCat("unknown kind '", *kind,
                     "' (known: Service, HTTPRoute, DestinationPolicy, AuthorizationPolicy)"));
  }
  return absl::OkStatus();
}

// Every parentRef, backendRef and targetRef names a Service of this config, and every
// backendRef subset one of that Service's subsets.
absl::Status checkReferences(const Decoded& decoded) {
  std::unordered_map<std::string, const Service*> by_key;
  for (const Service& s : decoded.resources.services) by_key[weft::strCat(s.ns, "/", s.name)] = &s;
  for (const decoder::ServiceRef& ref : decoded.refs) {
    std::string key = weft::strCat(ref.ns, "/", ref.name);
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      return errorAt(ref.source, ref.line, ref.field, weft::strCat("unknown Service ", key));
    }
    if (!ref.subset.empty() && it->second->findSubset(ref.subset) == nullptr) {
      std::vector<std::string> known;
      for (const Subset& s : it->second->subsets) known.push_back(s.name);
      return errorAt(ref.source, ref.subset_line, ref.subset_field,
                     weft::strCat("Service ", key, " has no subset '", ref.subset, "' (subsets: ",
                                  known.empty() ? "none" : weft::join(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

struct Document {
  int first_line;  // 0-based
  std::string text;
};

// Splits a stream at `---` markers (which YAML only recognises at the start of a line). Each
// document is then parsed alone with YAML::Load: yaml-cpp 0.7's LoadAll can loop forever on
// malformed input such as a lone ',' (jbeder/yaml-cpp#1040, fixed after 0.8.0).
std::vector<Document> splitDocuments(std::string_view yaml) {
  std::vector<Document> docs{{0, {}}};
  int line = 0;
  for (std::string_view text : weft::split(yaml, '\n')) {
    bool marker = text.starts_with("---") &&
                  (text.size() == 3 || text[3] == ' ' || text[3] == '\t' || text[3] == '\r');
    if (marker) {
      docs.push_back({line, {}});
      // Content may follow the marker on the same line ("--- {a: b}"): keep it, blank the marker.
      docs.back().text.append("   ").append(text.substr(3)).push_back('\n');
    } else {
      docs.back().text.append(text).push_back('\n');
    }
    ++line;
  }
  return docs;
}

// The first line (0-based, within the document) holding anything but blanks, comments and
// directives; -1 if none.
int firstContentLine(std::string_view text) {
  int n = 0;
  for (std::string_view line : weft::split(text, '\n')) {
    std::string_view t = weft::trim(line);
    if (!t.empty() && t != "\r" && t.front() != '#' && t.front() != '%' && t != "...") return n;
    ++n;
  }
  return -1;
}

}  // namespace

absl::StatusOr<std::vector<SourceDocument>> parseYamlDocuments(std::string_view yaml,
                                                               std::string_view source) {
  if (yaml.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(weft::strCat(source, ": larger than 16 MiB"));
  }
  std::vector<SourceDocument> out;
  for (const Document& d : splitDocuments(yaml)) {
    try {
      YAML::Node doc = YAML::Load(d.text);
      if (!doc.IsDefined() || doc.IsNull()) {
        if (int at = firstContentLine(d.text); at >= 0) {
          return absl::InvalidArgumentError(weft::strCat(
              source, ":", d.first_line + at + 1, ": invalid YAML: document is not a resource"));
        }
        continue;
      }
      out.push_back({std::move(doc), std::string(source), d.first_line});
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          weft::strCat(source, ":", d.first_line + e.mark.line + 1, ": invalid YAML: ", e.msg));
    }
  }
  return out;
}

absl::StatusOr<MeshConfigConstSharedPtr> decodeDocuments(const std::vector<SourceDocument>& docs,
                                                         std::string_view source,
                                                         uint64_t version) {
  Decoded decoded;
  for (const SourceDocument& d : docs) {
    try {
      decoder::Decoder decoder(d.source, d.first_line);
      if (auto st = decodeDocument(decoder, d.node, decoded); !st.ok()) return st;
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(weft::strCat(d.source, ": invalid document: ", e.msg));
    }
  }
  if (auto st = checkReferences(decoded); !st.ok()) return st;
  return std::make_shared<const MeshConfig>(std::move(decoded.resources), std::string(source),
                                            version);
}

absl::StatusOr<MeshConfigConstSharedPtr> decodeMeshConfig(std::string_view yaml,
                                                          std::string_view source,
                                                          uint64_t version) {
  auto docs = parseYamlDocuments(yaml, source);
  if (!docs.ok()) return docs.status();
  return decodeDocuments(*docs, source, version);
}

absl::StatusOr<MeshConfigConstSharedPtr> loadMeshConfigFile(const std::string& path,
                                                            uint64_t version) {
  // A directory opens as a stream that reads nothing: without this it would be an empty config.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(
        weft::strCat(path, ": is a directory, not a config file (want one YAML file)"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(weft::strCat(path, ": cannot open file"));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::UnavailableError(weft::strCat(path, ": cannot read file"));
  auto config = decodeMeshConfig(text.str(), path, version);
  if (!config.ok()) return config;
  // A file that lost its content (truncated, half-written, a bad template) would otherwise turn
  // every request into a 404.
  const MeshConfig& mesh = **config;
  if (mesh.services().empty() && mesh.routes().empty() && mesh.policies().empty()) {
    return absl::InvalidArgumentError(
        weft::strCat(path,
                     ": no resources (the file is empty, holds only comments or only `---`):"
                     " refusing to serve zero Services"));
  }
  return config;
}

}  // namespace weft::api
