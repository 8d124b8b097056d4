// AuthorizationPolicy decoding and evaluation (control/api/authorize.h): no policy admits every
// caller; with policies, a request needs a rule whose `from` and `to` both match; identities
// and paths match exactly or by a '*' prefix; bad fields are refused with their path.

#include "control/api/authorize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/api/yaml_decoder.h"

namespace weft::api {
namespace {

using ::testing::HasSubstr;

constexpr char kService[] = R"(apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: reviews}
spec: {port: 9080}
)";

MeshConfigConstSharedPtr mesh(const std::string& extra) {
  auto m = decodeMeshConfig(std::string(kService) + extra, "mesh.yaml", 1);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : nullptr;
}

std::string errorOf(const std::string& extra) {
  auto m = decodeMeshConfig(std::string(kService) + extra, "mesh.yaml", 1);
  return m.ok() ? "(ok)" : std::string(m.status().message());
}

constexpr char kPolicy[] = R"(---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: callers}
spec:
  targetRef: {kind: Service, name: reviews}
  rules:
    - from: [{identities: ["spiffe://td/ns/default/sa/web", "spiffe://td/ns/ops/*"]}]
      to: [{methods: [GET, HEAD], paths: ["/api/*", "/health"]}]
    - from: [{identities: ["spiffe://td/ns/default/sa/admin"]}]
)";

TEST(AuthorizeTest, NoPolicyAdmitsEveryCaller) {
  auto m = mesh("");
  auto d = authorize(*m, "reviews", "default", "spiffe://td/ns/x/sa/y", "POST", "/");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "no AuthorizationPolicy");
}

TEST(AuthorizeTest, ARuleMustMatchBothCallerAndOperation) {
  auto m = mesh(kPolicy);
  ASSERT_EQ(m->authorization().size(), 1u);
  auto ok = authorize(*m, "reviews", "default", "spiffe://td/ns/default/sa/web", "GET", "/api/x");
  EXPECT_TRUE(ok.allowed);
  EXPECT_EQ(ok.reason, "AuthorizationPolicy default/callers rules[0]");
  EXPECT_TRUE(
      authorize(*m, "reviews", "default", "spiffe://td/ns/ops/sa/any", "HEAD", "/health").allowed);
  EXPECT_FALSE(
      authorize(*m, "reviews", "default", "spiffe://td/ns/default/sa/web", "POST", "/api/x")
          .allowed);
  EXPECT_FALSE(
      authorize(*m, "reviews", "default", "spiffe://td/ns/default/sa/web", "GET", "/healthz")
          .allowed);
  auto admin =
      authorize(*m, "reviews", "default", "spiffe://td/ns/default/sa/admin", "DELETE", "/x");
  EXPECT_TRUE(admin.allowed);
  EXPECT_EQ(admin.reason, "AuthorizationPolicy default/callers rules[1]");
  auto denied = authorize(*m, "reviews", "default", "spiffe://td/ns/default/sa/db", "GET", "/api");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.reason,
            "unauthorized: spiffe://td/ns/default/sa/db may not call reviews (GET /api)");
  // Other Services are not affected.
  EXPECT_TRUE(authorize(*m, "ratings", "default", "spiffe://x/ns/a/sa/b", "GET", "/").allowed);
}

TEST(AuthorizeTest, EmptyRulesAdmitNobody) {
  auto m = mesh(R"(---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: closed}
spec: {targetRef: {name: reviews}, rules: []}
)");
  EXPECT_FALSE(authorize(*m, "reviews", "default", "spiffe://td/ns/a/sa/b", "GET", "/").allowed);
}

// An opaque TCP connection has no method or path: only rules without `to` admit it.
TEST(AuthorizeTest, AConnectionIsAdmittedOnlyByRulesWithoutOperations) {
  auto m = mesh(kPolicy);
  auto web = authorizeConnection(*m, "reviews", "default", "spiffe://td/ns/default/sa/web");
  EXPECT_FALSE(web.allowed);
  EXPECT_THAT(web.reason, HasSubstr("opaque TCP: only rules without `to` admit it"));
  auto admin = authorizeConnection(*m, "reviews", "default", "spiffe://td/ns/default/sa/admin");
  EXPECT_TRUE(admin.allowed);
  EXPECT_EQ(admin.reason, "AuthorizationPolicy default/callers rules[1]");
  EXPECT_FALSE(authorizeConnection(*m, "reviews", "default", "").allowed);
  EXPECT_TRUE(authorizeConnection(*mesh(""), "reviews", "default", "").allowed);
}

TEST(AuthorizeTest, BadFieldsAreRefusedWithTheirPath) {
  const std::string head = R"(---
apiVersion: weft.dev/v1alpha1
kind: AuthorizationPolicy
metadata: {name: p}
spec:
)";
  EXPECT_THAT(errorOf(head + "  targetRef: {name: reviews}\n"), HasSubstr("spec.rules: required"));
  EXPECT_THAT(errorOf(head + "  targetRef: {name: nope}\n  rules: []\n"),
              HasSubstr("spec.targetRef.name: unknown Service default/nope"));
  EXPECT_THAT(errorOf(head + "  targetRef: {kind: Pod, name: reviews}\n  rules: []\n"),
              HasSubstr("spec.targetRef.kind: 'Pod': only Service"));
  EXPECT_THAT(errorOf(head + "  targetRef: {name: reviews}\n  rules: [{from: [{identities: "
                             "[web]}]}]\n"),
              HasSubstr("spec.rules[0].from[0].identities[0]: not a SPIFFE ID"));
  EXPECT_THAT(errorOf(head + "  targetRef: {name: reviews}\n  rules: [{to: [{methods: [get]}]}]\n"),
              HasSubstr("spec.rules[0].to[0].methods[0]: an HTTP method in upper case"));
  EXPECT_THAT(errorOf(head + "  targetRef: {name: reviews}\n  rules: [{to: [{paths: [api]}]}]\n"),
              HasSubstr("spec.rules[0].to[0].paths[0]: must start with '/'"));
  EXPECT_THAT(errorOf(head + "  targetRef: {name: reviews}\n  rules: [{when: []}]\n"),
              HasSubstr("spec.rules[0].when: unknown field"));
}

}  // namespace
}  // namespace weft::api
