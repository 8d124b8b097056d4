// MeshSnapshot (control/push/mesh_snapshot.h): registered endpoints merge into their Service,
// content versions change exactly with content, and a proxy's scope is its namespace, its
// egress and everything their routes refer to — never the rest of the mesh.

#include "control/push/mesh_snapshot.h"

#include <gtest/gtest.h>

namespace weft::control::push {
namespace {

using nlohmann::json;

json service(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "weft.dev/v1alpha1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", "3"}}},
          {"spec", {{"port", 80}}}};
}

json route(const std::string& ns, const std::string& name, const std::string& parent,
           const json& backends) {
  return {
      {"apiVersion", "weft.dev/v1alpha1"},
      {"kind", "HTTPRoute"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"spec", {{"parentRefs", {{{"name", parent}}}}, {"rules", {{{"backendRefs", backends}}}}}}};
}

std::vector<json> mesh() {
  return {service("shop", "web"), service("shop", "cart"), service("pay", "ledger"),
          service("pay", "audit"), service("other", "far"),
          // cart's route sends to pay/ledger: a shop proxy needs ledger too.
          route("shop", "cart", "cart", {{{"name", "ledger"}, {"namespace", "pay"}}}),
          route("pay", "ledger", "ledger", {{{"name", "ledger"}}})};
}

TEST(MeshSnapshotTest, ScopeIsTheNamespaceItsEgressAndWhatTheirRoutesReferTo) {
  auto snap = buildSnapshot(mesh(), {}, "7");
  EXPECT_EQ(snap->version, "7");
  api::push::Node shop{"web", "shop", {}, "", {}};
  EXPECT_EQ(snap->scope(shop),
            (std::set<std::string>{"Service/shop/web", "Service/shop/cart", "HTTPRoute/shop/cart",
                                   "Service/pay/ledger", "HTTPRoute/pay/ledger"}));
  api::push::Node far{"x", "other", {}, "", {"pay/audit", "nope/missing"}};
  EXPECT_EQ(snap->scope(far), (std::set<std::string>{"Service/other/far", "Service/pay/audit"}));
  api::push::Node empty{"x", "nobody", {}, "", {}};
  EXPECT_TRUE(snap->scope(empty).empty());
}

TEST(MeshSnapshotTest, RegisteredEndpointsJoinTheirServiceAndChangeItsVersion) {
  auto before = buildSnapshot(mesh(), {}, "1");
  auto after = buildSnapshot(
      mesh(),
      {{"cart", "shop", "10.0.0.5:15006", "spiffe://td/ns/shop/sa/cart", {{"version", "v2"}}},
       {"ghost", "shop", "10.0.0.6:15006", "spiffe://td/ns/shop/sa/ghost", {}}},
      "2");
  const json& cart = after->resources.at("Service/shop/cart").object;
  ASSERT_EQ(cart["spec"]["endpoints"].size(), 1u);
  EXPECT_EQ(cart["spec"]["endpoints"][0], json({{"address", "10.0.0.5:15006"},
                                                {"identity", "spiffe://td/ns/shop/sa/cart"},
                                                {"labels", {{"version", "v2"}}}}));
  EXPECT_FALSE(cart["metadata"].contains("resourceVersion"));
  EXPECT_NE(before->resources.at("Service/shop/cart").version,
            after->resources.at("Service/shop/cart").version);
  EXPECT_EQ(before->resources.at("Service/shop/web").version,
            after->resources.at("Service/shop/web").version);
  EXPECT_FALSE(after->resources.contains("Service/shop/ghost"));  // not a Service of the mesh
}

}  // namespace
}  // namespace weft::control::push
