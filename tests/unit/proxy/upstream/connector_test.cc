// The real connector on loopback, for plain targets (the app): the codec it hands back follows the
// target's protocol, and a failed connect says what failed. TLS targets (peer sidecars, identity
// checks, alerts) are driven end to end in tests/integration/test_mtls.py.

#include "proxy/upstream/connector.h"

#include <gtest/gtest.h>

#include "proxy/metrics/metrics.h"

namespace weft::upstream {
namespace {

using namespace std::chrono_literals;

class ConnectorTest : public ::testing::Test {
 protected:
  absl::StatusOr<http::ClientConnectionPtr> connect(const Target& target) {
    absl::StatusOr<http::ClientConnectionPtr> result = absl::UnknownError("not run");
    asio::co_spawn(io_, connector_.connect(target),
                   [&](std::exception_ptr e, absl::StatusOr<http::ClientConnectionPtr> r) {
                     if (e) std::rethrow_exception(e);
                     result = std::move(r);
                   });
    // The connection may keep work on the context (an HTTP/2 reader): run until the result.
    io_.restart();
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (result.status().code() == absl::StatusCode::kUnknown &&
           std::chrono::steady_clock::now() < until) {
      io_.run_one_for(100ms);
    }
    return result;
  }

  api::HostPort listening() {
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    acceptor_.listen();
    return {"127.0.0.1", acceptor_.local_endpoint().port()};
  }

  // Before io_: a connection whose reader is still suspended on io_ ends (and counts its
  // close) when io_ is destroyed.
  metrics::Metrics metrics_;
  http::http1::Settings http1_;
  http::http2::Settings http2_;
  asio::io_context io_;
  ConnectorImpl connector_{io_.get_executor(), http1_, http2_, 1s, metrics_, [] {
                             return std::shared_ptr<const identity::Credentials>();
                           }};
  tcp::acceptor acceptor_{io_};
};

TEST_F(ConnectorTest, PlainTargetGetsTheCodecOfItsProtocol) {
  const api::HostPort app = listening();
  auto http1 = connect(Target::plain(app));
  ASSERT_TRUE(http1.ok()) << http1.status();
  EXPECT_FALSE((*http1)->multiplexed());
  auto h2c = connect(Target::plain(app, Target::Protocol::kH2c));
  ASSERT_TRUE(h2c.ok()) << h2c.status();
  EXPECT_TRUE((*h2c)->multiplexed());
}

TEST_F(ConnectorTest, RefusedConnectSaysSo) {
  const api::HostPort app = listening();
  acceptor_.close();  // nothing listens there any more
  auto result = connect(Target::plain(app));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.status().message(), "connect: Connection refused");
}

}  // namespace
}  // namespace weft::upstream
