// BufferCache memory: buffer bytes come from the cache's arena, evicted
// buffers' bytes are reused (the arena never grows past the peak of live
// buffers), reused bytes start zeroed, and a buffer may outlive its cache.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "journal/buffer_cache.h"
#include "pagecache/blockdev/memory_device.h"

namespace foliofs::journal {
namespace {

constexpr uint32_t kBlock = 4096;

struct Env {
  std::unique_ptr<MemoryDevice> dev;
  std::unique_ptr<BufferCache> cache;
  Env(uint64_t blocks, size_t max_clean) {
    dev = std::move(MemoryDevice::Create(blocks * kBlock, 512)).value();
    cache = std::move(BufferCache::Create(*dev, kBlock, max_clean)).value();
  }
};

TEST(BufferCacheMemoryTest, ArenaStaysAtThePeakOfLiveBuffers) {
  Env env(4096, 64);
  // Cycle through 50x the bound: eviction frees bytes that later reads reuse.
  for (uint64_t b = 0; b < 3200; b++) ASSERT_TRUE(env.cache->Read(b).ok());
  EXPECT_LE(env.cache->cached_count(), 64u + 1);
  // 65 live buffers at most (64 clean + the one being read) in 256 KiB chunks.
  EXPECT_LE(env.cache->arena_bytes(), 2u * 256 * 1024);
  EXPECT_GT(env.cache->arena_bytes(), 0u);
}

TEST(BufferCacheMemoryTest, PinnedBuffersGrowTheArenaOnlyWhileHeld) {
  Env env(4096, 8);
  std::vector<BufferRef> pinned;
  for (uint64_t b = 0; b < 256; b++) pinned.push_back(std::move(env.cache->Read(b)).value());
  const size_t peak = env.cache->arena_bytes();
  EXPECT_GE(peak, 256u * kBlock);
  pinned.clear();
  for (uint64_t b = 1000; b < 2000; b++) ASSERT_TRUE(env.cache->Read(b).ok());
  // Reuse: at most one more chunk (the first read allocates before evicting).
  EXPECT_LE(env.cache->arena_bytes(), peak + 256 * 1024);
}

TEST(BufferCacheMemoryTest, ReusedBytesAreZeroedForGetNew) {
  Env env(64, 0);
  const uint8_t* old;
  {
    BufferRef b = std::move(env.cache->GetNew(3)).value();
    std::memset(b->data(), 0x5a, kBlock);
    old = b->data();
  }
  ASSERT_TRUE(env.cache->GetNew(5).ok());  // evicts block 3 (max_clean 0)
  // Block 3's bytes serve block 4, zero-filled.
  BufferRef fresh = std::move(env.cache->GetNew(4)).value();
  EXPECT_EQ(fresh->data(), old);
  for (uint32_t i = 0; i < kBlock; i++) ASSERT_EQ(fresh->data()[i], 0) << i;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(fresh->data()) % 4096, 0u);
}

TEST(BufferCacheMemoryTest, BufferOutlivesItsCache) {
  Env env(64, 4);
  BufferRef b = std::move(env.cache->GetNew(1)).value();
  env.cache.reset();
  std::memset(b->data(), 1, kBlock);  // the arena lives while a buffer does
  EXPECT_EQ(b->data()[kBlock - 1], 1);
}

}  // namespace
}  // namespace foliofs::journal
