// The admin port (proxy/admin/admin_server.cc) on 127.0.0.1, port 0, with a Beast client on the
// same io_context: /live, /ready following its source, /metrics in Prometheus text with what was
// registered, /config as the JSON of a decoded MeshConfig (checked field by field), HEAD, 404,
// 405, malformed requests, keep-alive, and stop(). The 403 for non-loopback clients on /config
// needs a peer outside 127.0.0.0/8 and is covered by admin_access_test (mayRead) and
// tests/integration/test_admin_access.py.

#include "proxy/admin/admin_server.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "control/api/yaml_decoder.h"
#include "tests/unit/proxy/support/http_test_client.h"

namespace weft::admin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using testutil::fetch;
using testutil::makeRequest;
using testutil::Request;
using testutil::Response;
using testutil::runTask;
namespace bhttp = beast::http;

constexpr char kMeshYaml[] = R"(apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: ratings, namespace: shop}
spec:
  port: 9080
  endpoints:
    - {address: 10.0.0.7:8080, identity: spiffe://cluster.local/ns/shop/sa/ratings, labels: {version: v2}}
---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: ratings-route, namespace: shop}
spec:
  parentRefs: [{name: ratings}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /api}}]
      backendRefs: [{name: ratings}]
)";

class AdminServerTest : public ::testing::Test {
 protected:
  AdminServerTest() {
    auto mesh = api::decodeMeshConfig(kMeshYaml, "mesh.yaml", 3);
    EXPECT_TRUE(mesh.ok()) << mesh.status();
    mesh_ = *mesh;
    absl::Status listening = server_.listen({"127.0.0.1", 0});
    EXPECT_TRUE(listening.ok()) << listening;
    port_ = server_.port();
  }

  Response get(const std::string& target) { return fetch(io_, port_, target); }

  // Several requests on one kept-alive connection, in order; the results, whatever came back.
  std::vector<Response> onOneConnection(const std::vector<Request>& requests) {
    auto task = [](asio::io_context& io, uint16_t port,
                   std::vector<Request> reqs) -> awaitable<std::vector<Response>> {
      std::vector<Response> out;
      testutil::HttpConnection conn(io);
      if (co_await conn.connect(port)) co_return out;
      for (const Request& req : reqs) {
        auto [ec, res] = co_await conn.roundTrip(req);
        if (ec) co_return out;
        out.push_back(std::move(res));
      }
      co_return out;
    };
    return runTask(io_, task(io_, port_, requests)).value_or(std::vector<Response>{});
  }

  // Writes `bytes` on a fresh connection and reads until the server closes it.
  std::optional<std::tuple<error_code, std::string>> raw(const std::string& bytes) {
    auto task = [](asio::io_context& io, uint16_t port,
                   std::string out) -> awaitable<std::tuple<error_code, std::string>> {
      testutil::HttpConnection conn(io);
      if (error_code ec = co_await conn.connect(port)) co_return std::tuple{ec, std::string()};
      if (error_code ec = co_await conn.writeRaw(out)) co_return std::tuple{ec, std::string()};
      co_return co_await conn.readToEnd();
    };
    return runTask(io_, task(io_, port_, bytes));
  }

  asio::io_context io_;
  metrics::Metrics metrics_;
  api::MeshConfigConstSharedPtr mesh_;
  bool ready_ = false;
  AdminServer server_{io_, AdminSources{[this] { return ready_; }, [this] { return mesh_; },
                                        &metrics_, config::AdminDebugAccess::kLoopback}};
  uint16_t port_ = 0;
};

TEST_F(AdminServerTest, ListensOnThePortTheKernelPicked) {
  EXPECT_NE(port_, 0u);
  server_.stop();
  EXPECT_EQ(server_.port(), 0u);
  Response refused = get("/live");
  EXPECT_EQ(refused.result_int(), 0u);
  EXPECT_THAT(refused.body(), HasSubstr("Connection refused"));
}

TEST_F(AdminServerTest, LiveAnswers200) {
  Response res = get("/live");
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body(), "live\n");
  EXPECT_EQ(get("/live?verbose=1").result_int(), 200u);  // a query string is ignored
}

TEST_F(AdminServerTest, ReadyFollowsItsSource) {
  Response before = get("/ready");
  EXPECT_EQ(before.result_int(), 503u);
  EXPECT_EQ(before.body(), "not ready\n");
  ready_ = true;
  Response after = get("/ready");
  EXPECT_EQ(after.result_int(), 200u);
  EXPECT_EQ(after.body(), "ready\n");
  ready_ = false;  // draining
  EXPECT_EQ(get("/ready").result_int(), 503u);
}

TEST_F(AdminServerTest, MetricsArePrometheusTextWithWhatWasRegistered) {
  metrics_.requests().Add({{"direction", "outbound"}, {"authority", "admin-test"}}).Increment(3);
  metrics_.setConfigVersion(42);
  Response res = get("/metrics");
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res[bhttp::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(res.body(), HasSubstr("# TYPE request_total counter\n"));
  EXPECT_THAT(res.body(),
              HasSubstr("\nrequest_total{authority=\"admin-test\",direction=\"outbound\"} 3\n"));
  EXPECT_THAT(res.body(), HasSubstr("\nweft_config_version 42\n"));
}

TEST_F(AdminServerTest, ConfigIsTheMeshAsJson) {
  Response res = get("/config");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_EQ(res[bhttp::field::transfer_encoding], "chunked");
  const nlohmann::json config = nlohmann::json::parse(res.body(), nullptr, false);
  ASSERT_FALSE(config.is_discarded()) << res.body();
  EXPECT_EQ(config["version"], 3);
  EXPECT_EQ(config["source"], "mesh.yaml");
  ASSERT_EQ(config["resources"].size(), 2u);
  const nlohmann::json& service = config["resources"][0];
  EXPECT_EQ(service["apiVersion"], "weft.dev/v1alpha1");
  EXPECT_EQ(service["kind"], "Service");
  EXPECT_EQ(service["metadata"]["name"], "ratings");
  EXPECT_EQ(service["metadata"]["namespace"], "shop");
  EXPECT_EQ(service["spec"]["port"], 9080);
  ASSERT_EQ(service["spec"]["endpoints"].size(), 1u);
  EXPECT_EQ(service["spec"]["endpoints"][0]["address"], "10.0.0.7:8080");
  EXPECT_EQ(service["spec"]["endpoints"][0]["identity"],
            "spiffe://cluster.local/ns/shop/sa/ratings");
  EXPECT_EQ(service["spec"]["endpoints"][0]["labels"]["version"], "v2");
  const nlohmann::json& route = config["resources"][1];
  EXPECT_EQ(route["kind"], "HTTPRoute");
  EXPECT_EQ(route["metadata"]["name"], "ratings-route");
  EXPECT_EQ(route["spec"]["parentRefs"][0]["name"], "ratings");
  const nlohmann::json& rule = route["spec"]["rules"][0];
  EXPECT_EQ(rule["matches"][0]["path"]["type"], "PathPrefix");
  EXPECT_EQ(rule["matches"][0]["path"]["value"], "/api");
  EXPECT_EQ(rule["backendRefs"][0]["name"], "ratings");
  EXPECT_EQ(rule["backendRefs"][0]["namespace"], "shop");
}

TEST_F(AdminServerTest, Http10ConfigEndsWithTheConnection) {
  auto got = raw("GET /config HTTP/1.0\r\nHost: localhost\r\n\r\n");
  ASSERT_TRUE(got.has_value());
  const std::string& text = std::get<1>(*got);
  EXPECT_THAT(text, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(text, Not(HasSubstr("chunked")));
  const size_t body = text.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  const nlohmann::json config = nlohmann::json::parse(text.substr(body + 4), nullptr, false);
  ASSERT_FALSE(config.is_discarded()) << text;
  EXPECT_EQ(config["resources"][0]["metadata"]["name"], "ratings");
}

TEST_F(AdminServerTest, HeadAnswersWithoutABody) {
  ready_ = true;
  // On one connection: had a HEAD sent a body, the next response would not parse.
  std::vector<Response> got = onOneConnection(
      {makeRequest(bhttp::verb::head, "/live"), makeRequest(bhttp::verb::head, "/config"),
       makeRequest(bhttp::verb::head, "/ready"), makeRequest(bhttp::verb::get, "/live")});
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].result_int(), 200u);
  EXPECT_EQ(got[0][bhttp::field::content_length], "5");
  EXPECT_EQ(got[0].body(), "");
  EXPECT_EQ(got[1].result_int(), 200u);
  EXPECT_EQ(got[1][bhttp::field::content_type], "application/json");
  EXPECT_EQ(got[1].body(), "");
  EXPECT_EQ(got[2].result_int(), 200u);
  EXPECT_EQ(got[3].body(), "live\n");
}

TEST_F(AdminServerTest, UnknownPathIs404AndOtherMethods405) {
  Response missing = get("/nope");
  EXPECT_EQ(missing.result_int(), 404u);
  EXPECT_THAT(missing.body(), HasSubstr("no admin endpoint /nope"));
  Response post = fetch(io_, port_, makeRequest(bhttp::verb::post, "/live", "localhost", true));
  EXPECT_EQ(post.result_int(), 405u);
  EXPECT_EQ(post.body(), "admin endpoint /live takes GET, HEAD, not POST\n");
  EXPECT_EQ(post[bhttp::field::allow], "GET, HEAD");
}

TEST_F(AdminServerTest, MalformedRequestGets4xxAndTheConnectionCloses) {
  // The shared HTTP/1.1 codec answers what it cannot take, then closes; others are still served.
  for (const std::string bad : {"GARBAGE\r\n\r\n", "GET /live HTTP/9.9\r\n\r\n",
                                "GET /live HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"}) {
    auto got = raw(bad);
    ASSERT_TRUE(got.has_value()) << bad;
    EXPECT_EQ(std::get<0>(*got), asio::error::eof) << bad;
    EXPECT_THAT(std::get<1>(*got), StartsWith("HTTP/1.1 400")) << bad;
  }
  EXPECT_EQ(get("/live").result_int(), 200u);
}

TEST_F(AdminServerTest, HeadOver8KiBGets431) {
  auto got = raw("GET /live HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(9000, 'x') + "\r\n\r\n");
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(std::get<1>(*got), StartsWith("HTTP/1.1 431"));
}

TEST_F(AdminServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  ready_ = true;
  std::vector<Response> got = onOneConnection(
      {makeRequest(bhttp::verb::get, "/live"), makeRequest(bhttp::verb::get, "/config"),
       makeRequest(bhttp::verb::get, "/nope"), makeRequest(bhttp::verb::get, "/metrics"),
       makeRequest(bhttp::verb::get, "/ready", "localhost", true)});
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].body(), "live\n");
  EXPECT_THAT(got[1].body(), HasSubstr("\"ratings-route\""));
  EXPECT_EQ(got[2].result_int(), 404u);
  EXPECT_THAT(got[3].body(), HasSubstr("# TYPE tcp_open_total counter"));
  EXPECT_EQ(got[4].body(), "ready\n");
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(got[i].keep_alive()) << i;
  EXPECT_FALSE(got[4].keep_alive());
}

}  // namespace
}  // namespace weft::admin
