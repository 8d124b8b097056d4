// MemoryReturner::trimIfOver: the arenas' free bytes decide; a burst's freed blocks go back.
#include "runtime/memory_returner.h"

#include <malloc.h>

#include <memory>
#include <vector>

#include <gtest/gtest.h>

namespace weft::runtime {
namespace {

TEST(MemoryReturnerTest, TrimsOnlyOverTheThreshold) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's allocator replaces glibc's arenas";
#else
  auto freeInArenas = [] { return mallinfo2().fordblks; };
  // A burst: many 60 KiB blocks (below the mmap threshold, so they live in the heap), then
  // all but the last one freed, which keeps the heap's top from shrinking by itself.
  std::vector<std::unique_ptr<char[]> > blocks;
  for (int i = 0; i < 400; ++i) {
    blocks.emplace_back(new char[60 * 1024]);
    blocks.back()[0] = 1;
  }
  auto keep = std::move(blocks.back());
  blocks.clear();
  ASSERT_GT(freeInArenas(), 8u << 20);
  EXPECT_FALSE(MemoryReturner::trimIfOver(size_t{1} << 40));
  EXPECT_TRUE(MemoryReturner::trimIfOver(4u << 20));
  keep.reset();
#endif
}

}  // namespace
}  // namespace weft::runtime
