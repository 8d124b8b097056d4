// RequestPipelineImpl driven through the real HTTP/1.1 server codec over a socket pair
// (pipeline_fixture.h). Inbound: the request reaches the app (a raw-socket listener on
// 127.0.0.1) with the client's x-weft-peer-identity replaced by the verified one, bodies stream
// byte for byte both ways, an app that is down or hangs up becomes the documented 503 / 502 with
// x-weft-error, and the golden metrics count each exchange. Outbound routing failures that need
// no upstream: unknown authority, no matching rule, no endpoints.

#include "proxy/pipeline/request_pipeline.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/unit/net/loopback.h"
#include "tests/unit/proxy/pipeline/pipeline_fixture.h"

namespace weft::pipeline {
namespace {

using pipelinetest::PipelineFixture;

constexpr char kCaller[] = "spiffe://cluster.local/ns/default/sa/caller";

// A Service `backend` whose HTTPRoute takes only /api, and a Service `empty` without endpoints.
constexpr char kMesh[] = R"(apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: backend, namespace: default}
spec:
  port: 80
  endpoints:
    - {address: 127.0.0.1:9, identity: spiffe://cluster.local/ns/default/sa/backend}
---
apiVersion: weft.dev/v1alpha1
kind: HTTPRoute
metadata: {name: backend-api, namespace: default}
spec:
  parentRefs: [{name: backend}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /api}}]
      backendRefs: [{name: backend}]
---
apiVersion: weft.dev/v1alpha1
kind: Service
metadata: {name: empty, namespace: default}
spec:
  port: 80
)";

class InboundPipelineTest : public PipelineFixture {
 protected:
  // Serves a connection that came from a peer sidecar whose certificate said kCaller, with the
  // app at `app`.
  void startInbound(api::HostPort app) {
    options_.app = std::move(app);
    start(true, kMesh,
          http::DownstreamInfo{.inbound = true, .tls = true, .peer_identity = kCaller});
  }

  testutil::LoopbackApp app_{io_};
};

TEST_F(InboundPipelineTest, ClientSentIdentityIsReplacedByTheVerifiedOne) {
  startInbound(app_.address());
  send(
      "GET /who HTTP/1.1\r\nHost: web\r\nX-Weft-Peer-Identity: spiffe://cluster.local/ns/x/sa/evil"
      "\r\nX-Weft-Orig-Proto: HTTP/1.1\r\nAccept: */*\r\n\r\n");
  runUntil([&] { return app_.received(0, "\r\n\r\n"); });
  // Exactly one identity header, the one the handshake verified; the hop header is gone.
  EXPECT_EQ(app_.conns.at(0)->received,
            "GET /who HTTP/1.1\r\nhost: web\r\naccept: */*\r\nx-weft-peer-identity: " +
                std::string(kCaller) + "\r\n\r\n");
  app_.reply(0, "HTTP/1.1 204 No Content\r\n\r\n");
  runUntil([&] { return from_proxy_.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(from_proxy_, "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST_F(InboundPipelineTest, BodiesStreamThroughByteForByte) {
  startInbound(app_.address());
  const std::string upload = testutil::pattern(40000, 'u');
  send("POST /upload HTTP/1.1\r\nHost: web\r\nContent-Length: 40000\r\n\r\n" + upload);
  runUntil([&] { return app_.received(0, upload); });
  const std::string& got = app_.conns.at(0)->received;
  EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), upload);
  // The response leaves the proxy as it arrives: the first half reaches the client before the
  // app has sent the second.
  const std::string download = testutil::pattern(200000, 'd');
  app_.reply(0, "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\nX-App: v1\r\n\r\n" +
                    download.substr(0, 100000));
  runUntil([&] { return from_proxy_.size() >= 100000; });
  ASSERT_GE(from_proxy_.size(), 100000u);
  app_.reply(0, download.substr(100000));
  auto r = response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->head, "HTTP/1.1 200 OK\r\nx-app: v1\r\ncontent-length: 200000\r\n\r\n");
  EXPECT_TRUE(r->body == download) << "body differs (" << r->body.size() << " bytes)";
}

TEST_F(InboundPipelineTest, UnreachableAppIs503NamingItsAddress) {
  const api::HostPort down = [] {
    asio::io_context io;
    tcp::acceptor closed(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    return api::HostPort{"127.0.0.1", closed.local_endpoint().port()};
  }();  // was listening a moment ago, not any more
  startInbound(down);
  send("GET /x HTTP/1.1\r\nHost: web\r\n\r\n");
  auto r = response();
  ASSERT_TRUE(r);
  const std::string reason = "app connect failed: 127.0.0.1:" + std::to_string(down.port) +
                             ": connect: Connection refused";
  EXPECT_EQ(r->head, "HTTP/1.1 503 Service Unavailable\r\nx-weft-error: " + reason +
                         "\r\ncontent-type: text/plain\r\ncontent-length: " +
                         std::to_string(reason.size() + 1) + "\r\n\r\n");
  EXPECT_EQ(r->body, reason + "\n");
}

TEST_F(InboundPipelineTest, AppThatHangsUpAfterReadingTheRequestIs502) {
  startInbound(app_.address());
  send("POST /charge HTTP/1.1\r\nHost: web\r\nContent-Length: 2\r\n\r\nok");
  runUntil([&] { return app_.received(0, "\r\n\r\nok"); });
  app_.close(0);
  auto r = response();
  ASSERT_TRUE(r);
  const std::string reason =
      "app closed before response headers: " + app_.addressText() + ": end of stream";
  EXPECT_TRUE(r->head.starts_with("HTTP/1.1 502 Bad Gateway\r\nx-weft-error: " + reason + "\r\n"))
      << r->head;
  EXPECT_EQ(app_.conns.size(), 1u);  // a POST that reached the app is never sent again
}

TEST_F(InboundPipelineTest, GoldenMetricsCountEachExchange) {
  startInbound(app_.address());
  for (int i = 0; i < 2; ++i) {
    send("GET /ok HTTP/1.1\r\nHost: web\r\n\r\n");
    runUntil([&] { return app_.conns.size() == 1 && app_.conns[0]->received.size() > 0; });
    app_.reply(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    ASSERT_TRUE(response());
    app_.conns[0]->received.clear();  // the next request comes on the same pooled connection
  }
  send("GET /fail HTTP/1.1\r\nHost: web\r\n\r\n");
  runUntil([&] { return app_.received(0, "/fail"); });
  app_.reply(0, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(response());
  // Labels in the exposition's (sorted) order.
  const std::string target = R"(direction="inbound",dst_service="web.default",)";
  EXPECT_EQ(metric(R"(request_total{authority="web",)" + target + R"(tls="true"})"), 3);
  EXPECT_EQ(metric(R"(response_total{authority="web",classification="success",)" + target +
                   R"(status_code="200",tls="true"})"),
            2);
  const std::string failed = R"(response_total{authority="web",classification="failure",)" +
                             target + R"(status_code="500",tls="true"})";
  runUntil([&] { return metric(failed) == 1; });  // counted once the handler has returned
  EXPECT_EQ(metric(failed), 1);
}

class OutboundRoutingTest : public PipelineFixture {
 protected:
  void SetUp() override { start(false, kMesh, http::DownstreamInfo{}); }

  // The proxy's own error reply to the client.
  void expectLocalReply(const std::string& status_line, const std::string& reason) {
    auto r = response();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->head.starts_with(status_line + "\r\nx-weft-error: " + reason + "\r\n"))
        << r->head;
    EXPECT_EQ(r->body, reason + "\n");
  }
};

TEST_F(OutboundRoutingTest, UnknownAuthorityIs404) {
  send("GET / HTTP/1.1\r\nHost: nowhere.default\r\n\r\n");
  expectLocalReply("HTTP/1.1 404 Not Found", "unknown service: nowhere.default");
  // Counted once the handler has returned, which may be just after the client read the reply.
  const std::string series =
      R"(response_total{authority="nowhere.default",classification="failure",direction="outbound",)"
      R"(dst_service="unknown",dst_subset="",route="",status_code="404",tls="false"})";
  runUntil([&] { return metric(series) == 1; });
  EXPECT_EQ(metric(series), 1);
}

TEST_F(OutboundRoutingTest, NoMatchingRuleIs404NamingTheService) {
  send("GET /other HTTP/1.1\r\nHost: backend\r\n\r\n");
  expectLocalReply("HTTP/1.1 404 Not Found",
                   "no route matched: GET /other to service backend.default");
}

TEST_F(OutboundRoutingTest, ServiceWithoutEndpointsIs503) {
  send("GET / HTTP/1.1\r\nHost: empty.default.svc.cluster.local\r\n\r\n");
  expectLocalReply("HTTP/1.1 503 Service Unavailable", "no endpoints for service empty.default");
  // The connection stays usable: the next request is routed as well.
  send("GET /x HTTP/1.1\r\nHost: nowhere\r\n\r\n");
  expectLocalReply("HTTP/1.1 404 Not Found", "unknown service: nowhere");
}

}  // namespace
}  // namespace weft::pipeline
