#include "control/api/yaml_decoder.h"

#include <fstream>
#include <initializer_list>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/strings.h"
#include "control/api/address.h"
#include "identity/spiffe.h"

namespace weft::api {
namespace {

constexpr size_t kMaxConfigBytes = 16 << 20;

bool isDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// Walks one YAML document, producing errors that carry the source, line and field path.
class Decoder {
 public:
  explicit Decoder(std::string_view source, int first_line)
      : source_(source), first_line_(first_line) {}

  absl::Status error(const YAML::Node& at, std::string_view field, std::string_view reason) const {
    return absl::InvalidArgumentError(
        weft::strCat(source_, ":", first_line_ + at.Mark().line + 1, ": ", field, ": ", reason));
  }

  // parent[key], which must be present.
  absl::StatusOr<YAML::Node> child(const YAML::Node& parent, std::string_view key,
                                   std::string_view field) const {
    YAML::Node n = parent[std::string(key)];
    if (!n.IsDefined() || n.IsNull()) return error(parent, field, "required field is missing");
    return n;
  }

  absl::Status requireMap(const YAML::Node& n, std::string_view field,
                          std::initializer_list<std::string_view> allowed) const {
    if (!n.IsMap()) return error(n, field, "must be a mapping");
    for (const auto& kv : n) {
      const std::string& key = kv.first.Scalar();
      bool ok = false;
      for (auto a : allowed) ok = ok || key == a;
      if (!ok) return error(kv.first, weft::strCat(field, ".", key), "unknown field");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> string(const YAML::Node& parent, std::string_view key,
                                     std::string_view field, bool required = true) const {
    YAML::Node n = parent[std::string(key)];
    if (!n.IsDefined() || n.IsNull()) {
      if (required) return error(parent, field, "required field is missing");
      return std::string();
    }
    if (!n.IsScalar()) return error(n, field, "must be a string");
    if (!weft::isValidUtf8(n.Scalar())) return error(n, field, "is not valid UTF-8");
    return n.Scalar();
  }

  absl::StatusOr<Labels> labels(const YAML::Node& parent, std::string_view field) const {
    Labels out;
    YAML::Node n = parent["labels"];
    if (!n.IsDefined() || n.IsNull()) return out;
    if (!n.IsMap()) return error(n, field, "must be a mapping of strings");
    for (const auto& kv : n) {
      if (!kv.second.IsScalar()) {
        return error(kv.second, weft::strCat(field, ".", kv.first.Scalar()), "must be a string");
      }
      if (!weft::isValidUtf8(kv.first.Scalar()) || !weft::isValidUtf8(kv.second.Scalar())) {
        return error(kv.second, field, "is not valid UTF-8");
      }
      out[kv.first.Scalar()] = kv.second.Scalar();
    }
    return out;
  }

  absl::StatusOr<Endpoint> endpoint(const YAML::Node& n, const std::string& field) const {
    if (auto st = requireMap(n, field, {"address", "identity", "labels"}); !st.ok()) return st;
    Endpoint ep;
    auto address = string(n, "address", field + ".address");
    if (!address.ok()) return address.status();
    auto hp = parseHostPort(*address);
    if (!hp.ok()) return error(n["address"], field + ".address", weft::sv(hp.status().message()));
    ep.address = *address;
    ep.host = hp->host;
    ep.port = hp->port;
    auto identity = string(n, "identity", field + ".identity");
    if (!identity.ok()) return identity.status();
    if (auto id = identity::parseSpiffeId(*identity); !id.ok()) {
      return error(n["identity"], field + ".identity", weft::sv(id.status().message()));
    }
    ep.identity = *identity;
    auto labels_or = labels(n, field + ".labels");
    if (!labels_or.ok()) return labels_or.status();
    ep.labels = std::move(*labels_or);
    return ep;
  }

  absl::StatusOr<Service> service(const YAML::Node& doc) const {
    Service svc;
    auto meta_or = child(doc, "metadata", "metadata");
    if (!meta_or.ok()) return meta_or.status();
    const YAML::Node meta = *meta_or;
    if (auto st = requireMap(meta, "metadata", {"name", "namespace", "labels"}); !st.ok())
      return st;
    auto name = string(meta, "name", "metadata.name");
    if (!name.ok()) return name.status();
    if (!isDnsLabel(*name)) {
      return error(meta["name"], "metadata.name", "must be a DNS label ([a-z0-9-], at most 63)");
    }
    auto ns = string(meta, "namespace", "metadata.namespace", false);
    if (!ns.ok()) return ns.status();
    svc.name = *name;
    svc.ns = ns->empty() ? "default" : *ns;
    if (!isDnsLabel(svc.ns)) {
      return error(meta["namespace"], "metadata.namespace", "must be a DNS label");
    }

    auto spec_or = child(doc, "spec", "spec");
    if (!spec_or.ok()) return spec_or.status();
    const YAML::Node spec = *spec_or;
    if (auto st = requireMap(spec, "spec", {"port", "endpoints"}); !st.ok()) return st;
    auto port = string(spec, "port", "spec.port");
    if (!port.ok()) return port.status();
    uint32_t p = 0;
    if (!weft::parseUnsigned(*port, &p) || p == 0 || p > 65535) {
      return error(spec["port"], "spec.port", "must be a port number 1-65535");
    }
    svc.port = static_cast<uint16_t>(p);
    const YAML::Node eps = spec["endpoints"];
    if (eps.IsDefined() && !eps.IsNull()) {
      if (!eps.IsSequence()) return error(eps, "spec.endpoints", "must be a list");
      for (size_t i = 0; i < eps.size(); ++i) {
        auto ep = endpoint(eps[i], weft::strCat("spec.endpoints[", i, "]"));
        if (!ep.ok()) return ep.status();
        svc.endpoints.push_back(std::move(*ep));
      }
    }
    return svc;
  }

  absl::Status document(const YAML::Node& doc, std::vector<Service>& services) const {
    if (auto st = requireMap(doc, "(document)", {"apiVersion", "kind", "metadata", "spec"});
        !st.ok()) {
      return st;
    }
    auto version = string(doc, "apiVersion", "apiVersion");
    if (!version.ok()) return version.status();
    if (*version != kApiVersion) {
      return error(doc["apiVersion"], "apiVersion",
                   weft::strCat("unsupported '", *version, "' (want ", kApiVersion, ")"));
    }
    auto kind = string(doc, "kind", "kind");
    if (!kind.ok()) return kind.status();
    if (*kind != "Service") {
      return error(doc["kind"], "kind",
                   weft::strCat("unknown kind '", *kind, "' (known: Service)"));
    }
    auto svc = service(doc);
    if (!svc.ok()) return svc.status();
    for (const auto& other : services) {
      if (other.name == svc->name && other.ns == svc->ns) {
        return error(doc["metadata"], "metadata.name",
                     weft::strCat("duplicate Service ", svc->ns, "/", svc->name));
      }
    }
    services.push_back(std::move(*svc));
    return absl::OkStatus();
  }

 private:
  std::string source_;
  int first_line_;  // of this document within the source, 0-based
};

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

absl::StatusOr<MeshConfigConstSharedPtr> decodeMeshConfig(std::string_view yaml,
                                                          std::string_view source,
                                                          uint64_t version) {
  if (yaml.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(weft::strCat(source, ": larger than 16 MiB"));
  }
  Resources resources;
  std::vector<Service>& services = resources.services;
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
      Decoder decoder(source, d.first_line);
      if (auto st = decoder.document(doc, services); !st.ok()) return st;
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          weft::strCat(source, ":", d.first_line + e.mark.line + 1, ": invalid YAML: ", e.msg));
    }
  }
  return std::make_shared<const MeshConfig>(std::move(resources), std::string(source), version);
}

absl::StatusOr<MeshConfigConstSharedPtr> loadMeshConfigFile(const std::string& path,
                                                            uint64_t version) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(weft::strCat(path, ": cannot open file"));
  std::ostringstream text;
  text << in.rdbuf();
  return decodeMeshConfig(text.str(), path, version);
}

}  // namespace weft::api
