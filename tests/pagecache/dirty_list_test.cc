// PageCache's dirty list and cached set with many registered mappings: the
// flushers write back exactly the dirty mappings, oldest-dirtied first; a
// mapping that becomes clean (writeback, truncate, invalidate) is never
// picked; a redirtied mapping gets its new age; SyncAll still writes every
// dirty mapping; reclaim finds the mappings with folios among thousands of
// empty ones and keeps CLOCK's second chance. The flushers are observed
// through RecordingOps; waits are deadline loops, no assertion on timing.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
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
constexpr size_t kMany = 20000;

using testsupport::WaitUntil;

// Sleeps until the steady clock has moved past every stamp taken so far, so
// the next mapping to go clean → dirty gets a strictly newer dirtied_when.
void NextStamp(const Mapping& last) {
  const auto when = last.dirtied_when();
  while (std::chrono::steady_clock::now() <= when + 1us) std::this_thread::sleep_for(50us);
}

// A cache whose flushers act only when woken; expired after `expire`.
PageCacheOptions WokenOnly(uint64_t cache_size, std::chrono::milliseconds expire) {
  PageCacheOptions o;
  o.cache_size = cache_size;
  o.dirty_expire = expire;
  o.flush_interval = 3600s;
  o.flusher_threads = 1;
  return o;
}

// `n` mappings of one cache sharing one RecordingOps. Mappings die before
// the cache (joins the flushers), the cache before the ops.
struct Many {
  Many(const PageCacheOptions& o, size_t n) {
    cache = std::move(PageCache::Create(o).value());
    maps.reserve(n);
    for (size_t i = 0; i < n; i++)
      maps.push_back(std::move(cache->NewMapping(4096, &ops).value()));
  }
  ~Many() { Stop(); }
  // Destroys the mappings and the cache: no flusher runs after this, so the
  // record is final.
  void Stop() {
    maps.clear();
    cache.reset();
  }

  RecordingOps ops;
  std::unique_ptr<PageCache> cache;
  std::vector<std::unique_ptr<Mapping>> maps;
};

// Waits until every mapping in `ms` has expired (dirty for dirty_expire).
void WaitExpired(const std::vector<Mapping*>& ms, std::chrono::milliseconds expire) {
  for (Mapping* m : ms)
    while (std::chrono::steady_clock::now() - m->dirtied_when() <= expire)
      std::this_thread::sleep_for(1ms);
}

TEST(DirtyListTest, FlusherWritesExactlyTheDirtyMappingsOldestFirst) {
  Watchdog dog("flusher over 20,000 mappings", std::chrono::seconds(120));
  Many w(WokenOnly(256 * M, 1ms), kMany);
  // Dirtied in an order unrelated to registration order.
  Mapping* order[] = {w.maps[15000].get(), w.maps[7].get(), w.maps[kMany - 1].get()};
  for (Mapping* m : order) {
    ASSERT_TRUE(DirtyFolio(*m, 0, 2));
    NextStamp(*m);
  }
  WaitExpired({order[0], order[1], order[2]}, 1ms);
  w.cache->WakeFlushers();
  ASSERT_TRUE(WaitUntil([&] { return w.cache->dirty_bytes() == 0; }));
  ASSERT_TRUE(WaitUntil([&] { return w.ops.calls().size() >= 3; }));
  w.Stop();
  const std::vector<const Mapping*> want = {order[0], order[1], order[2]};
  EXPECT_EQ(w.ops.background_mappings(), want);
  for (const auto& c : w.ops.calls()) EXPECT_EQ(c.written, 16 * K);
}

TEST(DirtyListTest, MappingsMadeCleanByTruncateInvalidateOrFsyncAreNeverWritten) {
  Many w(WokenOnly(256 * M, 1ms), kMany);
  Mapping& truncated = *w.maps[100];
  Mapping& kept = *w.maps[200];
  Mapping& invalidated = *w.maps[300];
  Mapping& fsynced = *w.maps[400];
  ASSERT_TRUE(DirtyFolio(truncated, 0, 2));
  ASSERT_TRUE(DirtyFolio(truncated, 64 * K, 0));
  ASSERT_TRUE(DirtyFolio(kept, 0, 2));
  // One dirty block in a 16 KiB folio; invalidating just that block leaves
  // the folio cached but clean.
  ASSERT_TRUE(DirtyRange(invalidated, 0, 2, 4 * K, 4 * K));
  ASSERT_TRUE(DirtyFolio(fsynced, 0, 2));

  truncated.TruncateRange(0, UINT64_MAX);
  invalidated.InvalidateRange(4 * K, 8 * K);
  ASSERT_TRUE(fsynced.WriteAndWait(0, UINT64_MAX).ok());
  EXPECT_EQ(truncated.dirty_count(), 0u);
  EXPECT_EQ(invalidated.dirty_count(), 0u);
  EXPECT_EQ(invalidated.folio_count(), 1u);
  EXPECT_EQ(fsynced.dirty_count(), 0u);
  EXPECT_EQ(truncated.dirtied_when(), std::chrono::steady_clock::time_point{});

  WaitExpired({&kept}, 1ms);
  w.cache->WakeFlushers();
  ASSERT_TRUE(WaitUntil([&] { return w.cache->dirty_bytes() == 0; }));
  ASSERT_TRUE(WaitUntil([&] { return !w.ops.background_mappings().empty(); }));
  w.Stop();
  const std::vector<const Mapping*> want = {&kept};
  EXPECT_EQ(w.ops.background_mappings(), want);
}

TEST(DirtyListTest, ARedirtiedMappingIsWrittenAgainWithItsNewAge) {
  Many w(WokenOnly(256 * M, 1ms), 1000);
  Mapping& a = *w.maps[10];
  Mapping& b = *w.maps[20];
  ASSERT_TRUE(DirtyFolio(a, 0, 0));
  NextStamp(a);
  ASSERT_TRUE(DirtyFolio(b, 0, 0));
  WaitExpired({&a, &b}, 1ms);
  w.cache->WakeFlushers();
  ASSERT_TRUE(WaitUntil([&] { return w.ops.background_mappings().size() >= 2; }));
  EXPECT_EQ(w.ops.background_mappings(), (std::vector<const Mapping*>{&a, &b}));

  // Now b is dirtied first: it is the older one.
  w.ops.Clear();
  ASSERT_TRUE(DirtyFolio(b, 0, 0));
  NextStamp(b);
  ASSERT_TRUE(DirtyFolio(a, 0, 0));
  WaitExpired({&a, &b}, 1ms);
  w.cache->WakeFlushers();
  ASSERT_TRUE(WaitUntil([&] { return w.ops.background_mappings().size() >= 2; }));
  w.Stop();
  EXPECT_EQ(w.ops.background_mappings(), (std::vector<const Mapping*>{&b, &a}));
}

TEST(DirtyListTest, BackgroundWritebackTakesTheOldestMappingsInChunksUntilBelowTheThreshold) {
  PageCacheOptions o = WokenOnly(64 * M, 3600s);  // nothing expires
  o.dirty_background_percent = 1;                  // 671,088 bytes
  o.writeback_chunk = 64 * K;                      // one 256 KiB folio per call
  Many w(o, kMany);
  Mapping& a = *w.maps[kMany - 1];
  Mapping& b = *w.maps[5];
  Mapping& c = *w.maps[9000];
  for (Mapping* m : {&a, &b, &c}) {
    ASSERT_TRUE(DirtyFolio(*m, 0, 6));
    ASSERT_TRUE(DirtyFolio(*m, 256 * K, 6));
    NextStamp(*m);
  }
  ASSERT_EQ(w.cache->dirty_bytes(), 1536 * K);
  w.cache->WakeFlushers();
  // a and b written (1 MiB), c's 512 KiB are under the threshold.
  ASSERT_TRUE(WaitUntil([&] { return b.dirty_count() == 0; }));
  ASSERT_TRUE(WaitUntil([&] { return w.ops.calls().size() >= 4; }));
  EXPECT_EQ(c.dirty_count(), 2u);
  w.Stop();
  EXPECT_EQ(w.ops.background_mappings(), (std::vector<const Mapping*>{&a, &a, &b, &b}));
}

TEST(DirtyListTest, SyncAllStillWritesEveryDirtyMapping) {
  Many w(WokenOnly(256 * M, 3600s), kMany);
  std::vector<Mapping*> dirty;
  for (size_t i = 0; i < kMany; i += kMany / 50) {
    ASSERT_TRUE(DirtyFolio(*w.maps[i], 0, 0));
    dirty.push_back(w.maps[i].get());
  }
  ASSERT_TRUE(w.cache->SyncAll().ok());
  EXPECT_EQ(w.cache->dirty_bytes(), 0u);
  std::vector<const Mapping*> written;
  for (const auto& c : w.ops.calls())
    if (c.sync && c.written > 0) written.push_back(c.mapping);
  for (Mapping* m : dirty) {
    EXPECT_EQ(m->dirty_count(), 0u);
    EXPECT_EQ(std::count(written.begin(), written.end(), m), 1);
  }
  EXPECT_EQ(written.size(), dirty.size());
}

TEST(DirtyListTest, ReclaimFindsTheFewMappingsWithFoliosAmongThousandsOfEmptyOnes) {
  Many w(WokenOnly(1 * M, 3600s), kMany);
  Mapping& x = *w.maps[kMany / 2];
  Mapping& y = *w.maps[3];
  for (uint64_t i = 0; i < 256; i++) ASSERT_TRUE(x.GetOrCreate(i * 4 * K, 0).ok());
  ASSERT_EQ(w.cache->bytes(), 1 * M);
  // Every folio of x is referenced (just created): reclaim must clear the
  // bits in its first round and drop folios in its second (second chance).
  for (uint64_t i = 0; i < 64; i++) ASSERT_TRUE(y.GetOrCreate(i * 4 * K, 0).ok());
  EXPECT_EQ(w.cache->stats().overcommits, 0u);
  EXPECT_LE(w.cache->bytes(), 1 * M);
  EXPECT_GT(w.cache->stats().reclaimed_bytes, 0u);

  // A mapping emptied by truncate and filled again is found again.
  x.TruncateRange(0, UINT64_MAX);
  y.TruncateRange(0, UINT64_MAX);
  EXPECT_EQ(w.cache->bytes(), 0u);
  for (uint64_t i = 0; i < 8; i++) ASSERT_TRUE(x.GetOrCreate(i * 4 * K, 0).ok());
  EXPECT_EQ(w.cache->DropClean(), 32 * K);
  EXPECT_EQ(x.folio_count(), 0u);
  EXPECT_EQ(w.cache->bytes(), 0u);
}

TEST(DirtyListTest, ADestroyedDirtyMappingIsNeverWrittenAndOthersStillAre) {
  Many w(WokenOnly(256 * M, 1ms), 100);
  ASSERT_TRUE(DirtyFolio(*w.maps[1], 0, 0));
  NextStamp(*w.maps[1]);
  ASSERT_TRUE(DirtyFolio(*w.maps[2], 0, 0));
  const Mapping* survivor = w.maps[2].get();
  w.maps[1].reset();  // dirty, destroyed: its dirty bytes leave with it
  EXPECT_EQ(w.cache->dirty_bytes(), 4 * K);
  WaitExpired({w.maps[2].get()}, 1ms);
  w.cache->WakeFlushers();
  ASSERT_TRUE(WaitUntil([&] { return w.cache->dirty_bytes() == 0; }));
  ASSERT_TRUE(WaitUntil([&] { return !w.ops.calls().empty(); }));
  w.Stop();
  EXPECT_EQ(w.ops.background_mappings(), (std::vector<const Mapping*>{survivor}));
}

}  // namespace
}  // namespace foliofs
