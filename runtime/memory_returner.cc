#include "runtime/memory_returner.h"

#include <malloc.h>

#include <boost/asio/steady_timer.hpp>

#include "net/log.h"
#include "net/spawn_guard.h"

namespace weft::runtime {

MemoryReturner::MemoryReturner(asio::io_context& io, std::chrono::steady_clock::duration period,
                               size_t threshold)
    : io_(io), period_(period), threshold_(threshold) {}

void MemoryReturner::start() { asio::co_spawn(io_, run(), SpawnGuard({"memory returner"})); }

bool MemoryReturner::trimIfOver(size_t threshold) {
  // fordblks: bytes free in all arenas (glibc >= 2.33 sums every arena).
  const struct mallinfo2 info = mallinfo2();
  if (info.fordblks <= threshold) return false;
  malloc_trim(0);
  log::debug("returned free heap to the kernel: ", info.fordblks, " bytes were free");
  return true;
}

awaitable<void> MemoryReturner::run() {
  asio::steady_timer timer(io_);
  for (;;) {
    timer.expires_after(period_);
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec) co_return;
    trimIfOver(threshold_);
  }
}

}  // namespace weft::runtime
