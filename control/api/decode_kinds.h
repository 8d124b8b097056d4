#pragma once

// One decoder per resource kind. Each reads a whole document (already known to be a mapping
// with apiVersion and kind checked) and validates everything it can see on its own; references
// to Services are returned as ServiceRefs and checked once every document is decoded.

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"
#include "control/api/decoder_base.h"
#include "control/api/resources.h"

namespace weft::api::decoder {

// A reference from a resource to a Service (and maybe one of its subsets).
struct ServiceRef {
  std::string source;  // of the referring document, for errors
  std::string ns;
  std::string name;
  std::string field;  // of the name, e.g. "spec.rules[1].backendRefs[0].name"
  int line = 0;       // 1-based, of the name
  std::string subset;
  std::string subset_field;
  int subset_line = 0;
};

absl::StatusOr<Service> decodeService(const Decoder& d, const YAML::Node& doc);
absl::StatusOr<HTTPRoute> decodeHTTPRoute(const Decoder& d, const YAML::Node& doc,
                                          std::vector<ServiceRef>* refs);
absl::StatusOr<DestinationPolicy> decodeDestinationPolicy(const Decoder& d, const YAML::Node& doc,
                                                          std::vector<ServiceRef>* refs);

absl::StatusOr<AuthorizationPolicy> decodeAuthorizationPolicy(const Decoder& d,
                                                              const YAML::Node& doc,
                                                              std::vector<ServiceRef>* refs);

// One entry of an HTTPRoute rule's matches.
absl::StatusOr<RouteMatch> decodeRouteMatch(const Decoder& d, const YAML::Node& n,
                                            const std::string& field);

// A `{name, namespace?}` reference at n (a parentRef, backendRef or targetRef); the namespace
// defaults to `default_ns`. Returns the ServiceRef (subset left empty).
absl::StatusOr<ServiceRef> decodeServiceRef(const Decoder& d, const YAML::Node& n,
                                            const std::string& field,
                                            const std::string& default_ns);

}  // namespace weft::api::decoder
