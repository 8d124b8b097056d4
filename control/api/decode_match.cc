// HTTPRoute spec.rules[].matches[]: path, headers, query parameters and method, validated as
// Gateway API does.

#include <unordered_set>

#include <re2/re2.h>

#include "common/strings.h"
#include "control/api/decode_kinds.h"

namespace weft::api::decoder {
namespace {

constexpr std::string_view kMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                         "CONNECT", "OPTIONS", "TRACE", "PATCH"};

// RFC 9110 tchar.
bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Why an Exact or PathPrefix value is not a valid path, or "" (Gateway API's validation of
// HTTPPathMatch: an absolute path of URI path characters, no '//', dot segments or '%2F').
std::string pathProblem(std::string_view p) {
  if (p.empty() || p.front() != '/') return "must start with '/'";
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '%') {
      if (i + 2 >= p.size() || !isHexDigit(p[i + 1]) || !isHexDigit(p[i + 2])) {
        return "has a '%' that is not followed by two hex digits";
      }
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("-/._~!$&'()*+,;=:@").find(c) != std::string_view::npos;
    if (!ok) {
      return weft::strCat("must contain only URI path characters (found '",
                          std::string_view(&p[i], 1), "')");
    }
  }
  std::string lower = weft::toLower(p);
  if (lower.find("%2f") != std::string::npos) return "must not contain an encoded '/' (%2F)";
  if (p.find("//") != std::string_view::npos) return "must not contain '//'";
  if (p.find("/./") != std::string_view::npos || p.find("/../") != std::string_view::npos ||
      p.ends_with("/.") || p.ends_with("/..")) {
    return "must not contain '.' or '..' segments";
  }
  return "";
}

// Protobuf identifiers: a method is one, a service is dot-separated ones.
bool isProtoIdent(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool isProtoFullName(std::string_view s) {
  for (std::string_view part : weft::split(s, '.')) {
    if (!isProtoIdent(part)) return false;
  }
  return !s.empty();
}

absl::Status checkRegex(const Decoder& d, const YAML::Node& at, const std::string& field,
                        const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(pattern, options);
  if (!re.ok())
    return d.error(at, field, weft::strCat("invalid RE2 regular expression: ", re.error()));
  return absl::OkStatus();
}

absl::StatusOr<StringMatchType> stringMatchType(const Decoder& d, const YAML::Node& n,
                                                const std::string& field) {
  auto type = d.string(n, field, "type", Need::kOptional);
  if (!type.ok()) return type.status();
  if (type->empty() || *type == "Exact") return StringMatchType::kExact;
  if (*type == "RegularExpression") return StringMatchType::kRegularExpression;
  return d.error(n["type"], field + ".type", "must be Exact or RegularExpression");
}

absl::StatusOr<PathMatch> decodePath(const Decoder& d, const YAML::Node& n,
                                     const std::string& field) {
  if (auto st = d.requireMap(n, field, {"type", "value"}); !st.ok()) return st;
  PathMatch path;
  auto type = d.string(n, field, "type", Need::kOptional);
  if (!type.ok()) return type.status();
  if (*type == "Exact") {
    path.type = PathMatchType::kExact;
  } else if (type->empty() || *type == "PathPrefix") {
    path.type = PathMatchType::kPathPrefix;
  } else if (*type == "RegularExpression") {
    path.type = PathMatchType::kRegularExpression;
  } else {
    return d.error(n["type"], field + ".type", "must be Exact, PathPrefix or RegularExpression");
  }
  if (!Decoder::has(n, "value")) return path;  // "/"
  auto value = d.string(n, field, "value");
  if (!value.ok()) return value.status();
  if (path.type == PathMatchType::kRegularExpression) {
    if (value->empty()) return d.error(n["value"], field + ".value", "must not be empty");
    if (auto st = checkRegex(d, n["value"], field + ".value", *value); !st.ok()) return st;
  } else if (std::string problem = pathProblem(*value); !problem.empty()) {
    return d.error(n["value"], field + ".value", problem);
  }
  // A prefix's trailing '/' is ignored (Gateway API): "/api/" is the prefix "/api".
  if (path.type == PathMatchType::kPathPrefix && value->size() > 1 && value->back() == '/') {
    value->pop_back();
  }
  path.value = std::move(*value);
  return path;
}

// grpc: {service?, method?} -> the match's gRPC method and the path condition it stands for
// (gRPC requests are POST /<package.Service>/<Method>).
absl::Status decodeGrpc(const Decoder& d, const YAML::Node& n, const std::string& field,
                        RouteMatch& match) {
  if (auto st = d.requireMap(n, field, {"service", "method"}); !st.ok()) return st;
  GrpcMethodMatch grpc;
  auto service = d.string(n, field, "service", Need::kOptional);
  if (!service.ok()) return service.status();
  auto method = d.string(n, field, "method", Need::kOptional);
  if (!method.ok()) return method.status();
  if (service->empty() && method->empty()) {
    return d.error(n, field, "needs a service, a method, or both");
  }
  if (!service->empty() && !isProtoFullName(*service)) {
    return d.error(n["service"], field + ".service",
                   "must be a fully qualified protobuf service name (e.g. helloworld.Greeter)");
  }
  if (!method->empty() && !isProtoIdent(*method)) {
    return d.error(n["method"], field + ".method",
                   "must be a protobuf method name ([A-Za-z0-9_]+, e.g. SayHello)");
  }
  grpc.service = std::move(*service);
  grpc.method = std::move(*method);
  if (!grpc.service.empty() && !grpc.method.empty()) {
    match.path = {PathMatchType::kExact, weft::strCat("/", grpc.service, "/", grpc.method)};
  } else if (!grpc.service.empty()) {
    match.path = {PathMatchType::kPathPrefix, weft::strCat("/", grpc.service)};
  } else {
    match.path = {PathMatchType::kRegularExpression, weft::strCat("/[^/]+/", grpc.method)};
  }
  match.grpc = std::move(grpc);
  return absl::OkStatus();
}

// The {type?, name, value} fields shared by header and query parameter matches.
struct NameValue {
  StringMatchType type;
  std::string name;
  std::string value;
};

absl::StatusOr<NameValue> decodeNameValue(const Decoder& d, const YAML::Node& n,
                                          const std::string& field) {
  if (auto st = d.requireMap(n, field, {"type", "name", "value"}); !st.ok()) return st;
  NameValue out;
  auto type = stringMatchType(d, n, field);
  if (!type.ok()) return type.status();
  out.type = *type;
  auto name = d.string(n, field, "name");
  if (!name.ok()) return name.status();
  if (name->empty()) return d.error(n["name"], field + ".name", "must not be empty");
  out.name = std::move(*name);
  auto value = d.string(n, field, "value");
  if (!value.ok()) return value.status();
  if (value->empty()) return d.error(n["value"], field + ".value", "must not be empty");
  if (out.type == StringMatchType::kRegularExpression) {
    if (auto st = checkRegex(d, n["value"], field + ".value", *value); !st.ok()) return st;
  }
  out.value = std::move(*value);
  return out;
}

}  // namespace

absl::StatusOr<RouteMatch> decodeRouteMatch(const Decoder& d, const YAML::Node& n,
                                            const std::string& field) {
  if (auto st = d.requireMap(n, field, {"path", "grpc", "headers", "queryParams", "method"});
      !st.ok()) {
    return st;
  }
  RouteMatch match;
  if (Decoder::has(n, "grpc")) {
    if (Decoder::has(n, "path")) {
      return d.error(n["grpc"], field + ".grpc", "cannot be combined with path");
    }
    if (auto st = decodeGrpc(d, n["grpc"], field + ".grpc", match); !st.ok()) return st;
  }
  if (Decoder::has(n, "path")) {
    auto path = decodePath(d, n["path"], field + ".path");
    if (!path.ok()) return path.status();
    match.path = std::move(*path);
  }

  std::unordered_set<std::string> header_names, query_names;
  auto st = d.list(n, field, "headers", [&](const YAML::Node& h, const std::string& f) {
    auto nv = decodeNameValue(d, h, f);
    if (!nv.ok()) return nv.status();
    if (!isToken(nv->name)) {
      return d.error(h["name"], f + ".name", "must be an HTTP header name (RFC 9110 token)");
    }
    std::string name = weft::toLower(nv->name);
    if (nv->type == StringMatchType::kExact &&
        nv->value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return d.error(h["value"], f + ".value", "must not contain CR, LF or NUL");
    }
    if (!header_names.insert(name).second) {
      return d.error(h["name"], f + ".name", weft::strCat("duplicate header '", name, "'"));
    }
    match.headers.push_back({nv->type, std::move(name), std::move(nv->value)});
    return absl::OkStatus();
  });
  if (!st.ok()) return st;

  st = d.list(n, field, "queryParams", [&](const YAML::Node& q, const std::string& f) {
    auto nv = decodeNameValue(d, q, f);
    if (!nv.ok()) return nv.status();
    if (!query_names.insert(nv->name).second) {
      return d.error(q["name"], f + ".name",
                     weft::strCat("duplicate query parameter '", nv->name, "'"));
    }
    match.query_params.push_back({nv->type, std::move(nv->name), std::move(nv->value)});
    return absl::OkStatus();
  });
  if (!st.ok()) return st;

  auto method = d.string(n, field, "method", Need::kOptional);
  if (!method.ok()) return method.status();
  if (!method->empty()) {
    bool known = false;
    for (std::string_view m : kMethods) known = known || *method == m;
    if (!known) {
      return d.error(n["method"], field + ".method",
                     "must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH");
    }
    match.method = std::move(*method);
  }
  return match;
}

}  // namespace weft::api::decoder
