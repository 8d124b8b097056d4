// SpawnGuard (net/spawn_guard.cc): a coroutine that ends by an exception is logged with
// its context and counted (proxy_internal_errors_total), where asio::detached said nothing.

#include "net/spawn_guard.h"

#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proxy/metrics/metrics.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

awaitable<void> throws() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable_t<Executor>{});
  throw std::runtime_error("boom in the handler");
}

awaitable<int> returnsValue() { co_return 7; }

awaitable<int> throwsWithValue() {
  throw std::logic_error("no value after all");
  co_return 0;
}

// The value of proxy_internal_errors_total in `text`.
double exported(const std::string& text) {
  const std::string name = "\nproxy_internal_errors_total ";
  size_t at = text.find(name);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size()));
}

TEST(SpawnGuardTest, ThrowingCoroutineIsLoggedAndCounted) {
  metrics::Metrics metrics;
  const double before = exported(metrics.serialize());
  const uint64_t count = internalErrorCount();
  asio::io_context io;
  const tcp::endpoint peer(asio::ip::make_address("127.0.0.1"), 40123);
  ::testing::internal::CaptureStderr();
  asio::co_spawn(io, throws(), SpawnGuard({"outbound connection", peer}));
  io.run();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(internalErrorCount(), count + 1);
  EXPECT_THAT(log, HasSubstr("outbound connection peer=127.0.0.1:40123"));
  EXPECT_THAT(log, HasSubstr("boom in the handler"));
  EXPECT_EQ(exported(metrics.serialize()), before + 1);
}

TEST(SpawnGuardTest, ValueCoroutinesAndStreamIds) {
  const uint64_t count = internalErrorCount();
  asio::io_context io;
  ::testing::internal::CaptureStderr();
  asio::co_spawn(io, returnsValue(), SpawnGuard({"value"}));
  asio::co_spawn(io, throwsWithValue(), SpawnGuard({"http2 stream handler", {}, 5}));
  io.run();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(internalErrorCount(), count + 1);
  EXPECT_THAT(log, HasSubstr("http2 stream handler stream=5"));
  EXPECT_THAT(log, HasSubstr("no value after all"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("value:")));
}

TEST(SpawnGuardTest, CleanEndIsSilent) {
  const uint64_t count = internalErrorCount();
  asio::io_context io;
  ::testing::internal::CaptureStderr();
  asio::co_spawn(io, returnsValue(), SpawnGuard({"quiet"}));
  io.run();
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(internalErrorCount(), count);
}

}  // namespace
}  // namespace weft
