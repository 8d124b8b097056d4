#pragma once

// Builders for route table tests: mesh resources written in C++, close to their YAML.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "common/strings.h"
#include "control/api/resources.h"
#include "control/api/yaml_decoder.h"
#include "net/http/message.h"
#include "proxy/router/route_table.h"

namespace weft::router::testing {

inline api::Endpoint endpoint(uint16_t port, api::Labels labels = {}) {
  api::Endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port;
  ep.address = weft::strCat(ep.host, ":", port);
  ep.identity = "spiffe://cluster.local/ns/default/sa/test";
  ep.labels = std::move(labels);
  return ep;
}

inline api::Service service(std::string name, std::vector<api::Endpoint> endpoints = {},
                            std::vector<api::Subset> subsets = {}) {
  return api::Service{std::move(name), "default", 80, std::move(subsets), std::move(endpoints)};
}

inline api::PathMatch exact(std::string v) { return {api::PathMatchType::kExact, std::move(v)}; }
inline api::PathMatch prefix(std::string v) {
  return {api::PathMatchType::kPathPrefix, std::move(v)};
}
inline api::PathMatch regex(std::string v) {
  return {api::PathMatchType::kRegularExpression, std::move(v)};
}

inline api::HeaderMatch header(std::string name, std::string value) {
  return {api::StringMatchType::kExact, std::move(name), std::move(value)};
}
inline api::HeaderMatch headerRegex(std::string name, std::string value) {
  return {api::StringMatchType::kRegularExpression, std::move(name), std::move(value)};
}
inline api::QueryParamMatch query(std::string name, std::string value) {
  return {api::StringMatchType::kExact, std::move(name), std::move(value)};
}
inline api::QueryParamMatch queryRegex(std::string name, std::string value) {
  return {api::StringMatchType::kRegularExpression, std::move(name), std::move(value)};
}

inline api::RouteMatch onPath(api::PathMatch path) {
  api::RouteMatch m;
  m.path = std::move(path);
  return m;
}

inline api::BackendRef to(std::string service, std::string subset = "", uint32_t weight = 1) {
  return api::BackendRef{std::move(service), "", std::move(subset), weight};
}

inline api::RouteRule rule(std::vector<api::RouteMatch> matches,
                           std::vector<api::BackendRef> backends = {}) {
  api::RouteRule r;
  r.matches = std::move(matches);
  r.backend_refs = std::move(backends);
  return r;
}

inline api::HTTPRoute route(std::string name, std::string parent,
                            std::vector<api::RouteRule> rules) {
  return api::HTTPRoute{std::move(name), "default", {{std::move(parent), ""}}, std::move(rules)};
}

inline http::RequestHead request(std::string path, std::vector<http::Header> headers = {},
                                 std::string method = "GET") {
  http::RequestHead req;
  req.method = std::move(method);
  req.authority = "svc";
  req.path = std::move(path);
  for (auto& h : headers) req.headers.add(std::move(h.name), std::move(h.value));
  return req;
}

inline api::MeshConfigConstSharedPtr mesh(api::Resources resources) {
  return std::make_shared<const api::MeshConfig>(std::move(resources), "test", 1);
}

// The table for a mesh.yaml text (empty: a config without resources); fails the test (and
// returns null) if it does not decode or build.
inline RouteTableConstSharedPtr tableFromYaml(const std::string& yaml, uint64_t version = 1) {
  absl::StatusOr<api::MeshConfigConstSharedPtr> mesh =
      std::make_shared<const api::MeshConfig>(api::Resources{}, "(none)", 0);
  if (!yaml.empty()) mesh = api::decodeMeshConfig(yaml, "mesh.yaml", version);
  if (!mesh.ok()) {
    ADD_FAILURE() << mesh.status();
    return nullptr;
  }
  auto table = RouteTable::build(*mesh);
  if (!table.ok()) {
    ADD_FAILURE() << table.status();
    return nullptr;
  }
  return *std::move(table);
}

// The table for `resources`; fails the test (and returns null) if it does not build.
inline RouteTableConstSharedPtr buildTable(api::Resources resources) {
  auto table = RouteTable::build(mesh(std::move(resources)));
  if (!table.ok()) {
    ADD_FAILURE() << table.status();
    return nullptr;
  }
  return *std::move(table);
}

// "<route label>#<rule index>" of the entry `req` to Service `svc` matches, or "404".
inline std::string matched(const RouteTable& table, std::string_view svc,
                           const http::RequestHead& req) {
  const api::Service* s = table.mesh().findService(svc, "default");
  if (s == nullptr) return "no such service";
  const RouteEntry* e = table.match(*s, req);
  if (e == nullptr) return "404";
  return weft::strCat(e->route_label, "#", e->rule_index);
}

}  // namespace weft::router::testing
