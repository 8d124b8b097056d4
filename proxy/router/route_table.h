#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/api/resources.h"
#include "net/http/message.h"
#include "proxy/balancer/random.h"

namespace weft::router {

// One weighted destination of a route rule: a Service, or one subset of it. Which endpoints
// that is, the worker's destination knows (ServiceState: endpoints change without a new table).
struct Backend {
  const api::Service* service = nullptr;
  std::string subset;   // "" = all of the Service's endpoints
  uint32_t weight = 0;  // relative; 0 is never picked
};

// What a request matched: one rule of one HTTPRoute, or a Service's implicit default.
struct RouteEntry {
  std::string route_label;               // the HTTPRoute's name; "default" for the implicit one
  const api::RouteRule* rule = nullptr;  // timeouts and retry; null for the implicit default
  uint32_t rule_index = 0;               // position of `rule` in its HTTPRoute
  std::vector<Backend> backends;         // in backendRefs order
  uint64_t total_weight = 0;             // sum of the weights; 0: nothing can be picked
};

// The compiled HTTPRoutes of one MeshConfig: for each Service, its routes' matches ordered by
// Gateway API precedence and indexed so that a lookup does not scan them.
//
// Built once per MeshConfig on the main thread, immutable, shared by every worker as
// shared_ptr<const RouteTable>. It holds the MeshConfig, so the Service, RouteRule and entry
// pointers it hands out live as long as the table.
//
// Matching (Gateway API HTTPRoute, https://gateway-api.sigs.k8s.io/reference/spec/#httproutematch):
// a match holds when all its conditions do; a rule holds when any of its matches does (none: it
// matches everything). Of all matches that hold, the most specific wins:
//   1. an Exact path;
//   2. a RegularExpression path, longer pattern first. Gateway API leaves the place of regexes
//      to the implementation; like Envoy Gateway we put them between Exact and PathPrefix, so a
//      regex rule is not shadowed by a catch-all prefix "/" (or by a match with no path, which
//      is prefix "/");
//   3. a PathPrefix, more characters first (trailing '/' not counted: "/api/" equals "/api");
//   then, among equals: a method match; more header matches; more query param matches; and
//   last, configuration order: route order in the config, rule order, match order.
// Path matching looks at the path without the query string. Exact and prefix compare bytes as
// sent (no percent-decoding or dot-segment normalization); prefixes match whole path elements
// ("/api" matches "/api", "/api/x", "/api?q", not "/apix"); regexes must match the whole path
// (RE2 full match). A header condition reads the first value of its (lowercase) name; query
// params are parsed from the path, first value of a name wins, not percent-decoded.
//
// A rule without backendRefs sends to its parent Service (all endpoints), GAMMA's meaning.
class RouteTable {
 public:
  // InvalidArgument naming the route, rule and match when a regex does not compile, or when a
  // backendRef names an unknown Service or subset.
  static absl::StatusOr<std::shared_ptr<const RouteTable>> build(
      api::MeshConfigConstSharedPtr mesh);

  // The entry for `req` to `svc` (a Service of this table's MeshConfig):
  //   - the Service's implicit default entry when no HTTPRoute is attached to it (route label
  //     "default", one Backend: all of its endpoints, weight 1);
  //   - the entry of the most specific matching rule when routes are attached;
  //   - nullptr when routes are attached and none matches (answer 404 "no route matched"), or
  //     when `svc` is not a Service of this table's MeshConfig.
  const RouteEntry* match(const api::Service& svc, const http::RequestHead& req) const;

  const api::MeshConfig& mesh() const { return *mesh_; }
  const api::MeshConfigConstSharedPtr& meshPtr() const { return mesh_; }

  // Internal: the compiled routes of one Service (defined in route_table.cc).
  struct ServiceRoutes;

  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

 private:
  explicit RouteTable(api::MeshConfigConstSharedPtr mesh);

  api::MeshConfigConstSharedPtr mesh_;
  std::vector<std::unique_ptr<ServiceRoutes>> services_;  // by service index in mesh_
  friend class RouteTableBuilder;
};

using RouteTableConstSharedPtr = std::shared_ptr<const RouteTable>;

inline constexpr size_t kNoBackend = std::numeric_limits<size_t>::max();

// A weighted random backend of `entry` for one request: backend i with probability
// weight_i / total_weight. Weight-0 backends are never picked; kNoBackend when total_weight is 0
// (every weight 0 or no backend; Gateway API answers 500 then).
size_t pickBackend(const RouteEntry& entry, balancer::Random& random);

}  // namespace weft::router
