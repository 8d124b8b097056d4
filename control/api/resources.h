#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace weft::api {

inline constexpr std::string_view kApiVersion = "weft.dev/v1alpha1";

using Labels = std::map<std::string, std::string>;
using Duration = std::chrono::milliseconds;

struct Endpoint {
  std::string address;  // "host:port" as written
  std::string host;     // IP literal, canonical (api::canonicalIp)
  uint16_t port = 0;
  std::string identity;  // SPIFFE ID the endpoint must present
  Labels labels;
};

// A named slice of a Service's endpoints: those whose labels include all of `labels`.
struct Subset {
  std::string name;
  Labels labels;

  // Whether an endpoint with `endpoint_labels` is in this subset: they include all of `labels`.
  bool selects(const Labels& endpoint_labels) const;

  bool operator==(const Subset&) const = default;
};

// kind: Service — a named destination with its port, subsets and static endpoints.
struct Service {
  std::string name;
  std::string ns;
  uint16_t port = 0;
  std::vector<Subset> subsets;
  std::vector<Endpoint> endpoints;
  // Virtual IPs (a Kubernetes Service's cluster IPs) the Service is reached at on `port`, in
  // canonical form: a connection the sidecar intercepts on its way to one of them goes to this
  // Service, as one to an endpoint's address does.
  std::vector<std::string> addresses = {};

  const Subset* findSubset(std::string_view subset_name) const;
};

// ------------------------------------------------------------------------------ HTTPRoute
// Gateway API HTTPRoute semantics (gateway.networking.k8s.io/v1), attached to a Service.

enum class PathMatchType { kExact, kPathPrefix, kRegularExpression };
enum class StringMatchType { kExact, kRegularExpression };

struct PathMatch {
  PathMatchType type = PathMatchType::kPathPrefix;
  std::string value = "/";
};

struct HeaderMatch {
  StringMatchType type = StringMatchType::kExact;
  std::string name;  // lower-cased by the decoder (header names are case-insensitive)
  std::string value;
};

struct QueryParamMatch {
  StringMatchType type = StringMatchType::kExact;
  std::string name;  // case-sensitive
  std::string value;
};

// A gRPC method (GRPCRoute's GRPCMethodMatch): either part may be left out. The decoder also
// writes the equivalent `path` condition (/service/method exact, /service prefix, or a regex for
// a method of any service), which is what the route table matches on.
struct GrpcMethodMatch {
  std::string service;  // fully qualified, e.g. helloworld.Greeter
  std::string method;   // e.g. SayHello
};

// All of the present conditions must hold. An empty match matches every request (path "/"
// prefix, as Gateway API defaults it).
struct RouteMatch {
  PathMatch path;
  std::optional<GrpcMethodMatch> grpc = std::nullopt;  // as written; `path` holds its condition
  std::vector<HeaderMatch> headers;
  std::vector<QueryParamMatch> query_params;
  std::string method;  // upper-case; empty: any method
};

struct BackendRef {
  std::string name;     // a Service
  std::string ns;       // defaults to the route's namespace
  std::string subset;   // empty: all of the Service's endpoints
  uint32_t weight = 1;  // relative; 0 sends nothing there
};

struct RouteTimeouts {
  std::optional<Duration> request;          // whole exchange, retries included
  std::optional<Duration> backend_request;  // one try (overridden by retry.perTryTimeout)
};

// Conditions under which a try is retried.
enum class RetryOn {
  kConnectFailure,  // the connection to the endpoint could not be made
  kRefusedStream,   // the endpoint refused the request before processing it (HTTP/2 REFUSED_STREAM)
  kReset,           // the connection broke before response headers
  k5xx,             // any 5xx response
  kGatewayError,    // 502, 503, 504
  kStatus,          // one of RetryPolicy::statuses (written as a quoted number, e.g. "503")
};

struct RetryPolicy {
  uint32_t attempts = 0;  // retries after the first try (Istio's meaning): 2 = up to 3 tries
  std::optional<Duration> per_try_timeout;
  std::vector<RetryOn> on;
  std::vector<unsigned> statuses;  // for RetryOn::kStatus
};

struct RouteRule {
  std::vector<RouteMatch> matches;  // empty: one match-all
  std::vector<BackendRef> backend_refs;
  RouteTimeouts timeouts;
  std::optional<RetryPolicy> retry;
};

struct ParentRef {
  std::string name;  // a Service
  std::string ns;    // defaults to the route's namespace
};

struct HTTPRoute {
  std::string name;
  std::string ns;
  std::vector<ParentRef> parent_refs;
  std::vector<RouteRule> rules;
};

// ---------------------------------------------------------------------- DestinationPolicy
// How a proxy talks to one Service's endpoints. Defaults follow Envoy's.

enum class LoadBalancerKind { kLeastRequest, kRoundRobin, kEwma };

struct ConnectionPoolSettings {
  uint32_t max_connections = 1024;          // open connections to the Service, all endpoints
  uint32_t max_pending_requests = 1024;     // requests waiting for a connection
  uint32_t max_requests = 1024;             // requests in flight
  uint32_t max_retries = 3;                 // retries in flight
  std::optional<Duration> connect_timeout;  // absent: the proxy's --connect-timeout
};

struct OutlierDetectionSettings {
  uint32_t consecutive_5xx = 5;
  uint32_t consecutive_gateway_errors = 5;  // 502, 503, 504 and connect failures
  Duration interval{10'000};
  Duration base_ejection_time{30'000};
  uint32_t max_ejection_percent = 10;

  bool operator==(const OutlierDetectionSettings&) const = default;
};

// Linkerd's retry budget: retries may add at most `percent` of the recent request rate, plus
// `min_retries_per_second` regardless.
struct RetryBudgetSettings {
  double percent = 20;
  uint32_t min_retries_per_second = 10;
};

struct TargetRef {
  std::string name;  // a Service
  std::string ns;    // defaults to the policy's namespace
};

struct DestinationPolicy {
  std::string name;
  std::string ns;
  TargetRef target_ref;
  LoadBalancerKind load_balancer = LoadBalancerKind::kLeastRequest;
  ConnectionPoolSettings connection_pool;
  OutlierDetectionSettings outlier_detection;
  RetryBudgetSettings retry_budget;
};

// -------------------------------------------------------------------- AuthorizationPolicy
// Which callers may reach a Service's workloads (enforced by their inbound proxies). A Service
// with no policy admits every authenticated caller; with one or more, a request is admitted
// when any rule of any of them matches it (Istio's ALLOW policies).

// A caller: its SPIFFE ID equals one of `identities`, or starts with one that ends in '*'
// ("spiffe://cluster.local/ns/default/*"). An empty list matches any caller.
struct AuthorizationSource {
  std::vector<std::string> identities;
};

// What is called: the method is one of `methods` (any when empty) and the path matches one of
// `paths` (any when empty): exactly, or by prefix when the entry ends in '*' ("/api/*").
struct AuthorizationOperation {
  std::vector<std::string> methods;
  std::vector<std::string> paths;
};

// Matches when some `from` entry and some `to` entry match (an empty list matches all).
struct AuthorizationRule {
  std::vector<AuthorizationSource> from;
  std::vector<AuthorizationOperation> to;
};

struct AuthorizationPolicy {
  std::string name;
  std::string ns;
  TargetRef target_ref;                  // the Service whose workloads enforce it
  std::vector<AuthorizationRule> rules;  // empty: admits nobody
};

// ----------------------------------------------------------------------------- MeshConfig

struct Resources {
  std::vector<Service> services = {};
  std::vector<HTTPRoute> routes = {};
  std::vector<DestinationPolicy> policies = {};
  std::vector<AuthorizationPolicy> authorization = {};
};

// One immutable, validated set of mesh resources: what a proxy runs on. It arrives from a file
// today and from the control plane's push later; either way it is built once and shared as
// shared_ptr<const MeshConfig>. References (parentRefs, backendRefs, targetRef, subsets) are
// checked before one is built.
class MeshConfig {
 public:
  MeshConfig(Resources resources, std::string source, uint64_t version);

  const std::vector<Service>& services() const { return resources_.services; }
  const std::vector<HTTPRoute>& routes() const { return resources_.routes; }
  const std::vector<DestinationPolicy>& policies() const { return resources_.policies; }
  const std::vector<AuthorizationPolicy>& authorization() const { return resources_.authorization; }
  const std::string& source() const { return source_; }
  uint64_t version() const { return version_; }

  // The Service called `name` in namespace `ns`, or nullptr.
  const Service* findService(std::string_view name, std::string_view ns) const;
  // The HTTPRoutes whose parentRefs name `service`, in the order they were given.
  const std::vector<const HTTPRoute*>& routesFor(const Service& service) const;
  // The DestinationPolicy targeting `service`, or the defaults.
  const DestinationPolicy& policyFor(const Service& service) const;
  // The AuthorizationPolicies targeting Service `ns/name` (empty: every caller is admitted).
  const std::vector<const AuthorizationPolicy*>& authorizationFor(std::string_view name,
                                                                  std::string_view ns) const;

  nlohmann::json toJson() const;
  // toJson()["resources"] one at a time (Services, HTTPRoutes, DestinationPolicies, then
  // AuthorizationPolicies),
  // so a large config can be written out without building it whole (ConfigJsonWriter).
  size_t resourceCount() const;
  nlohmann::json resourceJson(size_t index) const;

 private:
  Resources resources_;
  std::unordered_map<std::string, size_t> by_key_;                // "<ns>/<name>" -> service index
  std::vector<std::vector<const HTTPRoute*>> routes_by_service_;  // by service index
  std::vector<const DestinationPolicy*> policy_by_service_;       // by service index
  // "<ns>/<name>" of the target Service -> its AuthorizationPolicies.
  std::unordered_map<std::string, std::vector<const AuthorizationPolicy*>> authorization_by_key_;
  std::vector<const AuthorizationPolicy*> no_authorization_;
  DestinationPolicy default_policy_;
  std::string source_;
  uint64_t version_;
};

using MeshConfigConstSharedPtr = std::shared_ptr<const MeshConfig>;

}  // namespace weft::api
