// FolioMemory: zero-filled aligned buffers, reuse of freed slots by any
// thread, the retained reserve's cap, and memory really given back (observed
// through the stats counters and, for the reserve, mincore(2)).
#include "pagecache/folio_memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "pagecache/folio.h"

namespace foliofs {
namespace {

constexpr uint64_t K = 1024;
constexpr uint64_t M = 1024 * K;

std::unique_ptr<FolioMemory> Make(uint64_t retain, uint64_t chunk = 2 * M,
                                  uint64_t max_pooled = 1 * M) {
  FolioMemoryOptions o;
  o.chunk_size = chunk;
  o.max_pooled_size = max_pooled;
  o.retain_bytes = retain;
  auto m = FolioMemory::Create(o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

bool AllZero(const uint8_t* p, uint64_t n) {
  for (uint64_t i = 0; i < n; i++)
    if (p[i] != 0) return false;
  return true;
}

// Pages of [p, p+len) resident now.
uint64_t ResidentPages(const uint8_t* p, uint64_t len) {
  const uint64_t pages = len / 4096;
  std::vector<unsigned char> vec(pages);
  EXPECT_EQ(mincore(const_cast<uint8_t*>(p), len, vec.data()), 0);
  uint64_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

TEST(FolioMemoryTest, RejectsBadOptions) {
  FolioMemoryOptions o;
  o.chunk_size = 3 * M;
  EXPECT_EQ(FolioMemory::Create(o).status().err(), EINVAL);
  o = {};
  o.max_pooled_size = 4 * M;  // larger than the chunk
  EXPECT_EQ(FolioMemory::Create(o).status().err(), EINVAL);
  auto m = Make(0);
  EXPECT_EQ(m->Allocate(0).status().err(), EINVAL);
}

TEST(FolioMemoryTest, BuffersAreAlignedAndZeroFilled) {
  auto m = Make(1 * M);
  for (uint64_t size : {1 * K, 4 * K, 64 * K, 256 * K, 1 * M, 4 * M}) {
    auto b = m->Allocate(size);
    ASSERT_TRUE(b.ok()) << size;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b->get()) % 4096, 0u) << size;
    EXPECT_EQ(b->size(), size);
    EXPECT_TRUE(AllZero(b->get(), size)) << size;
    std::memset(b->get(), 0xab, size);
  }
  // Every slot above was dirtied and freed (some kept hot): new ones are zero again.
  for (uint64_t size : {1 * K, 4 * K, 64 * K, 256 * K, 1 * M, 4 * M}) {
    auto b = m->Allocate(size);
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(AllZero(b->get(), size)) << size;
  }
}

TEST(FolioMemoryTest, FreedSlotIsReusedWithinTheReserve) {
  auto m = Make(1 * M);
  uint8_t* first;
  {
    auto b = m->Allocate(64 * K);
    ASSERT_TRUE(b.ok());
    first = b->get();
    std::memset(first, 1, 64 * K);
  }
  EXPECT_EQ(m->stats().hot_bytes, 64 * K);
  EXPECT_EQ(m->stats().live_bytes, 0u);
  auto again = m->Allocate(64 * K);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), first);
  EXPECT_EQ(m->stats().reused, 1u);
  EXPECT_EQ(m->stats().hot_bytes, 0u);
  EXPECT_TRUE(AllZero(again->get(), 64 * K));
}

TEST(FolioMemoryTest, ReuseCrossesThreads) {
  auto m = Make(4 * M);
  std::vector<FolioBuffer> bufs;
  std::thread producer([&] {
    for (int i = 0; i < 16; i++) bufs.push_back(std::move(m->Allocate(256 * K)).value());
  });
  producer.join();
  const uint64_t chunks = m->stats().chunks;
  std::thread freer([&] { bufs.clear(); });
  freer.join();
  // A third thread allocates the same amount again: all of it from the freed slots.
  std::thread consumer([&] {
    for (int i = 0; i < 16; i++) bufs.push_back(std::move(m->Allocate(256 * K)).value());
  });
  consumer.join();
  EXPECT_EQ(m->stats().reused, 16u);
  EXPECT_EQ(m->stats().chunks, chunks);
  bufs.clear();
}

TEST(FolioMemoryTest, FreesBeyondTheReserveAreReleased) {
  auto m = Make(256 * K);
  std::vector<FolioBuffer> bufs;
  for (int i = 0; i < 64; i++) {
    bufs.push_back(std::move(m->Allocate(16 * K)).value());
    std::memset(bufs.back().get(), 7, 16 * K);
  }
  EXPECT_EQ(m->stats().live_bytes, 64 * 16 * K);
  // Free every other buffer: the chunk stays (half used), 16 slots stay hot,
  // the other 16 are released to the kernel.
  std::vector<uint8_t*> freed;
  for (size_t i = 0; i < bufs.size(); i += 2) {
    freed.push_back(bufs[i].get());
    bufs[i].Reset();
  }
  const auto s = m->stats();
  EXPECT_EQ(s.hot_bytes, 256 * K);
  EXPECT_EQ(s.released_bytes, 256 * K);
  EXPECT_EQ(s.live_bytes, 32 * 16 * K);
  uint64_t resident = 0;
  for (uint8_t* p : freed) resident += ResidentPages(p, 16 * K);
  EXPECT_EQ(resident, 256 * K / 4096);  // the hot ones only
  bufs.clear();
}

TEST(FolioMemoryTest, EmptyChunksAreUnmapped) {
  auto m = Make(0);
  {
    std::vector<FolioBuffer> bufs;
    for (int i = 0; i < 40; i++) bufs.push_back(std::move(m->Allocate(128 * K)).value());
    EXPECT_EQ(m->stats().chunks, 3u);  // 16 slots of 128 KiB per 2 MiB chunk
    EXPECT_EQ(m->stats().mapped_bytes, 6 * M);
  }
  EXPECT_EQ(m->stats().chunks, 0u);
  EXPECT_EQ(m->stats().mapped_bytes, 0u);
  EXPECT_EQ(m->stats().live_bytes, 0u);
}

TEST(FolioMemoryTest, LoweringTheLimitReleasesHotSlots) {
  auto m = Make(8 * M);
  {
    std::vector<FolioBuffer> bufs;
    for (int i = 0; i < 32; i++) {
      bufs.push_back(std::move(m->Allocate(64 * K)).value());
      std::memset(bufs.back().get(), 3, 64 * K);
    }
  }
  EXPECT_EQ(m->stats().hot_bytes, 2 * M);
  EXPECT_EQ(m->stats().chunks, 1u);  // empty, but its slots are hot: kept
  m->SetRetainLimit(1 * M);
  EXPECT_EQ(m->stats().hot_bytes, 1 * M);
  EXPECT_EQ(m->stats().chunks, 1u);
  m->ReleaseFree();
  EXPECT_EQ(m->stats().hot_bytes, 0u);
  EXPECT_EQ(m->stats().chunks, 0u);
  EXPECT_EQ(m->stats().released_bytes, 2 * M);
}

TEST(FolioMemoryTest, LargeBuffersAreMappedDirectly) {
  auto m = Make(8 * M);
  {
    auto b = m->Allocate(4 * M);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(m->stats().direct, 1u);
    EXPECT_EQ(m->stats().mapped_bytes, 4 * M);
    EXPECT_EQ(m->stats().chunks, 0u);
  }
  EXPECT_EQ(m->stats().mapped_bytes, 0u);
  EXPECT_EQ(m->stats().hot_bytes, 0u);
}

TEST(FolioMemoryTest, MovedBufferIsFreedOnce) {
  auto m = Make(1 * M);
  FolioBuffer a = std::move(m->Allocate(8 * K)).value();
  FolioBuffer b = std::move(a);
  EXPECT_FALSE(a);
  EXPECT_TRUE(b);
  b = FolioBuffer();
  EXPECT_EQ(m->stats().live_bytes, 0u);
  EXPECT_EQ(m->stats().hot_bytes, 8 * K);
}

TEST(FolioMemoryTest, ConcurrentAllocateAndFreeKeepCountsExact) {
  auto m = Make(512 * K);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      std::vector<FolioBuffer> mine;
      for (int i = 0; i < 2000; i++) {
        const uint64_t size = uint64_t{4 * K} << ((i + t) % 5);
        auto b = m->Allocate(size);
        ASSERT_TRUE(b.ok());
        ASSERT_TRUE(AllZero(b->get(), 64)) << "slot not zeroed";
        b->get()[0] = 1;
        mine.push_back(std::move(b).value());
        if (mine.size() > 50) mine.erase(mine.begin(), mine.begin() + 25);
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto s = m->stats();
  EXPECT_EQ(s.live_bytes, 0u);
  EXPECT_LE(s.hot_bytes, 512 * K);
  m->ReleaseFree();
  EXPECT_EQ(m->stats().chunks, 0u);
}

TEST(FolioMemoryTest, FolioBytesComeFromTheGivenMemoryAndGoBackWithTheLastRef) {
  auto m = Make(1 * M);
  FolioRef ref;
  {
    auto folio = Folio::Create(256 * K, 4096, 6, *m);  // 256 KiB
    ASSERT_TRUE(folio.ok());
    EXPECT_EQ(m->stats().live_bytes, 256 * K);
    EXPECT_TRUE(AllZero((*folio)->data(), 256 * K));
    ref = *folio;
  }
  EXPECT_EQ(m->stats().live_bytes, 256 * K);  // still referenced
  ref.reset();
  EXPECT_EQ(m->stats().live_bytes, 0u);
  EXPECT_EQ(m->stats().hot_bytes, 256 * K);
}

}  // namespace
}  // namespace foliofs
