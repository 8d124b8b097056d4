// A real Worker (proxy/server/worker.cc) on its own thread, bound on 127.0.0.1 ports: a request
// from the test's client goes in at its outbound port, out over mTLS to its own inbound port (the
// one endpoint of the Service) and on to a test app. Routes posted from the test thread apply to
// the next requests, drain() closes idle connections until none is left, stop() joins and cuts
// what is still open.

#include "proxy/server/worker.h"

#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/api/yaml_decoder.h"
#include "tests/unit/proxy/router/route_test_util.h"
#include "tests/unit/proxy/support/http_test_client.h"
#include "tests/unit/proxy/support/test_workloads.h"

namespace weft::proxy {
namespace {

using ::testing::HasSubstr;
using testutil::fetch;
using testutil::runTask;
using testutil::runUntil;
namespace bhttp = beast::http;

// An HTTP/1.1 app on 127.0.0.1 served by the test's io_context: answers "<path> from
// <x-weft-peer-identity>", or, while `hold`, keeps the request unanswered until the proxy closes.
class TestApp {
 public:
  explicit TestApp(asio::io_context& io)
      : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)) {
    asio::co_spawn(io_, acceptLoop(), asio::detached);
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  bool hold = false;
  int requests = 0;
  int held = 0;  // requests held and still open
  bool cut = false;

 private:
  awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(io_, kUseTuple);
      if (ec) co_return;
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  awaitable<void> serve(Socket socket) {
    PlainStream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> req;
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, req, kUseTuple);
      if (ec) co_return;
      ++requests;
      if (hold) {
        ++held;
        char byte;
        auto [rec, rn] = co_await stream.async_read_some(asio::buffer(&byte, 1), kUseTuple);
        --held;
        cut = rec.failed();
        co_return;
      }
      bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
      res.body() = std::string(req.target()) + " from " + std::string(req["x-weft-peer-identity"]);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await bhttp::async_write(stream, res, kUseTuple);
      if (wec) co_return;
    }
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
};

router::RouteTableConstSharedPtr routes(const std::string& yaml, uint64_t version) {
  return router::testing::tableFromYaml(yaml, version);
}

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() {
    options_.service = "backend";
    options_.outbound = {"127.0.0.1", outbound_.port()};
    options_.inbound = {"127.0.0.1", inbound_.port()};
    options_.app = {"127.0.0.1", app_.port()};
  }

  // Binds and starts the worker with no Services, or fails the test.
  void start() {
    worker_ = std::make_unique<Worker>(options_, metrics_, routes("", 0), creds_);
    ASSERT_TRUE(worker_->bind().ok());
    outbound_.close();
    inbound_.close();
    ASSERT_TRUE(worker_->start().ok());
  }

  // The Service `backend` with the worker's own inbound port as its one endpoint.
  std::string backendYaml() const {
    return "apiVersion: weft.dev/v1alpha1\nkind: Service\n"
           "metadata: {name: backend, namespace: default}\nspec:\n  port: 80\n  endpoints:\n"
           "    - {address: 127.0.0.1:" +
           std::to_string(options_.inbound.port) +
           ", identity: " + testutil::TestCa::identityOf("backend") + "}\n";
  }

  // Fetches http://backend/<path> until the answer is other than `while_status` (the worker has
  // not taken the posted routes yet) or 5 s pass.
  testutil::Response fetchOnceRouted(const std::string& path, unsigned while_status = 404) {
    const auto until = std::chrono::steady_clock::now() + testutil::kWaitLimit;
    testutil::Response res;
    do {
      res = fetch(io_, options_.outbound.port, path, "backend");
    } while (res.result_int() == while_status && std::chrono::steady_clock::now() < until);
    return res;
  }

  asio::io_context io_;  // the test's client and the app
  testutil::TestCa ca_;
  std::shared_ptr<const identity::Credentials> creds_ = ca_.credentials("backend");
  testutil::PortReservation outbound_{io_, true}, inbound_{io_, true};
  TestApp app_{io_};
  config::Options options_;
  metrics::Metrics metrics_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerTest, ServesARequestThroughItsListenersToTheApp) {
  start();
  testutil::Response unknown = fetch(io_, options_.outbound.port, "/hello", "backend");
  EXPECT_EQ(unknown.result_int(), 404u) << unknown.body();
  EXPECT_THAT(unknown.body(), HasSubstr("unknown service: backend"));
  EXPECT_EQ(app_.requests, 0);

  // Posted from this thread; it applies to the requests the worker takes after it.
  worker_->updateRoutes(routes(backendYaml(), 1));
  testutil::Response res = fetchOnceRouted("/hello");
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(res.body(), "/hello from " + testutil::TestCa::identityOf("backend"));
  EXPECT_EQ(app_.requests, 1);

  // And a config without the Service again: back to 404 once the worker has taken it, and from
  // then on the app sees nothing more.
  worker_->updateRoutes(routes("", 0));
  testutil::Response gone = fetchOnceRouted("/again", 200);
  EXPECT_EQ(gone.result_int(), 404u) << gone.body();
  const int seen = app_.requests;
  EXPECT_EQ(fetch(io_, options_.outbound.port, "/later", "backend").result_int(), 404u);
  EXPECT_EQ(app_.requests, seen);
}

TEST_F(WorkerTest, DrainClosesIdleConnectionsAndStopsAccepting) {
  start();
  worker_->updateRoutes(routes(backendYaml(), 1));
  ASSERT_EQ(fetchOnceRouted("/warm").result_int(), 200u);
  // A kept-alive client connection, idle after one exchange: it, and the worker's own connection
  // from its pool to its inbound port, are open.
  testutil::HttpConnection idle(io_);
  ASSERT_EQ(runTask(io_, idle.connect(options_.outbound.port)),
            std::optional<error_code>(error_code{}));
  const testutil::Request req = testutil::makeRequest(bhttp::verb::get, "/kept", "backend");
  auto first = runTask(io_, idle.roundTrip(req));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(std::get<1>(*first).result_int(), 200u);
  EXPECT_GE(worker_->activeConnections(), 2);  // the client's, and the inbound one from its pool

  worker_->drain();
  // The worker closes the idle client connection: its next read ends without a byte.
  auto end = runTask(io_, idle.readToEnd());
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(std::get<0>(*end), asio::error::eof) << std::get<0>(*end).message();
  EXPECT_EQ(std::get<1>(*end), "");
  EXPECT_TRUE(runUntil(io_, [&] { return worker_->activeConnections() == 0; }))
      << worker_->activeConnections();
  // Its listeners are closed: nobody accepts on the outbound port any more.
  testutil::Response refused = fetch(io_, options_.outbound.port, "/late", "backend");
  EXPECT_EQ(refused.result_int(), 0u);
  EXPECT_THAT(refused.body(), HasSubstr("connect: Connection refused"));
  worker_->stop();
}

TEST_F(WorkerTest, StopJoinsAndCutsExchangesInFlight) {
  start();
  worker_->updateRoutes(routes(backendYaml(), 1));
  ASSERT_EQ(fetchOnceRouted("/warm").result_int(), 200u);
  app_.hold = true;
  testutil::HttpConnection client(io_);
  ASSERT_EQ(runTask(io_, client.connect(options_.outbound.port)),
            std::optional<error_code>(error_code{}));
  const testutil::Request req = testutil::makeRequest(bhttp::verb::get, "/slow", "backend");
  ASSERT_EQ(runTask(io_, client.writeRaw(testutil::requestText(req))),
            std::optional<error_code>(error_code{}));
  ASSERT_TRUE(runUntil(io_, [&] { return app_.held == 1; }));

  worker_->stop();  // returns once the worker's thread has ended
  worker_->stop();  // and again: nothing left to join
  EXPECT_EQ(app_.held, 1);
  // What was still open goes with the worker: the client and the app see their connections end.
  worker_.reset();
  auto end = runTask(io_, client.readToEnd());
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(std::get<0>(*end).failed());
  EXPECT_EQ(std::get<1>(*end), "");
  EXPECT_TRUE(runUntil(io_, [&] { return app_.held == 0; }));
  EXPECT_TRUE(app_.cut);
}

}  // namespace
}  // namespace weft::proxy
