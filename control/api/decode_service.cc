// kind: Service, and the {name, namespace} references other kinds make to Services.

#include <unordered_set>

#include "common/strings.h"
#include "control/api/address.h"
#include "control/api/decode_kinds.h"
#include "identity/spiffe.h"

namespace weft::api::decoder {
namespace {

absl::StatusOr<Endpoint> decodeEndpoint(const Decoder& d, const YAML::Node& n,
                                        const std::string& field) {
  if (auto st = d.requireMap(n, field, {"address", "identity", "labels"}); !st.ok()) return st;
  Endpoint ep;
  auto address = d.string(n, field, "address");
  if (!address.ok()) return address.status();
  auto hp = parseHostPort(*address);
  if (!hp.ok()) {
    return d.error(n["address"], field + ".address", weft::sv(hp.status().message()));
  }
  ep.address = *address;
  ep.host = hp->host;
  ep.port = hp->port;
  auto identity = d.string(n, field, "identity");
  if (!identity.ok()) return identity.status();
  if (auto id = identity::parseSpiffeId(*identity); !id.ok()) {
    return d.error(n["identity"], field + ".identity", weft::sv(id.status().message()));
  }
  ep.identity = *identity;
  auto labels = d.labels(n, field);
  if (!labels.ok()) return labels.status();
  ep.labels = std::move(*labels);
  return ep;
}

absl::StatusOr<Subset> decodeSubset(const Decoder& d, const YAML::Node& n,
                                    const std::string& field) {
  if (auto st = d.requireMap(n, field, {"name", "labels"}); !st.ok()) return st;
  Subset subset;
  auto name = d.string(n, field, "name");
  if (!name.ok()) return name.status();
  if (!isDnsLabel(*name)) {
    return d.error(n["name"], field + ".name", "must be a DNS label ([a-z0-9-], at most 63)");
  }
  subset.name = *name;
  auto labels = d.labels(n, field);
  if (!labels.ok()) return labels.status();
  if (labels->empty()) {
    return d.error(Decoder::has(n, "labels") ? n["labels"] : n, field + ".labels",
                   "must select endpoints by at least one label");
  }
  subset.labels = std::move(*labels);
  return subset;
}

}  // namespace

absl::StatusOr<Service> decodeService(const Decoder& d, const YAML::Node& doc) {
  Service svc;
  if (auto st = d.metadata(doc, &svc.name, &svc.ns); !st.ok()) return st;

  auto spec_or = d.child(doc, "", "spec");
  if (!spec_or.ok()) return spec_or.status();
  const YAML::Node spec = *spec_or;
  if (auto st = d.requireMap(spec, "spec", {"port", "addresses", "subsets", "endpoints"});
      !st.ok()) {
    return st;
  }
  auto port = d.string(spec, "spec", "port");
  if (!port.ok()) return port.status();
  uint32_t p = 0;
  if (!weft::parseUnsigned(*port, &p) || p == 0 || p > 65535) {
    return d.error(spec["port"], "spec.port", "must be a port number 1-65535");
  }
  svc.port = static_cast<uint16_t>(p);

  std::unordered_set<std::string> seen_addresses;
  auto st = d.stringList(spec, "spec", "addresses", &svc.addresses, [&](std::string& ip) {
    std::string canonical = canonicalIp(ip);
    if (canonical.empty()) return weft::strCat("'", ip, "' is not an IP address");
    if (!seen_addresses.insert(canonical).second) return weft::strCat("duplicate address ", ip);
    ip = std::move(canonical);
    return std::string();
  });
  if (!st.ok()) return st;

  std::unordered_set<std::string> subset_names;
  st = d.list(spec, "spec", "subsets", [&](const YAML::Node& n, const std::string& field) {
    auto subset = decodeSubset(d, n, field);
    if (!subset.ok()) return subset.status();
    if (!subset_names.insert(subset->name).second) {
      return d.error(n["name"], field + ".name",
                     weft::strCat("duplicate subset '", subset->name, "'"));
    }
    svc.subsets.push_back(std::move(*subset));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;

  st = d.list(spec, "spec", "endpoints", [&](const YAML::Node& n, const std::string& field) {
    auto ep = decodeEndpoint(d, n, field);
    if (!ep.ok()) return ep.status();
    svc.endpoints.push_back(std::move(*ep));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return svc;
}

absl::StatusOr<ServiceRef> decodeServiceRef(const Decoder& d, const YAML::Node& n,
                                            const std::string& field,
                                            const std::string& default_ns) {
  ServiceRef ref;
  ref.source = d.source();
  auto name = d.string(n, field, "name");
  if (!name.ok()) return name.status();
  if (!isDnsLabel(*name)) {
    return d.error(n["name"], field + ".name", "must be a DNS label ([a-z0-9-], at most 63)");
  }
  auto ns = d.string(n, field, "namespace", Need::kOptional);
  if (!ns.ok()) return ns.status();
  if (!ns->empty() && !isDnsLabel(*ns)) {
    return d.error(n["namespace"], field + ".namespace", "must be a DNS label");
  }
  ref.name = *name;
  ref.ns = ns->empty() ? default_ns : *ns;
  ref.field = field + ".name";
  ref.line = d.line(n["name"]);
  return ref;
}

}  // namespace weft::api::decoder
