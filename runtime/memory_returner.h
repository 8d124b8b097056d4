#pragma once

#include <chrono>
#include <cstddef>

#include "net/asio.h"

namespace weft::runtime {

// Gives memory that a burst left free back to the kernel. glibc keeps freed heap in its arenas
// (one per worker thread) and returns little of it by itself: 800 connections holding 60 KiB
// header buffers each left a sidecar at 63 MB after they closed. Every `period` the main thread
// looks at how much the arenas hold free and, over `threshold`, calls malloc_trim(0), which
// releases free pages in every arena (madvise) without moving anything in use. The check is a
// walk over the arenas' statistics; the trim runs only after a burst.
class MemoryReturner {
 public:
  static constexpr std::chrono::seconds kDefaultPeriod{5};
  static constexpr size_t kDefaultThreshold = 4 << 20;

  explicit MemoryReturner(asio::io_context& io,
                          std::chrono::steady_clock::duration period = kDefaultPeriod,
                          size_t threshold = kDefaultThreshold);

  // Starts the periodic check on `io` (the main thread); it ends when `io` stops.
  void start();

  // One check: trims when the arenas hold more than `threshold` free. Returns whether it did.
  static bool trimIfOver(size_t threshold);

 private:
  awaitable<void> run();

  asio::io_context& io_;
  std::chrono::steady_clock::duration period_;
  size_t threshold_;
};

}  // namespace weft::runtime
