// PageCache under concurrency (the TSan configuration runs these): writers,
// real flusher threads, reclaim in a small cache, truncation, WriteAndWait
// and a verifier, on two device-backed mappings; the device and the cache are
// checked against an expected byte array at the end. The modifying
// operations (write, truncate) and the verifier are serialized by a test
// mutex so the expected result is exact; flushers, reclaim, throttling and
// WriteAndWait run truly concurrently with them and with each other.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "pagecache/blockdev/memory_device.h"
#include "pagecache/pagecache.h"
#include "tests/pagecache/device_ops.h"
#include "tests/support/watchdog.h"

namespace foliofs {
namespace {

using testing_ops::DeviceOps;
using testsupport::Watchdog;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr uint64_t K = 1024;
constexpr uint64_t M = 1024 * K;
constexpr uint32_t kBlock = 4096;
constexpr uint64_t kSpace = 4 * M;  // per file; two files in a 2 MiB cache

struct File {
  std::unique_ptr<DeviceOps> ops;
  std::unique_ptr<Mapping> m;
  uint64_t base = 0;                 // device offset of file position 0
  std::vector<uint8_t> expect;       // guarded by World::model_mu
};

struct World {
  World() {
    mem = std::move(MemoryDevice::Create(2 * kSpace).value());
    PageCacheOptions o;
    o.cache_size = 2 * M;
    o.dirty_background_percent = 10;
    o.dirty_percent = 40;
    o.dirty_expire = 20ms;
    o.flush_interval = 5ms;
    o.flusher_threads = 2;
    o.writeback_chunk = 128 * K;
    cache = std::move(PageCache::Create(o).value());
    for (int i = 0; i < 2; i++) {
      File& f = files[i];
      f.base = i * kSpace;
      f.ops = std::make_unique<DeviceOps>(*mem, f.base);
      f.m = std::move(cache->NewMapping(kBlock, f.ops.get()).value());
      f.expect.assign(kSpace, 0);
    }
  }
  ~World() {
    for (File& f : files) f.m.reset();  // before the cache
  }

  std::unique_ptr<MemoryDevice> mem;
  std::unique_ptr<PageCache> cache;
  File files[2];
  std::mutex model_mu;  // serializes writes, truncates and verification
  std::atomic<uint64_t> mismatches{0};
  std::atomic<uint64_t> errors{0};
};

// Writes `len` bytes (block aligned) at `pos` through the cache, one folio at
// a time, updating the model under model_mu. BalanceDirty after, unlocked.
void WriteRange(World& w, File& f, uint64_t pos, uint64_t len, uint8_t seed, uint32_t order) {
  {
    std::lock_guard model(w.model_mu);
    for (uint64_t cur = pos; cur < pos + len;) {
      auto r = f.m->GetOrCreate(cur, order);
      if (!r.ok()) {
        w.errors++;
        return;
      }
      Folio& folio = **r;
      folio.Lock();
      if (folio.mapping() != f.m.get()) {  // reclaimed between create and lock
        folio.Unlock();
        continue;
      }
      const uint64_t to = std::min(pos + len, folio.end());
      for (uint64_t p = cur; p < to; p++) {
        const uint8_t b = static_cast<uint8_t>(seed + p / 512);
        folio.data()[p - folio.pos()] = b;
        f.expect[p] = b;
      }
      folio.MarkUptodate(cur - folio.pos(), to - cur);
      folio.MarkDirty(cur - folio.pos(), to - cur);
      folio.Unlock();
      cur = to;
    }
  }
  w.cache->BalanceDirty();
}

void Truncate(World& w, File& f, uint64_t start, uint64_t end) {
  std::lock_guard model(w.model_mu);
  f.m->TruncateRange(start, end == kSpace ? UINT64_MAX : end);
  // The filesystem would free the blocks; the model's device reads zeros.
  // Safe: every folio of the range has left writeback, and no folio holds a
  // dirty block of it any more.
  std::vector<uint8_t> zeros(end - start, 0);
  w.mem->Poke(f.base + start, zeros.data(), zeros.size());
  std::fill(f.expect.begin() + start, f.expect.begin() + end, 0);
}

// Under model_mu: the block at pos reads as expected, from the cache when
// the folio has it uptodate, else from the device.
void VerifyBlock(World& w, File& f, uint64_t pos) {
  std::lock_guard model(w.model_mu);
  std::vector<uint8_t> got(kBlock);
  FolioRef folio = f.m->Lookup(pos);
  bool from_cache = false;
  if (folio) {
    folio->Lock();
    if (folio->mapping() == f.m.get() && folio->IsUptodate(pos - folio->pos(), kBlock)) {
      std::memcpy(got.data(), folio->data() + (pos - folio->pos()), kBlock);
      from_cache = true;
    }
    if (!from_cache) w.mem->Peek(f.base + pos, got.data(), kBlock);
    folio->Unlock();
  } else {
    w.mem->Peek(f.base + pos, got.data(), kBlock);
  }
  if (std::memcmp(got.data(), f.expect.data() + pos, kBlock) != 0) w.mismatches++;
}

// Diagnostics: which paths the run exercised (they vary with scheduling).
void PrintStats(const PageCache::Stats& s) {
  std::printf("  stats: reclaimed %llu KiB, reclaim_waits %llu, overcommits %llu, "
              "throttle_waits %llu, flusher_passes %llu\n",
              static_cast<unsigned long long>(s.reclaimed_bytes / 1024),
              static_cast<unsigned long long>(s.reclaim_waits),
              static_cast<unsigned long long>(s.overcommits),
              static_cast<unsigned long long>(s.throttle_waits),
              static_cast<unsigned long long>(s.flusher_passes));
}

uint64_t RandomBlock(std::mt19937_64& rng) { return rng() % (kSpace / kBlock) * kBlock; }

TEST(PageCacheConcurrentTest, WritersFlushersReclaimTruncateAndFsyncKeepDataExact) {
  World w;
  Watchdog dog("page cache concurrent workload", std::chrono::seconds(240));
  const auto stop = Clock::now() + 2s;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; t++) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      while (Clock::now() < stop) {
        File& f = w.files[rng() % 2];
        const uint64_t pos = RandomBlock(rng);
        const uint64_t len = std::min<uint64_t>((1 + rng() % 24) * kBlock, kSpace - pos);
        WriteRange(w, f, pos, len, static_cast<uint8_t>(rng()), static_cast<uint32_t>(rng() % 7));
      }
    });
  }
  threads.emplace_back([&] {  // truncate / punch, block aligned
    std::mt19937_64 rng(200);
    while (Clock::now() < stop) {
      File& f = w.files[rng() % 2];
      const uint64_t start = RandomBlock(rng);
      const uint64_t end = rng() % 4 == 0 ? kSpace
                                          : std::min(kSpace, start + (1 + rng() % 32) * kBlock);
      Truncate(w, f, start, end);
      std::this_thread::sleep_for(2ms);
    }
  });
  threads.emplace_back([&] {  // fsync
    std::mt19937_64 rng(300);
    while (Clock::now() < stop) {
      File& f = w.files[rng() % 2];
      if (!f.m->WriteAndWait(0, UINT64_MAX).ok()) w.errors++;
      std::this_thread::sleep_for(3ms);
    }
  });
  threads.emplace_back([&] {  // verifier
    std::mt19937_64 rng(400);
    while (Clock::now() < stop) VerifyBlock(w, w.files[rng() % 2], RandomBlock(rng));
  });
  for (auto& t : threads) t.join();

  for (File& f : w.files) ASSERT_TRUE(f.m->WriteAndWait(0, UINT64_MAX).ok());
  dog.Done();
  EXPECT_EQ(w.errors.load(), 0u);
  EXPECT_EQ(w.mismatches.load(), 0u);
  const std::vector<uint8_t> device = w.mem->Snapshot();
  for (File& f : w.files) {
    EXPECT_EQ(f.m->dirty_count(), 0u);
    size_t bad = 0;
    for (uint64_t p = 0; p < kSpace; p++) bad += device[f.base + p] != f.expect[p];
    EXPECT_EQ(bad, 0u) << "device bytes differ from the model in file at " << f.base;
    for (uint64_t p = 0; p < kSpace; p += kBlock) VerifyBlock(w, f, p);
  }
  EXPECT_EQ(w.mismatches.load(), 0u);
  EXPECT_EQ(w.cache->dirty_bytes(), 0u);
  EXPECT_EQ(w.cache->writeback_bytes(), 0u);
  EXPECT_EQ(w.cache->bytes(), w.files[0].m->bytes() + w.files[1].m->bytes());
  const PageCache::Stats s = w.cache->stats();
  PrintStats(s);
  EXPECT_GT(s.reclaimed_bytes, 0u) << "4 MiB files in a 2 MiB cache must reclaim";
  EXPECT_GT(s.flusher_passes, 0u);
  EXPECT_EQ(s.flusher_errors, 0u);
}

// Writers on their own mappings (no test mutex at all) in a cache where
// almost everything is dirty: creators wait for writeback, writers are
// throttled, a thread drops clean folios and syncs. Nothing may hang, and
// each file ends up on the device exactly as its writer left it.
TEST(PageCacheConcurrentTest, CreatorsAndThrottledWritersUnderMemoryPressureNeverHang) {
  constexpr int kWriters = 3;
  constexpr uint64_t kFile = 2 * M;
  auto mem = std::move(MemoryDevice::Create(kWriters * kFile).value());
  PageCacheOptions o;
  o.cache_size = 1 * M;
  o.dirty_background_percent = 50;
  o.dirty_percent = 90;
  o.dirty_expire = 1s;
  o.flush_interval = 50ms;
  o.flusher_threads = 2;
  o.writeback_chunk = 64 * K;
  auto cache = std::move(PageCache::Create(o).value());
  std::vector<std::unique_ptr<DeviceOps>> ops;
  std::vector<std::unique_ptr<Mapping>> maps;
  std::vector<std::vector<uint8_t>> expect(kWriters, std::vector<uint8_t>(kFile, 0));
  for (int i = 0; i < kWriters; i++) {
    ops.push_back(std::make_unique<DeviceOps>(*mem, i * kFile));
    maps.push_back(std::move(cache->NewMapping(kBlock, ops.back().get()).value()));
  }
  Watchdog dog("creators under memory pressure", std::chrono::seconds(240));
  const auto stop = Clock::now() + 1500ms;
  std::atomic<uint64_t> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; i++) {
    threads.emplace_back([&, i] {
      std::mt19937_64 rng(500 + i);
      Mapping& m = *maps[i];
      while (Clock::now() < stop) {
        const uint64_t pos = rng() % (kFile / (16 * K)) * 16 * K;
        auto r = m.GetOrCreate(pos, 2);
        if (!r.ok()) {
          errors++;
          continue;
        }
        Folio& f = **r;
        f.Lock();
        if (f.mapping() == &m) {
          const uint8_t b = static_cast<uint8_t>(rng() | 1);
          std::memset(f.data(), b, f.size());
          std::memset(expect[i].data() + f.pos(), b, f.size());
          f.MarkUptodate(0, f.size());
          f.MarkDirty(0, f.size());
        }
        f.Unlock();
        cache->BalanceDirty();
      }
    });
  }
  threads.emplace_back([&] {
    while (Clock::now() < stop) {
      cache->DropClean();
      if (!cache->SyncAll().ok()) errors++;
      std::this_thread::sleep_for(20ms);
    }
  });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(cache->SyncAll().ok());
  dog.Done();
  EXPECT_EQ(errors.load(), 0u);
  EXPECT_EQ(cache->dirty_bytes(), 0u);
  const std::vector<uint8_t> device = mem->Snapshot();
  for (int i = 0; i < kWriters; i++)
    EXPECT_EQ(0, std::memcmp(device.data() + i * kFile, expect[i].data(), kFile)) << i;
  const PageCache::Stats s = cache->stats();
  PrintStats(s);
  EXPECT_GT(s.reclaimed_bytes, 0u);
  maps.clear();
  EXPECT_EQ(cache->bytes(), 0u);
}

}  // namespace
}  // namespace foliofs
