// The main thread (proxy/server/server.cc) in-process: Server::start with real credential and
// config files and one worker on 127.0.0.1 ports, run() on a thread of the test, the admin port
// answering; SIGTERM (raised in this process, caught by the Server's signal_set) drains it so
// run() returns 0, SIGHUP reloads --config and keeps the old one when the new file is broken, and
// a bad config file fails start() with a status that names it.

#include "proxy/server/server.h"

#include <csignal>
#include <future>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/proxy/support/http_test_client.h"
#include "tests/unit/proxy/support/test_workloads.h"

namespace weft::proxy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testutil::fetch;
using testutil::Response;

std::string serviceYaml(const std::string& name) {
  return "apiVersion: weft.dev/v1alpha1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: default}\nspec:\n  port: 80\n  endpoints:\n"
         "    - {address: 10.0.0.1:8080, identity: spiffe://cluster.local/ns/default/sa/" +
         name + "}\n";
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() {
    const identity::CredentialFiles files = ca_.issue("web");
    options_.service = "web";
    options_.service_account = "web";
    options_.cert = files.cert;
    options_.key = files.key;
    options_.trust_bundle = files.trust_bundle;
    options_.config = ca_.dir() + "/mesh.yaml";
    options_.workers = 1;
    options_.drain = std::chrono::seconds(5);
    options_.outbound = {"127.0.0.1", outbound_.port()};
    options_.inbound = {"127.0.0.1", inbound_.port()};
    options_.admin = {"127.0.0.1", admin_.port()};
    writeConfig(serviceYaml("alpha"));
  }

  ~ServerTest() override {
    if (runner_.joinable()) runner_.join();
  }

  void writeConfig(const std::string& yaml) { testutil::writeFile(options_.config, yaml); }

  // Starts the server and runs it on a thread; false (with the status reported) if start failed.
  bool startAndRun() {
    server_ = std::make_unique<Server>(options_);
    absl::Status started = server_->start();
    EXPECT_TRUE(started.ok()) << started;
    if (!started.ok()) return false;
    for (auto* reserved : {&outbound_, &inbound_, &admin_}) reserved->close();
    runner_ = std::thread([this] { exit_code_.set_value(server_->run()); });
    return true;
  }

  // What run() returned, if it did within 5 s.
  std::optional<int> exitCode() {
    auto future = exit_code_.get_future();
    if (future.wait_for(testutil::kWaitLimit) != std::future_status::ready) return std::nullopt;
    return future.get();
  }

  Response admin(const std::string& target) { return fetch(io_, options_.admin.port, target); }

  // Fetches `target` from the admin port until `body` shows in the answer or 5 s pass.
  Response adminUntil(const std::string& target, const std::string& body) {
    const auto until = std::chrono::steady_clock::now() + testutil::kWaitLimit;
    Response res;
    do {
      res = admin(target);
    } while (res.body().find(body) == std::string::npos &&
             std::chrono::steady_clock::now() < until);
    return res;
  }

  asio::io_context io_;  // the test's client
  testutil::TestCa ca_;
  testutil::PortReservation outbound_{io_, true}, inbound_{io_, true}, admin_{io_, false};
  config::Options options_;
  std::unique_ptr<Server> server_;
  std::promise<int> exit_code_;
  std::thread runner_;
};

TEST_F(ServerTest, ServesTheAdminPortUntilSigtermDrainsIt) {
  ASSERT_TRUE(startAndRun());
  Response ready = admin("/ready");
  EXPECT_EQ(ready.result_int(), 200u) << ready.body();
  Response config = admin("/config");
  EXPECT_THAT(config.body(), HasSubstr("\"alpha\""));
  // The workers' outbound port answers too: an unknown service is a 404 from the proxy.
  Response unknown = fetch(io_, options_.outbound.port, "/", "nowhere");
  EXPECT_EQ(unknown.result_int(), 404u) << unknown.body();

  ASSERT_EQ(std::raise(SIGTERM), 0);
  EXPECT_EQ(exitCode(), std::optional<int>(0));
  // Drained: the admin port and the listeners are closed.
  EXPECT_THAT(admin("/live").body(), HasSubstr("Connection refused"));
  EXPECT_THAT(fetch(io_, options_.outbound.port, "/", "nowhere").body(),
              HasSubstr("Connection refused"));
}

TEST_F(ServerTest, SighupReloadsTheConfigAndKeepsItWhenTheNewOneIsBroken) {
  ASSERT_TRUE(startAndRun());
  writeConfig(serviceYaml("beta"));
  ASSERT_EQ(std::raise(SIGHUP), 0);
  Response reloaded = adminUntil("/config", "\"beta\"");
  EXPECT_THAT(reloaded.body(), HasSubstr("\"beta\""));
  EXPECT_THAT(reloaded.body(), Not(HasSubstr("\"alpha\"")));
  EXPECT_THAT(reloaded.body(), HasSubstr("\"version\": 2"));

  writeConfig("kind: Nonsense\n");
  ASSERT_EQ(std::raise(SIGHUP), 0);
  Response metrics = adminUntil("/metrics", "config_reload_total{result=\"rejected\"} 1");
  EXPECT_THAT(metrics.body(), HasSubstr("config_reload_total{result=\"rejected\"} 1"));
  EXPECT_THAT(metrics.body(), HasSubstr("config_reload_total{result=\"applied\"} 1"));
  EXPECT_THAT(metrics.body(), HasSubstr("weft_config_version 2"));
  EXPECT_THAT(admin("/config").body(), HasSubstr("\"beta\""));

  ASSERT_EQ(std::raise(SIGTERM), 0);
  EXPECT_EQ(exitCode(), std::optional<int>(0));
}

TEST_F(ServerTest, BadConfigFileFailsStartNamingTheFile) {
  writeConfig("apiVersion: weft.dev/v1alpha1\nkind: Service\nmetadata: {name: x}\nspec: [\n");
  Server broken(options_);
  absl::Status status = broken.start();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(options_.config));

  options_.config = ca_.dir() + "/missing.yaml";
  Server missing(options_);
  status = missing.start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), options_.config + ": cannot open file");
}

}  // namespace
}  // namespace weft::proxy
