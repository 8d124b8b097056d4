#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "control/api/resources.h"
#include "net/http/message.h"

namespace re2 {
class RE2;
}

namespace weft::router {

// The parts of a request that matching reads, split once per request.
struct RequestView {
  explicit RequestView(const http::RequestHead& req);

  const http::RequestHead& head;
  std::string_view path;   // the origin-form target up to '?'
  std::string_view query;  // after the first '?' ("" if none)
};

// The raw value of the first query parameter called `name` (case-sensitive), or nullopt. Names
// and values are compared as sent: no percent-decoding and no '+' → ' ' (a client that encodes
// differently from the rule does not match). "a" and "a=" both have the value "".
std::optional<std::string_view> findQueryParam(std::string_view query, std::string_view name);

// Gateway API PathPrefix matching is by path element: "/api" and "/api/" match "/api",
// "/api/x" and "/api/" but not "/apix". normalizePrefix drops trailing '/' ("/" becomes "", which
// matches every path); prefixMatches takes the normalized form.
std::string normalizePrefix(std::string_view prefix);
bool prefixMatches(std::string_view normalized_prefix, std::string_view path);

// RE2 regexes of one table, compiled once each (the same pattern in several rules, or a route
// attached to several Services, shares one).
class RegexCache {
 public:
  RegexCache();
  ~RegexCache();
  // InvalidArgument with RE2's reason when `pattern` does not compile.
  absl::StatusOr<std::shared_ptr<const re2::RE2>> get(const std::string& pattern);

 private:
  std::unordered_map<std::string, std::shared_ptr<const re2::RE2>> compiled_;
};

// An Exact or RegularExpression match on a string (header or query value, or the path).
// Regexes must match the whole string (RE2::FullMatch), as Envoy's safe_regex does.
struct StringMatcher {
  std::string name;   // header (lowercase) or query param name; unused for the path
  std::string value;  // exact value, or the regex source
  std::shared_ptr<const re2::RE2> regex;  // null: exact

  bool matches(std::string_view s) const;
};

// Where a match sits in precedence (lower sorts first). kConditionsOnly is a match on the "/"
// prefix (or no path) with at least one method, header or query condition: it targets a kind
// of request wherever it goes (testers pinned by a header), so it ranks above path prefixes.
enum class PathClass : uint8_t {
  kExact = 0,
  kRegularExpression = 1,
  kConditionsOnly = 2,
  kPathPrefix = 3
};

// One api::RouteMatch of one rule, compiled: a candidate of the route table's lookup.
struct CompiledMatch {
  // Builds it; only a regex that fails to compile is an error. Later conditions on a header or
  // query parameter name already used are dropped, as Gateway API requires.
  static absl::StatusOr<CompiledMatch> compile(const api::RouteMatch& match, RegexCache& regexes);

  // Gateway API precedence: exact path; then regex path, longer pattern first; then (our one
  // departure) conditions on any path; then path prefix, more characters first; then a method
  // match; then more header matches; then more query param matches; then configuration order
  // (route, rule, match).
  bool precedes(const CompiledMatch& other) const;

  bool pathMatches(std::string_view path) const;
  // Method, header and query param conditions (everything but the path).
  bool conditionsMatch(const RequestView& req) const;

  PathClass path_class = PathClass::kPathPrefix;
  StringMatcher path;  // exact path, normalized prefix, or the regex
  std::string method;  // empty: any
  std::vector<StringMatcher> headers;
  std::vector<StringMatcher> query_params;

  // Configuration order, for ties, and the RouteEntry the match selects.
  uint32_t route_index = 0;
  uint32_t rule_index = 0;
  uint32_t match_index = 0;
  uint32_t entry = 0;
};

}  // namespace weft::router
