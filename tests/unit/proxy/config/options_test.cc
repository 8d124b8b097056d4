#include "proxy/config/options.h"

#include <initializer_list>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/strings.h"

namespace weft::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// Runs parseOptions on "weft-proxy" followed by `args`.
absl::StatusOr<Options> parseArgs(std::vector<std::string> args) {
  args.insert(args.begin(), "weft-proxy");
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  return parseOptions(static_cast<int>(args.size()), argv.data());
}

absl::StatusOr<Options> parse(std::initializer_list<std::string> args) { return parseArgs(args); }

// The required flags, followed by `extra`.
absl::StatusOr<Options> parseWith(std::initializer_list<std::string> extra) {
  std::vector<std::string> args{
      "--service", "web",   "--service-account", "web-sa", "--cert", "c.pem",
      "--key",     "k.pem", "--trust-bundle",    "b.pem"};
  args.insert(args.end(), extra.begin(), extra.end());
  return parseArgs(std::move(args));
}

std::string message(const absl::Status& st) { return std::string(weft::sv(st.message())); }

TEST(OptionsTest, Defaults) {
  auto o = parseWith({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->service, "web");
  EXPECT_EQ(o->service_account, "web-sa");
  EXPECT_EQ(o->ns, "default");
  EXPECT_EQ(o->trust_domain, "cluster.local");
  EXPECT_EQ(o->identity(), "spiffe://cluster.local/ns/default/sa/web-sa");
  EXPECT_EQ(o->outbound.host, "127.0.0.1");
  EXPECT_EQ(o->outbound.port, 15001);
  EXPECT_EQ(o->inbound.host, "0.0.0.0");
  EXPECT_EQ(o->inbound.port, 15006);
  EXPECT_EQ(o->admin.port, 15020);
  EXPECT_EQ(o->app.host, "127.0.0.1");
  EXPECT_EQ(o->app.port, 8080);
  EXPECT_EQ(o->cert, "c.pem");
  EXPECT_EQ(o->key, "k.pem");
  EXPECT_EQ(o->trust_bundle, "b.pem");
  EXPECT_EQ(o->workers, 0u);
  EXPECT_EQ(o->drain, std::chrono::seconds(30));
  EXPECT_EQ(o->connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(o->idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(o->read_timeout, std::chrono::seconds(60));
  EXPECT_EQ(o->log_level, "info");
  EXPECT_TRUE(o->labels.empty());
  EXPECT_TRUE(o->config.empty());
  EXPECT_EQ(o->app_protocol, AppProtocol::kAuto);
  EXPECT_EQ(o->admin_debug_access, AdminDebugAccess::kLoopback);
}

TEST(OptionsTest, AdminDebugAccess) {
  EXPECT_EQ(parseWith({"--admin-debug-access", "any"})->admin_debug_access, AdminDebugAccess::kAny);
  EXPECT_EQ(parseWith({"--admin-debug-access=loopback"})->admin_debug_access,
            AdminDebugAccess::kLoopback);
  EXPECT_THAT(message(parseWith({"--admin-debug-access", "all"}).status()),
              HasSubstr("--admin-debug-access: want loopback or any, got 'all'"));
}

TEST(OptionsTest, AppProtocol) {
  EXPECT_EQ(parseWith({"--app-protocol", "http1"})->app_protocol, AppProtocol::kHttp1);
  EXPECT_EQ(parseWith({"--app-protocol=h2c"})->app_protocol, AppProtocol::kH2c);
  EXPECT_EQ(parseWith({"--app-protocol", "auto"})->app_protocol, AppProtocol::kAuto);
  EXPECT_THAT(message(parseWith({"--app-protocol", "h2"}).status()),
              HasSubstr("--app-protocol: want auto, http1 or h2c, got 'h2'"));
}

TEST(OptionsTest, RequiredFlags) {
  EXPECT_THAT(message(parse({}).status()), HasSubstr("--service: required"));
  EXPECT_THAT(message(parse({"--service", "web"}).status()),
              HasSubstr("--service-account: required"));
  auto no_tls = parse({"--service", "web", "--service-account", "web", "--cert", "c.pem"});
  EXPECT_EQ(no_tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(no_tls.status()), HasSubstr("--cert/--key/--trust-bundle"));
}

TEST(OptionsTest, AllFlags) {
  auto o = parseWith({"--namespace",
                      "prod",
                      "--outbound",
                      "127.0.0.1:1001",
                      "--inbound",
                      "[::]:1002",
                      "--admin=127.0.0.1:1003",
                      "--app",
                      "127.0.0.1:1004",
                      "--trust-domain",
                      "example.org",
                      "--config",
                      "mesh.yaml",
                      "--workers",
                      "4",
                      "--drain-seconds",
                      "5",
                      "--connect-timeout",
                      "7",
                      "--idle-timeout=8",
                      "--read-timeout",
                      "9",
                      "--log-level",
                      "debug"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->identity(), "spiffe://example.org/ns/prod/sa/web-sa");
  EXPECT_EQ(o->outbound.port, 1001);
  EXPECT_EQ(o->inbound.host, "::");
  EXPECT_EQ(o->inbound.port, 1002);
  EXPECT_EQ(o->admin.port, 1003);
  EXPECT_EQ(o->app.port, 1004);
  EXPECT_EQ(o->config, "mesh.yaml");
  EXPECT_EQ(o->workers, 4u);
  EXPECT_EQ(o->drain, std::chrono::seconds(5));
  EXPECT_EQ(o->connect_timeout, std::chrono::seconds(7));
  EXPECT_EQ(o->idle_timeout, std::chrono::seconds(8));
  EXPECT_EQ(o->read_timeout, std::chrono::seconds(9));
  EXPECT_EQ(o->log_level, "debug");
}

TEST(OptionsTest, Labels) {
  auto o = parseWith({"--labels", "a=b,c=d"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_THAT(o->labels, ElementsAre(Pair("a", "b"), Pair("c", "d")));

  auto empty_value = parseWith({"--labels=version=,,x=y=z"});
  ASSERT_TRUE(empty_value.ok()) << empty_value.status();
  EXPECT_THAT(empty_value->labels, ElementsAre(Pair("version", ""), Pair("x", "y=z")));

  EXPECT_THAT(message(parseWith({"--labels", "a=b,novalue"}).status()),
              HasSubstr("--labels: want k=v, got 'novalue'"));
  EXPECT_THAT(message(parseWith({"--labels", "=b"}).status()), HasSubstr("want k=v"));
}

TEST(OptionsTest, BadAddress) {
  auto o = parseWith({"--outbound", "localhost:15001"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(o.status()), HasSubstr("--outbound: "));
  EXPECT_THAT(message(o.status()), HasSubstr("host must be an IP address"));
  EXPECT_THAT(message(parseWith({"--app", "127.0.0.1"}).status()), HasSubstr("--app: "));
  EXPECT_THAT(message(parseWith({"--admin", "127.0.0.1:99999"}).status()),
              HasSubstr("invalid port"));
}

TEST(OptionsTest, BadNumbers) {
  EXPECT_THAT(message(parseWith({"--workers", "257"}).status()), HasSubstr("--workers"));
  EXPECT_THAT(message(parseWith({"--workers", "two"}).status()), HasSubstr("--workers"));
  EXPECT_THAT(message(parseWith({"--drain-seconds", "-1"}).status()),
              HasSubstr("--drain-seconds: want whole seconds, got '-1'"));
  EXPECT_THAT(message(parseWith({"--read-timeout", "1.5"}).status()), HasSubstr("--read-timeout"));
}

TEST(OptionsTest, Http2Budgets) {
  auto defaults = parseWith({});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->h2_max_premature_resets, 100u);
  EXPECT_EQ(defaults->h2_max_control_frames, 1000u);
  auto o = parseWith({"--h2-max-premature-resets", "0", "--h2-max-control-frames=50"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->h2_max_premature_resets, 0u);
  EXPECT_EQ(o->h2_max_control_frames, 50u);
  auto bad = parseWith({"--h2-max-control-frames", "lots"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(message(bad.status()), HasSubstr("--h2-max-control-frames"));
}

TEST(OptionsTest, UnknownFlag) {
  auto o = parseWith({"--bogus", "1"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(message(o.status()), HasSubstr("--bogus: unknown flag"));
  EXPECT_THAT(message(parseWith({"--bogus=1"}).status()), HasSubstr("--bogus: unknown flag"));
  // A misspelled last flag is unknown, not "missing value".
  EXPECT_THAT(message(parseWith({"--wrokers"}).status()), HasSubstr("--wrokers: unknown flag"));
}

TEST(OptionsTest, MissingValue) {
  EXPECT_THAT(message(parseWith({"--namespace"}).status()),
              HasSubstr("--namespace: missing value"));
}

TEST(OptionsTest, InvalidIdentity) {
  auto o = parseWith({"--trust-domain", "Example.org"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(message(o.status()), HasSubstr("--trust-domain/--namespace/--service-account"));
  EXPECT_FALSE(parseWith({"--namespace", "a b"}).ok());
  EXPECT_FALSE(parseWith({"--service-account", ""}).ok());
}

TEST(OptionsTest, HelpReturnsUsage) {
  for (const char* flag : {"--help", "-h"}) {
    auto o = parse({"--service", "web", flag});
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(message(o.status()), usage());
  }
  EXPECT_THAT(usage(), HasSubstr("usage: weft-proxy"));
  EXPECT_THAT(usage(), HasSubstr("--service-account"));
}

}  // namespace
}  // namespace weft::config
