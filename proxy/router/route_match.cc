#include "proxy/router/route_match.h"

#include <tuple>

#include <re2/re2.h>

#include "absl/status/status.h"
#include "common/strings.h"

namespace weft::router {
namespace {

bool fullMatch(std::string_view s, const re2::RE2& re) {
  return re2::RE2::FullMatch(re2::StringPiece(s.data(), s.size()), re);
}

absl::StatusOr<StringMatcher> compileString(api::StringMatchType type, std::string name,
                                            std::string value, RegexCache& regexes) {
  StringMatcher m{std::move(name), std::move(value), nullptr};
  if (type == api::StringMatchType::kRegularExpression) {
    auto re = regexes.get(m.value);
    if (!re.ok()) return re.status();
    m.regex = *std::move(re);
  }
  return m;
}

bool seen(const std::vector<StringMatcher>& matchers, std::string_view name) {
  for (const StringMatcher& m : matchers) {
    if (m.name == name) return true;
  }
  return false;
}

// The sort key: lower is more specific. Path length counts for regex and prefix only (two exact
// paths never match the same request).
auto rank(const CompiledMatch& m) {
  size_t path_len = m.path_class == PathClass::kExact ? 0 : m.path.value.size();
  return std::make_tuple(m.path_class, ~path_len, m.method.empty(), ~m.headers.size(),
                         ~m.query_params.size(), m.route_index, m.rule_index, m.match_index);
}

}  // namespace

RequestView::RequestView(const http::RequestHead& req) : head(req), path(req.path) {
  if (size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
}

std::optional<std::string_view> findQueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
  }
  return std::nullopt;
}

std::string normalizePrefix(std::string_view prefix) {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  return std::string(prefix);
}

bool prefixMatches(std::string_view normalized_prefix, std::string_view path) {
  if (normalized_prefix.empty()) return true;  // "/": every path, also "*"
  if (!path.starts_with(normalized_prefix)) return false;
  return path.size() == normalized_prefix.size() || path[normalized_prefix.size()] == '/';
}

RegexCache::RegexCache() = default;
RegexCache::~RegexCache() = default;

absl::StatusOr<std::shared_ptr<const re2::RE2>> RegexCache::get(const std::string& pattern) {
  if (auto it = compiled_.find(pattern); it != compiled_.end()) return it->second;
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(pattern, options);
  if (!re->ok()) {
    return absl::InvalidArgumentError(
        weft::strCat("invalid regular expression \"", pattern, "\": ", re->error()));
  }
  compiled_.emplace(pattern, re);
  return re;
}

bool StringMatcher::matches(std::string_view s) const {
  return regex ? fullMatch(s, *regex) : s == value;
}

absl::StatusOr<CompiledMatch> CompiledMatch::compile(const api::RouteMatch& match,
                                                     RegexCache& regexes) {
  CompiledMatch m;
  switch (match.path.type) {
    case api::PathMatchType::kExact:
      m.path_class = PathClass::kExact;
      m.path.value = match.path.value;
      break;
    case api::PathMatchType::kPathPrefix:
      m.path_class = PathClass::kPathPrefix;
      m.path.value = normalizePrefix(match.path.value);
      break;
    case api::PathMatchType::kRegularExpression: {
      m.path_class = PathClass::kRegularExpression;
      auto path =
          compileString(api::StringMatchType::kRegularExpression, "", match.path.value, regexes);
      if (!path.ok()) return path.status();
      m.path = *std::move(path);
      break;
    }
  }
  m.method = match.method;
  const bool has_conditions =
      !match.method.empty() || !match.headers.empty() || !match.query_params.empty();
  if (m.path_class == PathClass::kPathPrefix && m.path.value.empty() && has_conditions) {
    m.path_class = PathClass::kConditionsOnly;
  }
  for (const api::HeaderMatch& h : match.headers) {
    std::string name = weft::toLower(h.name);
    if (seen(m.headers, name)) continue;
    auto header = compileString(h.type, std::move(name), h.value, regexes);
    if (!header.ok()) return header.status();
    m.headers.push_back(*std::move(header));
  }
  for (const api::QueryParamMatch& q : match.query_params) {
    if (seen(m.query_params, q.name)) continue;
    auto param = compileString(q.type, q.name, q.value, regexes);
    if (!param.ok()) return param.status();
    m.query_params.push_back(*std::move(param));
  }
  return m;
}

bool CompiledMatch::precedes(const CompiledMatch& other) const { return rank(*this) < rank(other); }

bool CompiledMatch::pathMatches(std::string_view p) const {
  switch (path_class) {
    case PathClass::kExact:
      return p == path.value;
    case PathClass::kPathPrefix:
      return prefixMatches(path.value, p);
    case PathClass::kConditionsOnly:
      return true;
    case PathClass::kRegularExpression:
      return fullMatch(p, *path.regex);
  }
  return false;
}

bool CompiledMatch::conditionsMatch(const RequestView& req) const {
  if (!method.empty() && req.head.method != method) return false;
  for (const StringMatcher& h : headers) {
    const std::string* value = req.head.headers.get(h.name);
    if (value == nullptr || !h.matches(*value)) return false;
  }
  for (const StringMatcher& q : query_params) {
    std::optional<std::string_view> value = findQueryParam(req.query, q.name);
    if (!value || !q.matches(*value)) return false;
  }
  return true;
}

}  // namespace weft::router
