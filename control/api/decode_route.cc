// kind: HTTPRoute — parentRefs and rules (backendRefs, timeouts, retry); matches are in
// decode_match.cc.

#include <unordered_set>

#include "common/strings.h"
#include "control/api/decode_kinds.h"

namespace weft::api::decoder {
namespace {

constexpr uint32_t kMaxWeight = 1'000'000;
constexpr uint32_t kMaxRetryAttempts = 10;

struct RetryOnName {
  std::string_view name;
  RetryOn on;
};
constexpr RetryOnName kRetryOnNames[] = {{"connect-failure", RetryOn::kConnectFailure},
                                         {"refused-stream", RetryOn::kRefusedStream},
                                         {"reset", RetryOn::kReset},
                                         {"5xx", RetryOn::k5xx},
                                         {"gateway-error", RetryOn::kGatewayError}};

absl::StatusOr<BackendRef> decodeBackendRef(const Decoder& d, const YAML::Node& n,
                                            const std::string& field, const std::string& route_ns,
                                            std::vector<ServiceRef>* refs) {
  if (auto st = d.requireMap(n, field, {"name", "namespace", "subset", "weight"}); !st.ok()) {
    return st;
  }
  auto ref = decodeServiceRef(d, n, field, route_ns);
  if (!ref.ok()) return ref.status();
  auto subset = d.string(n, field, "subset", Need::kOptional);
  if (!subset.ok()) return subset.status();
  if (Decoder::has(n, "subset")) {
    if (subset->empty()) return d.error(n["subset"], field + ".subset", "must not be empty");
    ref->subset = *subset;
    ref->subset_field = field + ".subset";
    ref->subset_line = d.line(n["subset"]);
  }
  BackendRef backend{ref->name, ref->ns, ref->subset};
  if (auto st = d.uint(n, field, "weight", 0, kMaxWeight, &backend.weight); !st.ok()) return st;
  refs->push_back(std::move(*ref));
  return backend;
}

absl::Status decodeTimeouts(const Decoder& d, const YAML::Node& n, const std::string& field,
                            RouteTimeouts* out) {
  if (auto st = d.requireMap(n, field, {"request", "backendRequest"}); !st.ok()) return st;
  if (auto st = d.timeout(n, field, "request", &out->request); !st.ok()) return st;
  if (auto st = d.timeout(n, field, "backendRequest", &out->backend_request); !st.ok()) return st;
  if (out->request && out->backend_request && *out->backend_request > *out->request) {
    return d.error(
        n["backendRequest"], field + ".backendRequest",
        weft::strCat("must not be longer than request (", formatDuration(*out->request), ")"));
  }
  return absl::OkStatus();
}

// "503" and the like: an HTTP status 100-599, for RetryOn::kStatus.
bool parseStatus(std::string_view s, unsigned* out) {
  return s.size() == 3 && weft::parseUnsigned(s, out) && *out >= 100 && *out <= 599;
}

absl::StatusOr<RetryPolicy> decodeRetry(const Decoder& d, const YAML::Node& n,
                                        const std::string& field) {
  if (auto st = d.requireMap(n, field, {"attempts", "perTryTimeout", "on"}); !st.ok()) return st;
  RetryPolicy retry;
  auto st = d.uint(n, field, "attempts", 0, kMaxRetryAttempts, &retry.attempts, Need::kRequired);
  if (!st.ok()) return st;
  if (st = d.timeout(n, field, "perTryTimeout", &retry.per_try_timeout); !st.ok()) return st;
  st = d.list(
      n, field, "on",
      [&](const YAML::Node& item, const std::string& f) {
        auto text = d.stringValue(item, f);
        if (!text.ok()) return text.status();
        auto duplicate = [&] {
          return d.error(item, f, weft::strCat("duplicate condition '", *text, "'"));
        };
        for (const RetryOnName& known : kRetryOnNames) {
          if (*text != known.name) continue;
          for (RetryOn on : retry.on) {
            if (on == known.on) return duplicate();
          }
          retry.on.push_back(known.on);
          return absl::OkStatus();
        }
        unsigned status = 0;
        if (!parseStatus(*text, &status)) {
          return d.error(item, f,
                         "must be connect-failure, refused-stream, reset, 5xx, gateway-error or "
                         "an HTTP status 100-599 such as \"503\"");
        }
        for (unsigned other : retry.statuses) {
          if (other == status) return duplicate();
        }
        if (retry.statuses.empty()) retry.on.push_back(RetryOn::kStatus);
        retry.statuses.push_back(status);
        return absl::OkStatus();
      },
      Need::kRequired);
  if (!st.ok()) return st;
  return retry;
}

absl::StatusOr<RouteRule> decodeRule(const Decoder& d, const YAML::Node& n,
                                     const std::string& field, const std::string& route_ns,
                                     std::vector<ServiceRef>* refs) {
  if (auto st = d.requireMap(n, field, {"matches", "backendRefs", "timeouts", "retry"}); !st.ok()) {
    return st;
  }
  RouteRule rule;
  auto st = d.list(n, field, "matches", [&](const YAML::Node& m, const std::string& f) {
    auto match = decodeRouteMatch(d, m, f);
    if (!match.ok()) return match.status();
    rule.matches.push_back(std::move(*match));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;

  uint64_t total_weight = 0;
  st = d.list(
      n, field, "backendRefs",
      [&](const YAML::Node& b, const std::string& f) {
        auto backend = decodeBackendRef(d, b, f, route_ns, refs);
        if (!backend.ok()) return backend.status();
        total_weight += backend->weight;
        rule.backend_refs.push_back(std::move(*backend));
        return absl::OkStatus();
      },
      Need::kRequired);
  if (!st.ok()) return st;
  if (total_weight == 0) {
    return d.error(n["backendRefs"], field + ".backendRefs",
                   "weights add up to 0: at least one backendRef needs a weight above 0");
  }

  if (Decoder::has(n, "timeouts")) {
    if (st = decodeTimeouts(d, n["timeouts"], field + ".timeouts", &rule.timeouts); !st.ok()) {
      return st;
    }
  }
  if (Decoder::has(n, "retry")) {
    auto retry = decodeRetry(d, n["retry"], field + ".retry");
    if (!retry.ok()) return retry.status();
    rule.retry = std::move(*retry);
  }
  return rule;
}

}  // namespace

absl::StatusOr<HTTPRoute> decodeHTTPRoute(const Decoder& d, const YAML::Node& doc,
                                          std::vector<ServiceRef>* refs) {
  HTTPRoute route;
  if (auto st = d.metadata(doc, &route.name, &route.ns); !st.ok()) return st;
  auto spec_or = d.child(doc, "", "spec");
  if (!spec_or.ok()) return spec_or.status();
  const YAML::Node spec = *spec_or;
  if (auto st = d.requireMap(spec, "spec", {"parentRefs", "rules"}); !st.ok()) return st;

  std::unordered_set<std::string> parents;  // "<ns>/<name>"
  auto st = d.list(
      spec, "spec", "parentRefs",
      [&](const YAML::Node& n, const std::string& field) {
        if (auto bad = d.requireMap(n, field, {"name", "namespace"}); !bad.ok()) return bad;
        auto ref = decodeServiceRef(d, n, field, route.ns);
        if (!ref.ok()) return ref.status();
        if (!parents.insert(weft::strCat(ref->ns, "/", ref->name)).second) {
          return d.error(n, field, weft::strCat("duplicate parentRef ", ref->ns, "/", ref->name));
        }
        route.parent_refs.push_back({ref->name, ref->ns});
        refs->push_back(std::move(*ref));
        return absl::OkStatus();
      },
      Need::kRequired);
  if (!st.ok()) return st;

  st = d.list(
      spec, "spec", "rules",
      [&](const YAML::Node& n, const std::string& field) {
        auto rule = decodeRule(d, n, field, route.ns, refs);
        if (!rule.ok()) return rule.status();
        route.rules.push_back(std::move(*rule));
        return absl::OkStatus();
      },
      Need::kRequired);
  if (!st.ok()) return st;
  return route;
}

}  // namespace weft::api::decoder
