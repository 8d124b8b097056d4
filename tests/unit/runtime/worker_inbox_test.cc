#include "runtime/worker_inbox.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace weft::runtime {
namespace {

// A worker's setup: a lock-free io_context run by one thread, fed only through the inbox.
class WorkerInboxTest : public ::testing::Test {
 protected:
  WorkerInboxTest() : io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE), inbox_(io_) {}

  void start() {
    ASSERT_TRUE(inbox_.open().ok());
    asio::co_spawn(io_, inbox_.run(), asio::detached);
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      worker_id_ = std::this_thread::get_id();
      io_.run();
    });
  }

  void stopAndJoin() {
    inbox_.post([this] { io_.stop(); });
    thread_.join();
  }

  asio::io_context io_;
  WorkerInbox inbox_;
  std::thread thread_;
  std::thread::id worker_id_;
};

TEST_F(WorkerInboxTest, RunsPostsInOrderOnTheWorkersThread) {
  start();
  std::vector<int> seen;  // touched only by the worker's thread until it is joined
  std::atomic<int> off_thread{0};
  for (int i = 0; i < 1000; ++i) {
    inbox_.post([this, &seen, &off_thread, i] {
      if (std::this_thread::get_id() != worker_id_) ++off_thread;
      seen.push_back(i);
    });
  }
  stopAndJoin();
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
  EXPECT_EQ(off_thread.load(), 0);
}

TEST_F(WorkerInboxTest, PostsFromManyThreadsAllRun) {
  start();
  int count = 0;  // the worker's
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([this, &count] {
      for (int i = 0; i < 250; ++i) inbox_.post([&count] { ++count; });
    });
  }
  for (auto& p : posters) p.join();
  stopAndJoin();
  EXPECT_EQ(count, 1000);
}

TEST_F(WorkerInboxTest, WorkPostedBeforeTheThreadStartsRuns) {
  ASSERT_TRUE(inbox_.open().ok());
  bool ran = false;
  inbox_.post([&ran] { ran = true; });
  asio::co_spawn(io_, inbox_.run(), asio::detached);
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
  stopAndJoin();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace weft::runtime
