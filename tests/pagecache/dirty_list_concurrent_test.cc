// PageCache's dirty list and cached set under concurrency (the TSan
// configuration runs these): mappings dirtied and destroyed while flushers
// with a short interval pick them, reclaim walks them and SyncAll pins them;
// and many long-lived mappings dirtied, truncated, invalidated and fsynced
// from several threads while the flushers and reclaim run. At the end the
// cache's counters are back to zero and the flushers still find new dirty
// mappings (the lists were not corrupted). Waits are deadline loops.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "pagecache/pagecache.h"
#include "tests/support/wait_until.h"
#include "tests/pagecache/recording_ops.h"
#include "tests/support/watchdog.h"

namespace foliofs {
namespace {

using testing_ops::DirtyFolio;
using testing_ops::DirtyRange;
using testing_ops::RecordingOps;
using testsupport::Watchdog;
using namespace std::chrono_literals;

constexpr uint64_t K = 1024;
constexpr uint64_t M = 1024 * K;

using testsupport::WaitUntil;

PageCacheOptions Busy(uint64_t cache_size) {
  PageCacheOptions o;
  o.cache_size = cache_size;
  o.dirty_background_percent = 5;
  o.dirty_percent = 20;
  o.dirty_expire = 1ms;
  o.flush_interval = 1ms;
  o.flusher_threads = 2;
  o.writeback_chunk = 16 * K;
  return o;
}

// A fresh dirty mapping is still picked up by the flushers.
void ExpectFlushersStillWork(PageCache& cache, RecordingOps& ops) {
  auto m = std::move(cache.NewMapping(4096, &ops).value());
  ASSERT_TRUE(DirtyFolio(*m, 0, 0));
  cache.WakeFlushers();
  EXPECT_TRUE(WaitUntil([&] { return m->dirty_count() == 0; }));
}

TEST(DirtyListConcurrentTest, DirtyMappingsDestroyedWhileFlushersReclaimAndSyncAllUseThem) {
  Watchdog dog("destroy dirty mappings under flushers", std::chrono::seconds(300));
  RecordingOps ops;
  auto cache = std::move(PageCache::Create(Busy(2 * M)).value());
  // Long-lived clean and empty mappings the walkers must pass over.
  std::vector<std::unique_ptr<Mapping>> idle;
  for (int i = 0; i < 2000; i++) idle.push_back(std::move(cache->NewMapping(4096, &ops).value()));

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; t++) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 1500; i++) {
        auto m = std::move(cache->NewMapping(4096, &ops).value());
        const int folios = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < folios; f++)
          if (!DirtyFolio(*m, f * 16 * K, rng() % 3)) failures++;
        if (rng() % 4 == 0) cache->WakeFlushers();
        if (rng() % 8 == 0) std::this_thread::sleep_for(200us);
        cache->BalanceDirty();
        // Destroyed dirty or mid-writeback (the destructor waits for the
        // flusher's pin): the lists must drop it either way.
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop.load()) {
      cache->DropClean();
      std::this_thread::sleep_for(100us);
    }
  });
  threads.emplace_back([&] {
    while (!stop.load()) {
      if (!cache->SyncAll().ok()) failures++;
      std::this_thread::sleep_for(500us);
    }
  });
  for (int t = 0; t < 3; t++) threads[t].join();
  stop = true;
  for (size_t t = 3; t < threads.size(); t++) threads[t].join();

  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(cache->dirty_bytes(), 0u);
  EXPECT_EQ(cache->writeback_bytes(), 0u);
  EXPECT_EQ(cache->bytes(), 0u);
  ExpectFlushersStillWork(*cache, ops);
  idle.clear();
  cache.reset();
}

TEST(DirtyListConcurrentTest, ManyMappingsDirtiedTruncatedAndFsyncedConcurrently) {
  Watchdog dog("dirty/truncate/fsync many mappings", std::chrono::seconds(300));
  RecordingOps ops;
  auto cache = std::move(PageCache::Create(Busy(1 * M)).value());
  constexpr int kMaps = 3000;
  std::vector<std::unique_ptr<Mapping>> maps;
  for (int i = 0; i < kMaps; i++) maps.push_back(std::move(cache->NewMapping(4096, &ops).value()));

  // Truncate and invalidate require the caller to keep new folios out of
  // the range (the filesystem's invalidate lock): a striped test lock per
  // mapping serializes the changing operations of one mapping; writeback,
  // fsync, the flushers and reclaim run concurrently with them.
  std::mutex stripes[64];
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      for (int i = 0; i < 4000; i++) {
        const size_t idx = rng() % kMaps;
        Mapping& m = *maps[idx];
        const uint64_t pos = (rng() % 8) * 16 * K;
        const unsigned op = rng() % 6;
        std::unique_lock lk(stripes[idx % 64], std::defer_lock);
        if (op != 5) lk.lock();
        switch (op) {
          case 0:
          case 1:
            if (!DirtyFolio(m, pos, 2)) failures++;
            break;
          case 2:
            if (!DirtyRange(m, pos, 2, 4 * K, 4 * K)) failures++;
            break;
          case 3:
            m.TruncateRange(pos, UINT64_MAX);
            break;
          case 4:
            m.InvalidateRange(pos + 4 * K, pos + 8 * K);
            break;
          case 5:
            if (!m.WriteAndWait(0, UINT64_MAX).ok()) failures++;
            break;
        }
        if (lk.owns_lock()) lk.unlock();
        cache->BalanceDirty();
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(cache->SyncAll().ok());
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(cache->dirty_bytes(), 0u);
  for (const auto& m : maps) EXPECT_EQ(m->dirty_count(), 0u);
  cache->DropClean();
  EXPECT_EQ(cache->bytes(), 0u);
  ExpectFlushersStillWork(*cache, ops);
  maps.clear();
  cache.reset();
}

}  // namespace
}  // namespace foliofs
