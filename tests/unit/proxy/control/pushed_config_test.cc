// PushedConfig (proxy/control/pushed_config.h): an update is applied whole or not at all, a
// refused one leaves what was held, --max-services is enforced, and the cache brings the last
// good config back.

#include "proxy/control/pushed_config.h"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/identity/test_certs.h"

namespace weft::proxy::control {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

api::push::Resource service(const std::string& name, int port = 80) {
  json object = {{"apiVersion", "weft.dev/v1alpha1"},
                 {"kind", "Service"},
                 {"metadata", {{"name", name}, {"namespace", "default"}}},
                 {"spec", {{"port", port}}}};
  return {"Service/default/" + name, api::push::contentVersion(object), object};
}

api::push::Resource routeTo(const std::string& backend) {
  json object = {
      {"apiVersion", "weft.dev/v1alpha1"},
      {"kind", "HTTPRoute"},
      {"metadata", {{"name", "r"}, {"namespace", "default"}}},
      {"spec",
       {{"parentRefs", {{{"name", "a"}}}}, {"rules", {{{"backendRefs", {{{"name", backend}}}}}}}}}};
  return {"HTTPRoute/default/r", api::push::contentVersion(object), object};
}

api::push::Resource withEndpoints(api::push::Resource r,
                                  const std::vector<std::string>& addresses) {
  json endpoints = json::array();
  for (const std::string& a : addresses) {
    endpoints.push_back({{"address", a}, {"identity", "spiffe://cluster.local/ns/default/sa/a"}});
  }
  r.object["spec"]["endpoints"] = endpoints;
  r.version = api::push::contentVersion(r.object);
  return r;
}

// An update that changes only Services' endpoints is told apart from every other kind of change:
// the proxy then keeps its route table and updates those destinations in place.
TEST(PushedConfigTest, EndpointOnlyChangesAreToldApart) {
  PushedConfig c;
  EXPECT_FALSE(c.endpointChanges({"1", "1", {service("a")}, {}}).has_value());  // nothing held
  ASSERT_TRUE(c.apply({"1",
                       "1",
                       {withEndpoints(service("a"), {"127.0.0.1:1"}), service("b"), routeTo("a")},
                       {}})
                  .ok());
  auto changes = c.endpointChanges({"2",
                                    "2",
                                    {withEndpoints(service("a"), {"127.0.0.1:1", "127.0.0.1:2"}),
                                     withEndpoints(service("b"), {"127.0.0.1:3"})},
                                    {}});
  ASSERT_TRUE(changes.has_value());
  EXPECT_THAT(*changes, ::testing::ElementsAre("default/a", "default/b"));
  // Anything else is a full update: another field of a Service, another kind, a new Service, a
  // removal.
  EXPECT_FALSE(c.endpointChanges({"3", "3", {withEndpoints(service("a", 81), {})}, {}}));
  EXPECT_FALSE(c.endpointChanges({"3", "3", {routeTo("b")}, {}}));
  EXPECT_FALSE(c.endpointChanges({"3", "3", {service("c")}, {}}));
  EXPECT_FALSE(c.endpointChanges({"3", "3", {}, {"Service/default/b"}}));
}

TEST(PushedConfigTest, AnUpdateIsAppliedWholeOrNotAtAll) {
  PushedConfig c;
  EXPECT_TRUE(c.empty());
  auto mesh = c.apply({"5", "1", {service("a"), routeTo("a")}, {}});
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  EXPECT_EQ((*mesh)->version(), 5u);
  EXPECT_EQ(c.held().size(), 2u);
  // A route to a Service it does not hold: refused, nothing changes.
  auto bad = c.apply({"6", "2", {routeTo("missing")}, {}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("unknown Service default/missing"));
  EXPECT_EQ(c.version(), "5");
  EXPECT_EQ(c.held().at("HTTPRoute/default/r"), routeTo("a").version);
  // Removing a Service its route still needs: refused too.
  EXPECT_FALSE(c.apply({"7", "3", {}, {"Service/default/a"}}).ok());
  // A key that does not match its object.
  api::push::Resource lying = service("b");
  lying.key = "Service/default/c";
  EXPECT_THAT(std::string(c.apply({"8", "4", {lying}, {}}).status().message()),
              HasSubstr("its object is Service/default/b"));
  auto more = c.apply({"9", "5", {service("b")}, {}}, 1);
  EXPECT_THAT(std::string(more.status().message()),
              HasSubstr("2 Services in scope, over --max-services 1"));
  ASSERT_TRUE(c.apply({"9", "5", {service("b")}, {}}, 2).ok());
  EXPECT_EQ(c.version(), "9");
}

TEST(PushedConfigTest, TheCacheBringsBackTheLastGoodConfig) {
  const std::string dir = testutil::makeTempDir();
  PushedConfig c;
  ASSERT_TRUE(c.apply({"5", "1", {service("a", 8080)}, {}}).ok());
  ASSERT_TRUE(c.save(dir).ok());
  EXPECT_EQ(
      std::filesystem::status(dir + "/config.json").permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  PushedConfig restarted;
  auto mesh = restarted.load(dir);
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  EXPECT_EQ((*mesh)->services().front().port, 8080);
  EXPECT_EQ(restarted.version(), "5");
  EXPECT_EQ(restarted.held(), c.held());
  PushedConfig none;
  EXPECT_TRUE(absl::IsNotFound(none.load(dir + "/nope").status()));
  // A cache whose fields have the wrong types is refused, not thrown on.
  for (const char* bad :
       {R"({"version": 5, "resources": []})",
        R"({"version": "5", "resources": [{"key": 1, "version": "v", "object": {}}]})",
        R"({"version": "5", "resources": [{"key": "k", "object": {}}]})"}) {
    std::ofstream(dir + "/config.json", std::ios::trunc) << bad;
    EXPECT_TRUE(absl::IsDataLoss(none.load(dir).status())) << bad;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace weft::proxy::control
