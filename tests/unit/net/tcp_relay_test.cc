// The opaque TCP relay (net/tcp_relay.h) between two loopback connections: megabytes both ways
// in order, a half-close carried across while the other direction goes on, a reset ending both,
// and a direction idle past its timeout closing both.

#include "net/tcp_relay.h"

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/write.hpp>

#include "tests/unit/net/loopback.h"

namespace weft {
namespace {

using testutil::pattern;
using testutil::readAll;

// client <-> (a | relay | b) <-> server
class TcpRelayTest : public ::testing::Test {
 protected:
  TcpRelayTest() : client_(io_), a_(io_), b_(io_), server_(io_) {
    testutil::connectLoopback(io_, client_, a_);
    testutil::connectLoopback(io_, b_, server_);
  }

  void startRelay(std::chrono::steady_clock::duration idle) {
    asio::co_spawn(io_, relay(idle), asio::detached);
  }

  awaitable<void> relay(std::chrono::steady_clock::duration idle) {
    result_ = co_await net::relay(a_, a_stats_, b_, b_stats_, idle);
    done_ = true;
  }

  asio::io_context io_;
  Socket client_, a_, b_, server_;
  net::ConnectionTally a_tally_, b_tally_;
  net::ConnectionStats a_stats_{a_tally_}, b_stats_{b_tally_};
  net::RelayResult result_;
  bool done_ = false;
};

TEST_F(TcpRelayTest, CarriesBothWaysAndAHalfCloseAcross) {
  const std::string up = pattern(3 << 20, 'u'), down = pattern(2 << 20, 'd');
  std::string at_server, at_client;
  error_code server_end, client_end;
  startRelay(std::chrono::seconds(10));
  auto client = [&]() -> awaitable<void> {
    co_await asio::async_write(client_, asio::buffer(up), kUseTuple);
    client_.shutdown(tcp::socket::shutdown_send);  // the request is complete
    co_await readAll(client_, at_client, client_end);
  };
  auto server = [&]() -> awaitable<void> {
    co_await readAll(server_, at_server, server_end);  // to the client's half-close
    co_await asio::async_write(server_, asio::buffer(down), kUseTuple);
    server_.shutdown(tcp::socket::shutdown_send);
  };
  auto c = client();
  auto s = server();
  asio::co_spawn(io_, std::move(c), asio::detached);
  asio::co_spawn(io_, std::move(s), asio::detached);
  io_.run_for(std::chrono::seconds(20));
  EXPECT_EQ(server_end, asio::error::eof);
  EXPECT_TRUE(at_server == up);
  EXPECT_EQ(client_end, asio::error::eof);
  EXPECT_TRUE(at_client == down);
  ASSERT_TRUE(done_);
  EXPECT_FALSE(result_.error) << result_.error.message();
  EXPECT_EQ(result_.a_to_b, up.size());
  EXPECT_EQ(result_.b_to_a, down.size());
  EXPECT_EQ(a_tally_.read_bytes, up.size());
  EXPECT_EQ(a_tally_.write_bytes, down.size());
  EXPECT_EQ(b_tally_.write_bytes, up.size());
  EXPECT_EQ(b_tally_.read_bytes, down.size());
}

TEST_F(TcpRelayTest, AResetEndsBothSides) {
  std::string at_client;
  error_code client_end;
  startRelay(std::chrono::seconds(10));
  server_.set_option(asio::socket_base::linger(true, 0));
  server_.close();  // RST
  auto client = [&]() -> awaitable<void> { co_await readAll(client_, at_client, client_end); };
  auto c = client();
  asio::co_spawn(io_, std::move(c), asio::detached);
  io_.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(done_);
  EXPECT_TRUE(result_.error);
  EXPECT_TRUE(client_end) << "the client's connection stays open";
}

TEST_F(TcpRelayTest, AnIdleDirectionClosesBoth) {
  std::string at_client;
  error_code client_end;
  startRelay(std::chrono::milliseconds(200));
  auto client = [&]() -> awaitable<void> { co_await readAll(client_, at_client, client_end); };
  auto c = client();
  asio::co_spawn(io_, std::move(c), asio::detached);
  io_.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(done_);
  EXPECT_EQ(result_.error, beast::error::timeout);
  EXPECT_TRUE(client_end);
}

}  // namespace
}  // namespace weft
