#include "proxy/router/route_table.h"

#include <algorithm>
#include <functional>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <re2/set.h>

#include "absl/status/status.h"
#include "common/strings.h"
#include "proxy/router/route_match.h"

namespace weft::router {
namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// A bucket indexes its candidates by one header's exact value once this many of them test it.
constexpr size_t kHeaderIndexMin = 4;
// With this many regex paths a Service tests them all in one pass of an RE2::Set.
constexpr size_t kRegexSetMin = 4;

constexpr std::string_view kDefaultRouteLabel = "default";

// The candidates that share one path key (an exact path, a normalized prefix, or "any regex"),
// as positions into ServiceRoutes::matches, ascending (= precedence order). When many of them
// test the same header for an exact value, they are keyed by that value: a request can only
// match the unkeyed ones and those under its own value, so the lookup merges those two lists.
struct Bucket {
  std::vector<uint32_t> unkeyed;
  std::string key_header;  // "" : not keyed
  StringMap<std::vector<uint32_t>> keyed;
};

}  // namespace

struct RouteTable::ServiceRoutes {
  std::vector<RouteEntry> entries;     // one per rule; or the implicit default
  bool has_routes = false;             // false: entries[0] is the implicit default
  std::vector<CompiledMatch> matches;  // in precedence order
  StringMap<Bucket> exact;             // by exact path
  Bucket regex;                        // every regex-path match
  // All regex paths in one automaton (null with few regexes, or if it cannot be built): the
  // set's pattern i is the path of the candidates regex_positions[i].
  std::unique_ptr<re2::RE2::Set> regex_set;
  std::vector<std::vector<uint32_t>> regex_positions;
  Bucket conditional;                // kConditionsOnly matches: any path
  StringMap<Bucket> prefix;          // by normalized prefix ("" is "/")
  std::vector<bool> prefix_lengths;  // [n]: some prefix key has n characters

  const RouteEntry* lookup(const RequestView& req) const;
  const CompiledMatch* first(const Bucket& bucket, const RequestView& req, bool test_path) const;
  const CompiledMatch* firstRegex(const RequestView& req) const;
};

const CompiledMatch* RouteTable::ServiceRoutes::firstRegex(const RequestView& req) const {
  if (regex_set == nullptr) return first(regex, req, true);
  // Scratch space per thread: the table is shared by every worker.
  thread_local std::vector<int> hits;
  thread_local std::vector<uint32_t> positions;
  hits.clear();
  positions.clear();
  re2::RE2::Set::ErrorInfo error{};
  if (!regex_set->Match(re2::StringPiece(req.path.data(), req.path.size()), &hits, &error)) {
    return error.kind == re2::RE2::Set::kNoError ? nullptr : first(regex, req, true);
  }
  for (int hit : hits) {
    const std::vector<uint32_t>& p = regex_positions[static_cast<size_t>(hit)];
    positions.insert(positions.end(), p.begin(), p.end());
  }
  std::sort(positions.begin(), positions.end());
  for (uint32_t pos : positions) {
    if (matches[pos].conditionsMatch(req)) return &matches[pos];
  }
  return nullptr;
}

const CompiledMatch* RouteTable::ServiceRoutes::first(const Bucket& bucket, const RequestView& req,
                                                      bool test_path) const {
  const std::vector<uint32_t>* keyed = nullptr;
  if (!bucket.key_header.empty()) {
    if (const std::string* value = req.head.headers.get(bucket.key_header)) {
      if (auto it = bucket.keyed.find(*value); it != bucket.keyed.end()) keyed = &it->second;
    }
  }
  const std::vector<uint32_t>& plain = bucket.unkeyed;
  size_t i = 0, j = 0, keyed_size = keyed != nullptr ? keyed->size() : 0;
  while (i < plain.size() || j < keyed_size) {
    uint32_t pos = (j >= keyed_size || (i < plain.size() && plain[i] < (*keyed)[j]))
                       ? plain[i++]
                       : (*keyed)[j++];
    const CompiledMatch& m = matches[pos];
    if ((!test_path || m.pathMatches(req.path)) && m.conditionsMatch(req)) return &m;
  }
  return nullptr;
}

const RouteEntry* RouteTable::ServiceRoutes::lookup(const RequestView& req) const {
  const CompiledMatch* hit = nullptr;
  if (!exact.empty()) {
    if (auto it = exact.find(req.path); it != exact.end()) hit = first(it->second, req, false);
  }
  if (hit == nullptr && (!regex.unkeyed.empty() || !regex.keyed.empty())) {
    hit = firstRegex(req);
  }
  if (hit == nullptr && (!conditional.unkeyed.empty() || !conditional.keyed.empty())) {
    hit = first(conditional, req, false);
  }
  // Prefixes, longest first: the whole path, then the path up to each '/' from the right (each
  // a prefix the path matches by whole elements), down to "" (the "/" prefix).
  for (std::string_view key = req.path; hit == nullptr;) {
    if (key.size() < prefix_lengths.size() && prefix_lengths[key.size()]) {
      if (auto it = prefix.find(key); it != prefix.end()) hit = first(it->second, req, false);
    }
    if (key.empty()) break;
    size_t slash = key.rfind('/');
    key = key.substr(0, slash == std::string_view::npos ? 0 : slash);
  }
  return hit != nullptr ? &entries[hit->entry] : nullptr;
}

// Builds one RouteTable; a friend, so the table's members stay private.
class RouteTableBuilder {
 public:
  explicit RouteTableBuilder(RouteTable& table) : table_(table), mesh_(*table.mesh_) {}

  absl::Status build() {
    for (const api::Service& svc : mesh_.services()) {
      auto routes = std::make_unique<RouteTable::ServiceRoutes>();
      absl::Status status = buildService(svc, *routes);
      if (!status.ok()) return status;
      table_.services_.push_back(std::move(routes));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status buildService(const api::Service& svc, RouteTable::ServiceRoutes& out) {
    const std::vector<const api::HTTPRoute*>& routes = mesh_.routesFor(svc);
    if (routes.empty()) {
      RouteEntry entry{std::string(kDefaultRouteLabel), nullptr, 0, {}, 1};
      entry.backends.push_back(backend(svc, nullptr, 1));
      out.entries.push_back(std::move(entry));
      return absl::OkStatus();
    }
    out.has_routes = true;
    for (uint32_t r = 0; r < routes.size(); ++r) {
      const api::HTTPRoute& route = *routes[r];
      for (uint32_t k = 0; k < route.rules.size(); ++k) {
        const api::RouteRule& rule = route.rules[k];
        auto where = [&](std::string_view field, size_t i) {
          return weft::strCat("HTTPRoute ", route.ns, "/", route.name, ": rules[", k, "].", field,
                              "[", i, "]: ");
        };
        RouteEntry entry{route.name, &rule, k, {}, 0};
        if (rule.backend_refs.empty()) entry.backends.push_back(backend(svc, nullptr, 1));
        for (size_t b = 0; b < rule.backend_refs.size(); ++b) {
          auto resolved = resolve(route, rule.backend_refs[b]);
          if (!resolved.ok()) {
            return absl::InvalidArgumentError(
                weft::strCat(where("backendRefs", b), weft::sv(resolved.status().message())));
          }
          entry.backends.push_back(*std::move(resolved));
        }
        for (const Backend& b : entry.backends) entry.total_weight += b.weight;
        auto entry_index = static_cast<uint32_t>(out.entries.size());
        out.entries.push_back(std::move(entry));

        std::vector<api::RouteMatch> match_all(rule.matches.empty() ? 1 : 0);
        const std::vector<api::RouteMatch>& matches =
            rule.matches.empty() ? match_all : rule.matches;
        for (uint32_t m = 0; m < matches.size(); ++m) {
          auto compiled = CompiledMatch::compile(matches[m], regexes_);
          if (!compiled.ok()) {
            return absl::InvalidArgumentError(
                weft::strCat(where("matches", m), weft::sv(compiled.status().message())));
          }
          compiled->route_index = r;
          compiled->rule_index = k;
          compiled->match_index = m;
          compiled->entry = entry_index;
          out.matches.push_back(*std::move(compiled));
        }
      }
    }
    index(out);
    return absl::OkStatus();
  }

  static void index(RouteTable::ServiceRoutes& out) {
    std::stable_sort(out.matches.begin(), out.matches.end(),
                     [](const CompiledMatch& a, const CompiledMatch& b) { return a.precedes(b); });
    StringMap<std::vector<uint32_t>> exact, prefix;
    std::vector<uint32_t> regex, conditional;
    for (uint32_t pos = 0; pos < out.matches.size(); ++pos) {
      const CompiledMatch& m = out.matches[pos];
      switch (m.path_class) {
        case PathClass::kExact:
          exact[m.path.value].push_back(pos);
          break;
        case PathClass::kRegularExpression:
          regex.push_back(pos);
          break;
        case PathClass::kConditionsOnly:
          conditional.push_back(pos);
          break;
        case PathClass::kPathPrefix:
          prefix[m.path.value].push_back(pos);
          if (out.prefix_lengths.size() <= m.path.value.size()) {
            out.prefix_lengths.resize(m.path.value.size() + 1);
          }
          out.prefix_lengths[m.path.value.size()] = true;
          break;
      }
    }
    for (auto& [path, positions] : exact) out.exact.emplace(path, bucket(out, positions));
    for (auto& [path, positions] : prefix) out.prefix.emplace(path, bucket(out, positions));
    out.regex = bucket(out, regex);
    out.conditional = bucket(out, conditional);
    if (regex.size() >= kRegexSetMin) buildRegexSet(out, regex);
  }

  static void buildRegexSet(RouteTable::ServiceRoutes& out, const std::vector<uint32_t>& regex) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto set = std::make_unique<re2::RE2::Set>(options, re2::RE2::ANCHOR_BOTH);
    std::map<std::string_view, size_t> index;  // pattern -> set index
    for (uint32_t pos : regex) {
      const std::string& pattern = out.matches[pos].path.value;
      auto [it, added] = index.try_emplace(pattern, out.regex_positions.size());
      if (added) {
        if (set->Add(re2::StringPiece(pattern.data(), pattern.size()), nullptr) < 0) {
          out.regex_positions.clear();
          return;
        }
        out.regex_positions.emplace_back();
      }
      out.regex_positions[it->second].push_back(pos);
    }
    if (!set->Compile()) {
      out.regex_positions.clear();
      return;
    }
    out.regex_set = std::move(set);
  }

  // A bucket over `positions` (ascending), keyed by the header most of them test exactly.
  static Bucket bucket(const RouteTable::ServiceRoutes& out,
                       const std::vector<uint32_t>& positions) {
    std::map<std::string_view, size_t> tests;  // header name -> candidates testing it exactly
    for (uint32_t pos : positions) {
      for (const StringMatcher& h : out.matches[pos].headers) {
        if (!h.regex) ++tests[h.name];
      }
    }
    Bucket b;
    size_t best = 0;
    for (const auto& [name, count] : tests) {
      if (count > best) {
        best = count;
        b.key_header = std::string(name);
      }
    }
    if (best < kHeaderIndexMin) {
      b.key_header.clear();
      b.unkeyed = positions;
      return b;
    }
    for (uint32_t pos : positions) {
      const std::vector<StringMatcher>& headers = out.matches[pos].headers;
      auto it = std::find_if(headers.begin(), headers.end(), [&](const StringMatcher& h) {
        return !h.regex && h.name == b.key_header;
      });
      if (it == headers.end()) {
        b.unkeyed.push_back(pos);
      } else {
        b.keyed[it->value].push_back(pos);
      }
    }
    return b;
  }

  absl::StatusOr<Backend> resolve(const api::HTTPRoute& route, const api::BackendRef& ref) {
    std::string_view ns = ref.ns.empty() ? std::string_view(route.ns) : std::string_view(ref.ns);
    const api::Service* svc = mesh_.findService(ref.name, ns);
    if (svc == nullptr) {
      return absl::InvalidArgumentError(weft::strCat("unknown Service ", ns, "/", ref.name));
    }
    const api::Subset* subset = nullptr;
    if (!ref.subset.empty()) {
      subset = svc->findSubset(ref.subset);
      if (subset == nullptr) {
        return absl::InvalidArgumentError(
            weft::strCat("unknown subset ", ref.subset, " of Service ", ns, "/", ref.name));
      }
    }
    return backend(*svc, subset, ref.weight);
  }

  static Backend backend(const api::Service& svc, const api::Subset* subset, uint32_t weight) {
    return Backend{&svc, subset != nullptr ? subset->name : std::string(), weight};
  }

  RouteTable& table_;
  const api::MeshConfig& mesh_;
  RegexCache regexes_;
};

RouteTable::RouteTable(api::MeshConfigConstSharedPtr mesh) : mesh_(std::move(mesh)) {}
RouteTable::~RouteTable() = default;

absl::StatusOr<std::shared_ptr<const RouteTable>> RouteTable::build(
    api::MeshConfigConstSharedPtr mesh) {
  std::shared_ptr<RouteTable> table(new RouteTable(std::move(mesh)));
  RouteTableBuilder builder(*table);
  absl::Status status = builder.build();
  if (!status.ok()) return status;
  return std::shared_ptr<const RouteTable>(std::move(table));
}

const RouteEntry* RouteTable::match(const api::Service& svc, const http::RequestHead& req) const {
  const std::vector<api::Service>& all = mesh_->services();
  std::less<const api::Service*> before;
  if (before(&svc, all.data()) || !before(&svc, all.data() + all.size())) return nullptr;
  const ServiceRoutes& routes = *services_[static_cast<size_t>(&svc - all.data())];
  if (!routes.has_routes) return &routes.entries[0];
  return routes.lookup(RequestView(req));
}

size_t pickBackend(const RouteEntry& entry, balancer::Random& random) {
  if (entry.total_weight == 0) return kNoBackend;
  if (entry.backends.size() == 1) return 0;
  uint64_t ticket = random.below(entry.total_weight);
  for (size_t i = 0; i < entry.backends.size(); ++i) {
    uint32_t w = entry.backends[i].weight;
    if (ticket < w) return i;
    ticket -= w;
  }
  return kNoBackend;  // unreachable: the weights sum to total_weight
}

}  // namespace weft::router
