#pragma once

#include <cstdint>
#include <exception>

#include "net/asio.h"

namespace weft {

// Exceptions that escaped a spawned coroutine since the process started. The data path does not
// throw (error_codes everywhere), so this counts what slipped through anyway (std::bad_alloc, a
// library that throws, a bug); metrics exports it as proxy_internal_errors_total. Thread-safe.
uint64_t internalErrorCount();

// What a spawned coroutine does, and for whom: said in the log line when an exception ends it.
// `what` is a string literal (a guard allocates nothing); `peer` is the connection's remote end
// when there is one, `stream` an HTTP/2 stream id (0: none).
struct SpawnContext {
  const char* what;
  tcp::endpoint peer = {};
  uint32_t stream = 0;
};

// The completion handler for every asio::co_spawn in place of asio::detached, which drops an
// exception without a word: the coroutine's end by an exception is logged (with its context and
// the exception's what()) and counted.
//   asio::co_spawn(io, serve(std::move(socket)), SpawnGuard({"admin connection", peer}));
class SpawnGuard {
 public:
  explicit SpawnGuard(SpawnContext context) : context_(context) {}

  void operator()(std::exception_ptr error) const {
    if (error) report(error);
  }
  template <typename T>
  void operator()(std::exception_ptr error, const T& /*result*/) const {
    if (error) report(error);
  }

 private:
  void report(std::exception_ptr error) const;

  SpawnContext context_;
};

}  // namespace weft
