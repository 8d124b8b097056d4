// kind: AuthorizationPolicy (resources.h): who may call a Service's workloads.

#include "common/strings.h"
#include "control/api/decode_kinds.h"
#include "identity/spiffe.h"

namespace weft::api::decoder {
namespace {

std::string checkIdentity(std::string& id) {
  if (id == "*") return "";
  if (id.ends_with("*")) {
    return id.starts_with("spiffe://") ? ""
                                       : "a prefix must start with spiffe:// (e.g. "
                                         "spiffe://cluster.local/ns/default/*)";
  }
  auto parsed = identity::parseSpiffeId(id);
  return parsed.ok() ? "" : weft::strCat("not a SPIFFE ID: ", parsed.status().message());
}

std::string checkMethod(std::string& m) {
  if (m.empty()) return "must not be empty";
  for (char c : m) {
    if (c < 'A' || c > 'Z') return "an HTTP method in upper case, such as GET";
  }
  return "";
}

std::string checkPath(std::string& p) {
  if (!p.starts_with("/") && p != "*") return "must start with '/' (or end in '*' for a prefix)";
  if (p.find('*') != std::string::npos && p.find('*') != p.size() - 1) {
    return "'*' only at the end (a prefix)";
  }
  return "";
}

absl::StatusOr<AuthorizationRule> decodeRule(const Decoder& d, const YAML::Node& n,
                                             const std::string& field) {
  if (auto st = d.requireMap(n, field, {"from", "to"}); !st.ok()) return st;
  AuthorizationRule rule;
  auto st = d.list(n, field, "from", [&](const YAML::Node& f, const std::string& ff) {
    if (auto s = d.requireMap(f, ff, {"identities"}); !s.ok()) return s;
    AuthorizationSource source;
    if (auto s = d.stringList(f, ff, "identities", &source.identities, checkIdentity); !s.ok()) {
      return s;
    }
    rule.from.push_back(std::move(source));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  st = d.list(n, field, "to", [&](const YAML::Node& t, const std::string& tf) {
    if (auto s = d.requireMap(t, tf, {"methods", "paths"}); !s.ok()) return s;
    AuthorizationOperation op;
    if (auto s = d.stringList(t, tf, "methods", &op.methods, checkMethod); !s.ok()) return s;
    if (auto s = d.stringList(t, tf, "paths", &op.paths, checkPath); !s.ok()) return s;
    rule.to.push_back(std::move(op));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return rule;
}

}  // namespace

absl::StatusOr<AuthorizationPolicy> decodeAuthorizationPolicy(const Decoder& d,
                                                              const YAML::Node& doc,
                                                              std::vector<ServiceRef>* refs) {
  AuthorizationPolicy policy;
  if (auto st = d.metadata(doc, &policy.name, &policy.ns); !st.ok()) return st;
  auto spec = d.child(doc, "", "spec");
  if (!spec.ok()) return spec.status();
  if (auto st = d.requireMap(*spec, "spec", {"targetRef", "rules"}); !st.ok()) return st;
  auto target = d.child(*spec, "spec", "targetRef");
  if (!target.ok()) return target.status();
  if (auto st = d.requireMap(*target, "spec.targetRef", {"kind", "name", "namespace"}); !st.ok()) {
    return st;
  }
  auto kind = d.string(*target, "spec.targetRef", "kind", Need::kOptional);
  if (!kind.ok()) return kind.status();
  if (!kind->empty() && *kind != "Service") {
    return d.error((*target)["kind"], "spec.targetRef.kind",
                   weft::strCat("'", *kind, "': only Service"));
  }
  auto ref = decodeServiceRef(d, *target, "spec.targetRef", policy.ns);
  if (!ref.ok()) return ref.status();
  policy.target_ref = {ref->name, ref->ns};
  if (!Decoder::has(*spec, "rules")) {
    return d.error(*spec, "spec.rules",
                   "required (a list; an empty one, [], admits no caller at all)");
  }
  auto st = d.list(*spec, "spec", "rules", [&](const YAML::Node& n, const std::string& f) {
    auto rule = decodeRule(d, n, f);
    if (!rule.ok()) return rule.status();
    policy.rules.push_back(std::move(*rule));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  refs->push_back(std::move(*ref));
  return policy;
}

}  // namespace weft::api::decoder
