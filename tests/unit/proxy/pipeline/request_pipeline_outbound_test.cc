// The outbound RequestPipelineImpl to mTLS peers: the app's HTTP/1.1 request comes through the
// real server codec (pipeline_fixture.h) and goes to peer sidecars on 127.0.0.1 that are TLS
// listeners with credentials from tests/unit/identity/test_certs.h (speaking HTTP/1.1: they
// decline ALPN h2). Covers a retry that avoids the endpoint that just failed, and a per-try
// timeout that ends every try of a request.

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "identity/credentials.h"
#include "net/tls_stream.h"
#include "tests/unit/identity/test_certs.h"
#include "tests/unit/proxy/pipeline/pipeline_fixture.h"

namespace weft::pipeline {
namespace {

using pipelinetest::PipelineFixture;

constexpr char kTrustDomain[] = "cluster.local";
constexpr char kBackendId[] = "spiffe://cluster.local/ns/default/sa/backend";

// Declines every ALPN protocol: the proxy's connection to the peer speaks HTTP/1.1.
int noAlpn(SSL*, const unsigned char**, unsigned char*, const unsigned char*, unsigned int, void*) {
  return SSL_TLSEXT_ERR_NOACK;
}

// A peer sidecar: accepts mTLS connections and counts the requests it reads; answers each with
// 200 "peer", or never (`answer` false).
class TlsPeer {
 public:
  TlsPeer(asio::io_context& io, asio::ssl::context& context, bool answer)
      : io_(io),
        context_(context),
        answer_(answer),
        acceptor_(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)) {
    asio::co_spawn(io_, acceptLoop(), asio::detached);
  }
  ~TlsPeer() {
    error_code ignored;
    acceptor_.close(ignored);
    for (TlsStream* s : open_) beast::get_lowest_layer(*s).close(ignored);
    io_.restart();
    io_.poll();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int requests = 0;

 private:
  awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      asio::co_spawn(io_, serve(Socket(std::move(socket))), asio::detached);
    }
  }

  awaitable<void> serve(Socket socket) {
    TlsStream tls(std::move(socket), context_);
    open_.push_back(&tls);
    auto [hec] = co_await tls.handshake(TlsStream::Role::kServer);
    std::string got;
    char buffer[4096];
    while (!hec) {
      auto [ec, n] = co_await tls.readSome(asio::buffer(buffer));
      got.append(buffer, n);
      if (ec) break;
      for (size_t end; (end = got.find("\r\n\r\n")) != std::string::npos;) {
        got.erase(0, end + 4);
        ++requests;
        if (answer_) {
          co_await tls.writeAll(
              asio::buffer(std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\npeer")));
        }
      }
    }
    std::erase(open_, &tls);
  }

  asio::io_context& io_;
  asio::ssl::context& context_;
  bool answer_;
  asio::basic_socket_acceptor<tcp, Executor> acceptor_;
  std::vector<TlsStream*> open_;
};

class OutboundPipelineTest : public PipelineFixture {
 protected:
  OutboundPipelineTest() {
    dir_ = testutil::makeTempDir();
    ca_key_ = testutil::makeKey();
    ca_ = testutil::makeCert({"ca", {}, {}, true}, ca_key_.get());
    proxy_creds_ = credentials("web");
    peer_creds_ = credentials("backend");
    SSL_CTX_set_alpn_select_cb(peer_creds_->serverContext().native_handle(), &noAlpn, nullptr);
  }
  ~OutboundPipelineTest() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<const identity::Credentials> credentials(const std::string& name) {
    auto key = testutil::makeKey();
    const std::string id = "spiffe://cluster.local/ns/default/sa/" + name;
    auto cert = testutil::makeCert({name, {id}, {}, false}, key.get(), ca_.get(), ca_key_.get());
    const std::string base = dir_ + "/" + name;
    testutil::writeFile(base + ".pem", testutil::certPem(cert.get()));
    testutil::writeFile(base + "-key.pem", testutil::keyPem(key.get()));
    testutil::writeFile(base + "-ca.pem", testutil::certPem(ca_.get()));
    auto creds = identity::Credentials::load({base + ".pem", base + "-key.pem", base + "-ca.pem"},
                                             kTrustDomain, id);
    EXPECT_TRUE(creds.ok()) << creds.status();
    return creds.ok() ? *creds : nullptr;
  }

  static std::string endpoint(uint16_t port) {
    return "    - {address: 127.0.0.1:" + std::to_string(port) + ", identity: " + kBackendId +
           "}\n";
  }

  // A Service `name` with `endpoints`, an HTTPRoute to it with `rule_extra` on its one rule, and
  // a DestinationPolicy without outlier detection (no endpoint leaves the balancer here).
  static std::string service(const std::string& name, const std::string& endpoints,
                             const std::string& rule_extra) {
    return "apiVersion: weft.dev/v1alpha1\nkind: Service\nmetadata: {name: " + name +
           ", namespace: default}\nspec:\n  port: 80\n  endpoints:\n" + endpoints +
           "---\napiVersion: weft.dev/v1alpha1\nkind: HTTPRoute\nmetadata: {name: " + name +
           "-route, namespace: default}\nspec:\n  parentRefs: [{name: " + name +
           "}]\n  rules:\n    - backendRefs: [{name: " + name + "}]\n      " + rule_extra +
           "\n---\napiVersion: weft.dev/v1alpha1\nkind: DestinationPolicy\nmetadata: {name: " +
           name + ", namespace: default}\nspec:\n  targetRef: {name: " + name +
           "}\n  outlierDetection: {consecutive5xx: 0, consecutiveGatewayErrors: 0}\n";
  }

  void startOutbound(const std::string& yaml) {
    start(false, yaml, http::DownstreamInfo{}, proxy_creds_);
    ctx_->random.reseed(20240611);  // the balancer's draws are the same on every run
  }

  std::string dir_;
  testutil::PkeyPtr ca_key_;
  testutil::X509Ptr ca_;
  std::shared_ptr<const identity::Credentials> proxy_creds_, peer_creds_;
};

uint16_t closedPort() {
  asio::io_context io;
  tcp::acceptor closed(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
  return closed.local_endpoint().port();  // listening a moment ago, not any more
}

TEST_F(OutboundPipelineTest, RetryAfterAConnectFailureAvoidsTheEndpointThatFailed) {
  TlsPeer peer(io_, peer_creds_->serverContext(), true);
  const uint16_t down = closedPort();
  startOutbound(service("backend", endpoint(down) + endpoint(peer.port()),
                        "retry: {attempts: 1, on: [connect-failure]}"));
  // One retry each: a retry that went back to the refusing endpoint would fail the request.
  constexpr int kRequests = 12;
  for (int i = 0; i < kRequests; ++i) {
    send("GET /r HTTP/1.1\r\nHost: backend\r\n\r\n");
    auto r = response();
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->head.starts_with("HTTP/1.1 200 OK\r\n")) << "request " << i << ": " << r->head;
    EXPECT_EQ(r->body, "peer");
  }
  EXPECT_EQ(peer.requests, kRequests);
  // The refusing endpoint was tried first some of the time, and each time the retry went on.
  const double retries =
      metric(R"(retry_total{dst_service="backend.default",reason="connect-failure"})");
  EXPECT_GE(retries, 1);
  EXPECT_LT(retries, kRequests);
}

TEST_F(OutboundPipelineTest, PerTryTimeoutEndsEachTryAndTheLastOneIs504) {
  TlsPeer silent(io_, peer_creds_->serverContext(), false);
  startOutbound(service("slow", endpoint(silent.port()),
                        "retry: {attempts: 1, perTryTimeout: 200ms, on: [reset]}"));
  // The peer never answers and --read-timeout is 60 s: only the per-try deadline ends a try.
  send("GET /wait HTTP/1.1\r\nHost: slow\r\n\r\n");
  auto r = response();
  ASSERT_TRUE(r);
  const std::string reason = "upstream 127.0.0.1:" + std::to_string(silent.port()) +
                             ": timed out waiting for the response";
  EXPECT_TRUE(
      r->head.starts_with("HTTP/1.1 504 Gateway Timeout\r\nx-weft-error: " + reason + "\r\n"))
      << r->head;
  EXPECT_EQ(r->body, reason + "\n");
  EXPECT_EQ(metric(R"(retry_total{dst_service="slow.default",reason="timeout"})"), 1);
}

}  // namespace
}  // namespace weft::pipeline
