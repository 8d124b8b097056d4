#include "proxy/router/outbound_router.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"

namespace weft::router {
namespace {

using ::testing::HasSubstr;

api::Endpoint endpoint(std::string host, uint16_t port) {
  api::Endpoint ep;
  ep.address = weft::strCat(host, ":", port);
  ep.host = std::move(host);
  ep.port = port;
  ep.identity = "spiffe://cluster.local/ns/default/sa/backend";
  return ep;
}

api::Service service(std::string name, std::string ns, uint16_t port,
                     std::vector<api::Endpoint> endpoints = {}) {
  return api::Service{std::move(name), std::move(ns), port, {}, std::move(endpoints)};
}

class OutboundRouterTest : public ::testing::Test {
 protected:
  api::MeshConfig config_{
      {.services = {service("backend", "default", 8080,
                            {endpoint("10.0.0.1", 15006), endpoint("10.0.0.2", 15006),
                             endpoint("10.0.0.3", 15006)}),
                    service("backend", "other", 9090, {endpoint("10.1.0.1", 15006)}),
                    service("empty", "default", 80),
                    service("api", "svc", 80, {endpoint("10.2.0.1", 15006)})}},
      "test",
      1};

  // The Service `authority` resolves to from namespace `ns`, as "<ns>/<name>", or the error.
  std::string resolve(std::string_view authority, std::string_view ns = "default") {
    auto svc = resolveAuthority(config_, authority, ns);
    if (!svc.ok()) return weft::strCat("error: ", weft::sv(svc.status().message()));
    return weft::strCat((*svc)->ns, "/", (*svc)->name);
  }
};

TEST_F(OutboundRouterTest, ResolvesAllAuthorityForms) {
  EXPECT_EQ(resolve("backend"), "default/backend");
  EXPECT_EQ(resolve("backend:8080"), "default/backend");
  EXPECT_EQ(resolve("backend.default"), "default/backend");
  EXPECT_EQ(resolve("backend.default:8080"), "default/backend");
  EXPECT_EQ(resolve("backend.default.svc"), "default/backend");
  EXPECT_EQ(resolve("backend.default.svc:8080"), "default/backend");
  EXPECT_EQ(resolve("backend.default.svc.cluster.local"), "default/backend");
  EXPECT_EQ(resolve("backend.default.svc.cluster.local:8080"), "default/backend");
}

TEST_F(OutboundRouterTest, CaseInsensitiveAndTrailingDot) {
  EXPECT_EQ(resolve("BACKEND"), "default/backend");
  EXPECT_EQ(resolve("Backend.Default.SVC.Cluster.Local:8080"), "default/backend");
  EXPECT_EQ(resolve("backend.default.svc.cluster.local."), "default/backend");
  EXPECT_EQ(resolve("backend.default.svc.cluster.local.:8080"), "default/backend");
  EXPECT_EQ(resolve("backend."), "default/backend");
}

TEST_F(OutboundRouterTest, WrongPortNamesServicePort) {
  auto svc = resolveAuthority(config_, "backend:9999", "default");
  ASSERT_FALSE(svc.ok());
  EXPECT_EQ(svc.status().code(), absl::StatusCode::kNotFound);
  std::string msg(weft::sv(svc.status().message()));
  EXPECT_THAT(msg, HasSubstr("backend:9999"));
  EXPECT_THAT(msg, HasSubstr("listens on port 8080"));
}

TEST_F(OutboundRouterTest, BadPortIsNotFound) {
  for (const char* authority : {"backend:http", "backend:65536", "backend:-1"}) {
    auto svc = resolveAuthority(config_, authority, "default");
    ASSERT_FALSE(svc.ok()) << authority;
    EXPECT_EQ(svc.status().code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(std::string(weft::sv(svc.status().message())), HasSubstr(authority));
  }
}

TEST_F(OutboundRouterTest, OtherNamespaces) {
  EXPECT_EQ(resolve("backend.other"), "other/backend");
  EXPECT_EQ(resolve("backend.other.svc.cluster.local:9090"), "other/backend");
  EXPECT_EQ(resolve("backend", "other"), "other/backend");            // short name: own ns
  EXPECT_EQ(resolve("backend.default", "other"), "default/backend");  // explicit ns
  EXPECT_THAT(resolve("backend.other:8080"), HasSubstr("listens on port 9090"));
  EXPECT_THAT(resolve("backend.missing"), HasSubstr("unknown service: backend.missing"));
  EXPECT_THAT(resolve("backend", "missing"), HasSubstr("unknown service: backend"));
}

// "svc" is a valid namespace name; the fully qualified form must still resolve.
TEST_F(OutboundRouterTest, NamespaceNamedSvc) {
  EXPECT_EQ(resolve("api.svc"), "svc/api");
  EXPECT_EQ(resolve("api.svc.svc"), "svc/api");
  EXPECT_EQ(resolve("api.svc.svc.cluster.local:80"), "svc/api");
}

TEST_F(OutboundRouterTest, UnknownNamesTheHost) {
  for (const char* authority :
       {"nope", "nope:8080", "Nope.Default", "backend.default.svc.example.com",
        "backend.default.cluster.local", "backend.default.svc.cluster", "backend.default.pod",
        "10.0.0.1:8080", "", ":8080", ".default"}) {
    auto svc = resolveAuthority(config_, authority, "default");
    ASSERT_FALSE(svc.ok()) << authority;
    EXPECT_EQ(svc.status().code(), absl::StatusCode::kNotFound) << authority;
    EXPECT_THAT(std::string(weft::sv(svc.status().message())),
                HasSubstr(weft::strCat("unknown service: ", authority)));
  }
}

}  // namespace
}  // namespace weft::router
