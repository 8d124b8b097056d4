#include "control/api/authorize.h"

#include <algorithm>

#include "common/strings.h"

namespace weft::api {
namespace {

// Exact, or a prefix when `pattern` ends in '*'.
bool matches(std::string_view pattern, std::string_view value) {
  if (pattern.ends_with('*')) return value.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == value;
}

bool anyMatches(const std::vector<std::string>& patterns, std::string_view value) {
  return patterns.empty() || std::any_of(patterns.begin(), patterns.end(),
                                         [&](const std::string& p) { return matches(p, value); });
}

// `request` null: an opaque connection.
struct Request {
  std::string_view method;
  std::string_view path;
};

bool ruleMatches(const AuthorizationRule& rule, std::string_view caller, const Request* request) {
  const bool from = rule.from.empty() ||
                    std::any_of(rule.from.begin(), rule.from.end(),
                                [&](const auto& s) { return anyMatches(s.identities, caller); });
  if (!from) return false;
  if (rule.to.empty()) return true;
  if (request == nullptr) return false;
  return std::any_of(rule.to.begin(), rule.to.end(), [&](const AuthorizationOperation& op) {
    const bool method_ok = op.methods.empty() || std::find(op.methods.begin(), op.methods.end(),
                                                           request->method) != op.methods.end();
    return method_ok && anyMatches(op.paths, request->path);
  });
}

AuthorizationDecision decide(const MeshConfig& mesh, std::string_view service, std::string_view ns,
                             std::string_view caller, const Request* request) {
  const std::vector<const AuthorizationPolicy*>& policies = mesh.authorizationFor(service, ns);
  if (policies.empty()) return {true, "no AuthorizationPolicy"};
  for (const AuthorizationPolicy* p : policies) {
    for (size_t i = 0; i < p->rules.size(); ++i) {
      if (ruleMatches(p->rules[i], caller, request)) {
        return {true, weft::strCat("AuthorizationPolicy ", p->ns, "/", p->name, " rules[", i, "]")};
      }
    }
  }
  const std::string what = request != nullptr ? weft::strCat(request->method, " ", request->path)
                                              : "opaque TCP: only rules without `to` admit it";
  return {false,
          weft::strCat("unauthorized: ", caller.empty() ? "an unauthenticated caller" : caller,
                       " may not call ", service, " (", what, ")")};
}

}  // namespace

AuthorizationDecision authorize(const MeshConfig& mesh, std::string_view service,
                                std::string_view ns, std::string_view caller,
                                std::string_view method, std::string_view path) {
  const Request request{method, path};
  return decide(mesh, service, ns, caller, &request);
}

AuthorizationDecision authorizeConnection(const MeshConfig& mesh, std::string_view service,
                                          std::string_view ns, std::string_view caller) {
  return decide(mesh, service, ns, caller, nullptr);
}

}  // namespace weft::api
