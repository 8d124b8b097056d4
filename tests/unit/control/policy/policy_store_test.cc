// PolicyStore and parseManifests (control/policy/) on a real FileStore: YAML and JSON reach the
// same checks, a refused apply changes nothing, resourceVersion guards updates, deletes that
// would leave a dangling reference are refused, and what was applied is there after a reopen.

#include "control/policy/policy_store.h"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/ca/refusal.h"
#include "control/store/file_store.h"
#include "tests/unit/identity/test_certs.h"

namespace weft::control::policy {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kMesh[] = R"(apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: reviews}
spec:
  port: 9080
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  parentRefs: [{name: reviews}]
  rules:
    - backendRefs: [{name: reviews, subset: v1, weight: 90}, {name: reviews, subset: v2, weight: 10}]
)";

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::makeTempDir();
    reopen();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void reopen() {
    policies_.reset();
    store_.reset();
    auto s = store::FileStore::open(dir_ + "/store", std::chrono::steady_clock::now());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    policies_ = std::make_unique<PolicyStore>(*store_);
  }
  absl::StatusOr<std::vector<Applied>> apply(std::string_view text, std::string_view source) {
    auto manifests = parseManifests(text, source);
    if (!manifests.ok()) return manifests.status();
    return policies_->apply(*manifests, false);
  }

  std::string dir_;
  std::unique_ptr<store::FileStore> store_;
  std::unique_ptr<PolicyStore> policies_;
};

TEST_F(PolicyStoreTest, ApplyCreatesThenLeavesUnchangedThenConfigures) {
  auto first = apply(kMesh, "mesh.yaml");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].action, "created");
  EXPECT_EQ((*first)[0].resource_version, 1);  // one commit, one revision for both
  EXPECT_EQ((*first)[1].resource_version, 1);

  auto again = apply(kMesh, "mesh.yaml");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].action, "unchanged");
  EXPECT_EQ(store_->revision(), 1);

  std::string changed = kMesh;
  changed.replace(changed.find("weight: 90"), 10, "weight: 50");
  auto third = apply(changed, "mesh.yaml");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ((*third)[0].action, "unchanged");
  EXPECT_EQ((*third)[1].action, "configured");
  EXPECT_EQ((*third)[1].resource_version, 2);

  auto route = policies_->get({"HTTPRoute", "default", "reviews"});
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ((*route)["metadata"]["resourceVersion"], "2");
  EXPECT_EQ((*route)["metadata"]["namespace"], "default");
  EXPECT_EQ((*route)["spec"]["rules"][0]["backendRefs"][0]["weight"], 50);
  auto mesh = policies_->mesh();
  ASSERT_TRUE(mesh.ok()) << mesh.status();
  EXPECT_EQ((*mesh)->services().size(), 1u);
}

TEST_F(PolicyStoreTest, YamlAndJsonGetTheSameChecks) {
  ASSERT_TRUE(apply(kMesh, "mesh.yaml").ok());
  const std::string yaml = R"(apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: ratings}
spec:
  parentRefs: [{name: reviews}]
  rules:
    - backendRefs: [{name: reviews, subset: v3}]
)";
  const json as_json = {
      {"apiVersion", "weft.dev/v1alpha1"},
      {"kind", "HTTPRoute"},
      {"metadata", {{"name", "ratings"}}},
      {"spec",
       {{"parentRefs", {{{"name", "reviews"}}}},
        {"rules", {{{"backendRefs", {{{"name", "reviews"}, {"subset", "v3"}}}}}}}}}};
  auto from_yaml = apply(yaml, "ratings.yaml");
  auto from_json = apply(as_json.dump(), "request body");
  ASSERT_FALSE(from_yaml.ok());
  ASSERT_FALSE(from_json.ok());
  EXPECT_EQ(std::string(from_yaml.status().message()),
            "ratings.yaml:7: spec.rules[0].backendRefs[0].subset: Service default/reviews has no "
            "subset 'v3' (subsets: v1, v2)");
  EXPECT_EQ(std::string(from_json.status().message()),
            "request body: spec.rules[0].backendRefs[0].subset: Service default/reviews has no "
            "subset 'v3' (subsets: v1, v2)");
  EXPECT_EQ(reasonOf(from_json.status()), "invalid_resource");

  // An unknown field, in both.
  auto unknown = apply(R"({"apiVersion": "weft.dev/v1alpha1", "kind": "Service",
      "metadata": {"name": "x"}, "spec": {"port": 80, "prot": 1}})",
                       "request body");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("request body: spec"));
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("prot"));
  EXPECT_EQ(store_->revision(), 1);  // nothing written
}

TEST_F(PolicyStoreTest, ARefusedApplyOfSeveralChangesNothing) {
  ASSERT_TRUE(apply(kMesh, "mesh.yaml").ok());
  // A good Service and a route with all weights zero, in one apply.
  auto bad = apply(R"(apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: ratings}
spec: {port: 9080}
---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  parentRefs: [{name: reviews}]
  rules: [{backendRefs: [{name: reviews, subset: v1, weight: 0}]}]
)",
                   "two.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("two.yaml:11"));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("weights add up to 0"));
  EXPECT_FALSE(policies_->get({"Service", "default", "ratings"}).has_value());
  EXPECT_EQ(store_->revision(), 1);
}

TEST_F(PolicyStoreTest, AStaleResourceVersionIsAConflict) {
  ASSERT_TRUE(apply(kMesh, "mesh.yaml").ok());
  json route = *policies_->get({"HTTPRoute", "default", "reviews"});
  route["spec"]["rules"][0]["backendRefs"][0]["weight"] = 0;
  ASSERT_TRUE(apply(route.dump(), "split").ok());  // resourceVersion 1: current
  route["spec"]["rules"][0]["backendRefs"][0]["weight"] = 5;
  auto stale = apply(route.dump(), "split");  // still says 1
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(absl::IsAborted(stale.status()));
  EXPECT_EQ(reasonOf(stale.status()), "conflict");
  EXPECT_THAT(std::string(stale.status().message()),
              HasSubstr("HTTPRoute default/reviews: resourceVersion 1 is stale (now 2)"));
  route["metadata"]["resourceVersion"] = "abc";
  auto garbage = apply(route.dump(), "split");
  EXPECT_THAT(std::string(garbage.status().message()),
              HasSubstr("metadata.resourceVersion: must be a number"));
}

TEST_F(PolicyStoreTest, ADeleteThatWouldLeaveADanglingReferenceIsRefused) {
  ASSERT_TRUE(apply(kMesh, "mesh.yaml").ok());
  auto in_use = policies_->remove({"Service", "default", "reviews"}, std::nullopt);
  ASSERT_FALSE(in_use.ok());
  EXPECT_EQ(reasonOf(in_use.status()), "in_use");
  EXPECT_THAT(std::string(in_use.status().message()),
              HasSubstr("HTTPRoute default/reviews: spec.parentRefs[0].name: unknown Service "
                        "default/reviews"));
  EXPECT_EQ(reasonOf(policies_->remove({"Service", "default", "nope"}, std::nullopt).status()),
            "not_found");
  EXPECT_EQ(reasonOf(policies_->remove({"HTTPRoute", "default", "reviews"}, 7).status()),
            "conflict");
  ASSERT_TRUE(policies_->remove({"HTTPRoute", "default", "reviews"}, 1).ok());
  ASSERT_TRUE(policies_->remove({"Service", "default", "reviews"}, std::nullopt).ok());
  EXPECT_TRUE(policies_->list("", "").empty());
}

TEST_F(PolicyStoreTest, WhatWasAppliedIsThereAfterAReopen) {
  ASSERT_TRUE(apply(kMesh, "mesh.yaml").ok());
  reopen();
  auto all = policies_->list("", "");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["kind"], "Service");  // kinds in their own order, not alphabetical
  EXPECT_EQ(all[1]["kind"], "HTTPRoute");
  EXPECT_EQ(policies_->list("HTTPRoute", "other").size(), 0u);
}

TEST(ManifestsTest, JsonListsAndArraysAndEmptyInput) {
  const json svc = {{"apiVersion", "weft.dev/v1alpha1"},
                    {"kind", "Service"},
                    {"metadata", {{"name", "a"}, {"resourceVersion", "3"}}},
                    {"spec", {{"port", 80}}}};
  auto list = parseManifests(json{{"kind", "List"}, {"items", {svc, svc}}}.dump(), "body");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].document.source, "body: items[1]");
  EXPECT_EQ((*list)[0].resource_version, 3);
  EXPECT_FALSE((*list)[0].object["metadata"].contains("resourceVersion"));
  EXPECT_EQ((*list)[0].key.describe(), "Service default/a");
  auto array = parseManifests(json::array({svc}).dump(), "body");
  ASSERT_TRUE(array.ok());
  EXPECT_FALSE(parseManifests("  \n", "empty.yaml").ok());
  EXPECT_FALSE(parseManifests("# only a comment\n---\n", "c.yaml").ok());
  EXPECT_THAT(std::string(parseManifests("{nope", "body").status().message()),
              HasSubstr("body: invalid JSON"));
}

}  // namespace
}  // namespace weft::control::policy
