#include "net/stream_io.h"

#include <array>
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/write.hpp>

#include "net/inline_budget.h"
#include "tests/unit/net/loopback.h"

namespace weft {
namespace {

// A connected pair of TCP sockets on 127.0.0.1, on one io_context.
class StreamIoTest : public ::testing::Test {
 protected:
  StreamIoTest() : ours_(io_), theirs_(io_) { testutil::connectLoopback(io_, ours_, theirs_); }

  // Starts `task` on io_. A coroutine lambda's captures live in its closure: callers keep the
  // closure (a named local) until io_ has run the task.
  void run(awaitable<void> task) { asio::co_spawn(io_, std::move(task), asio::detached); }

  asio::io_context io_;
  Socket ours_;
  Socket theirs_;
};

using testutil::pattern;
using testutil::readAll;

TEST_F(StreamIoTest, WritesEveryPieceInOrderThroughPartialWrites) {
  // Megabytes: far more than the socket buffers hold, so writes stop part-way through a piece,
  // wait, and resume where they stopped.
  const std::string a = pattern(3 << 20, 'a'), b = "|", c = pattern(2 << 20, 'c');
  std::string got;
  error_code end;
  auto writer = [&]() -> awaitable<void> {
    const std::array<asio::const_buffer, 4> pieces{asio::buffer(a), asio::const_buffer(),
                                                   asio::buffer(b), asio::buffer(c)};
    auto [ec, n] = co_await io::writeAll(ours_, pieces);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(n, a.size() + b.size() + c.size());
    auto [ec1, n1] = co_await io::writeAll(ours_, asio::buffer(b));
    EXPECT_EQ(n1, 1u);
    ours_.shutdown(tcp::socket::shutdown_send);
  };
  run(writer());
  run(readAll(theirs_, got, end));
  io_.run();
  EXPECT_EQ(end, asio::error::eof);
  EXPECT_EQ(got, a + b + c + b);
}

TEST_F(StreamIoTest, TryWriteTakesWhatFitsAndLeavesTheRestToWriteAll) {
  // Far more than the socket buffers hold while nobody reads: part of it goes, no waiting.
  const std::string data = pattern(8 << 20, 'd');
  error_code ec;
  const size_t n = io::tryWrite(ours_, asio::buffer(data), ec);
  EXPECT_EQ(ec, asio::error::would_block);
  EXPECT_GT(n, 0u);
  EXPECT_LT(n, data.size());
  std::string got;
  error_code end;
  auto rest = [&]() -> awaitable<void> {
    auto [wec, m] = co_await io::writeAll(ours_, asio::buffer(data) + n);
    EXPECT_FALSE(wec) << wec.message();
    EXPECT_EQ(n + m, data.size());
    ours_.shutdown(tcp::socket::shutdown_send);
  };
  run(rest());
  run(readAll(theirs_, got, end));
  io_.run();
  EXPECT_EQ(end, asio::error::eof);
  EXPECT_EQ(got, data);
}

TEST_F(StreamIoTest, ManyPiecesAreWrittenToo) {
  std::array<std::string, 12> parts;
  std::array<asio::const_buffer, 12> pieces;
  std::string expected;
  for (size_t i = 0; i < parts.size(); ++i) {
    parts[i] = pattern(1000 + i, static_cast<char>('A' + i));
    pieces[i] = asio::buffer(parts[i]);
    expected += parts[i];
  }
  std::string got;
  error_code end;
  auto writer = [&]() -> awaitable<void> {
    auto [ec, n] = co_await io::writeAll(ours_, pieces);
    EXPECT_EQ(n, expected.size());
    ours_.close();
  };
  run(writer());
  run(readAll(theirs_, got, end));
  io_.run();
  EXPECT_EQ(got, expected);
}

TEST_F(StreamIoTest, CancelEndsAWaitingRead) {
  std::string got;
  error_code end;
  run(readAll(ours_, got, end));
  io_.poll();
  ours_.cancel();
  io_.run();
  EXPECT_EQ(end, asio::error::operation_aborted);
}

TEST_F(StreamIoTest, AReaderWhoseDataIsAlwaysThereStillLetsOthersRun) {
  const std::string data = pattern(4096, 'x');
  asio::write(theirs_, asio::buffer(data));
  int reads_before_other_ran = -1;
  int reads = 0;
  auto reader = [&]() -> awaitable<void> {
    char byte;
    for (; reads < 200; ++reads) {
      auto [ec, n] = co_await io::readSome(ours_, asio::buffer(&byte, 1));
      if (ec || n != 1) break;
    }
  };
  run(reader());
  // Queued behind the reader's start: runs once the reader yields.
  asio::post(io_, [&] { reads_before_other_ran = reads; });
  io_.run();
  EXPECT_EQ(reads, 200);
  // At most a budget's worth of reads (the count is per thread: earlier tests may have spent
  // part of it), not all 200 as when every immediate result returned directly.
  EXPECT_GE(reads_before_other_ran, 0);
  EXPECT_LE(reads_before_other_ran, static_cast<int>(InlineBudget::kBudget));
}

TEST_F(StreamIoTest, AReadThatWaitsFirstAsksTheReactorEvenWhenDataIsThere) {
  asio::write(theirs_, asio::buffer("x", 1));
  std::string got;
  auto reader = [&]() -> awaitable<void> {
    char byte;
    auto [ec, n] = co_await io::readSome(ours_, asio::buffer(&byte, 1), io::ReadStart::kWaitFirst);
    if (!ec) got.assign(&byte, n);
  };
  run(reader());
  io_.poll_one();  // the reader's start, up to its first suspension
  // It waits for the reactor instead of taking the byte at once. (Without the hint the byte is
  // taken here, unless that read is the one in InlineBudget::kBudget that yields.)
  EXPECT_EQ(got, "");
  io_.run();
  EXPECT_EQ(got, "x");
}

TEST_F(StreamIoTest, AfterDropWriteInterestAReadWaitDoesNotWakeForWritability) {
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Socket client(io_);
  Socket server(io_);
  error_code connected = asio::error::would_block;
  client.async_connect(acceptor.local_endpoint(), [&](error_code ec) { connected = ec; });
  acceptor.accept(server);
  io_.run();
  ASSERT_FALSE(connected);
  io_.restart();
  ASSERT_FALSE(io::dropWriteInterest(client));
  bool woke = false;
  client.async_wait(Socket::wait_read, [&](error_code) { woke = true; });
  // Nothing to read and nothing else registered: the reactor has no event to hand over. (With
  // the connect's EPOLLOUT still registered, re-arming for the read reports one at once.)
  EXPECT_EQ(io_.poll(), 0u);
  EXPECT_FALSE(woke);
  asio::write(server, asio::buffer("y", 1));
  io_.run_one_for(std::chrono::seconds(5));
  EXPECT_TRUE(woke);
}

}  // namespace
}  // namespace weft
