#include "net/spawn_guard.h"

#include <atomic>
#include <string>

#include "common/strings.h"
#include "net/log.h"

namespace weft {
namespace {

std::atomic<uint64_t> g_internal_errors{0};

std::string describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

}  // namespace

uint64_t internalErrorCount() { return g_internal_errors.load(std::memory_order_relaxed); }

void SpawnGuard::report(std::exception_ptr error) const {
  g_internal_errors.fetch_add(1, std::memory_order_relaxed);
  std::string where = context_.what;
  if (context_.peer.port() != 0) {
    weft::strAppend(where, " peer=", context_.peer.address().to_string(), ":",
                    context_.peer.port());
  }
  if (context_.stream != 0) weft::strAppend(where, " stream=", context_.stream);
  log::error("internal error: ", where, ": coroutine ended by an exception: ", describe(error));
}

}  // namespace weft
