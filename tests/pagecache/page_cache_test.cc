// PageCache: flushers (expiry, background threshold), writer throttling,
// reclaim (budget, CLOCK, what is never reclaimed, waiting and
// overcommitting), WriteAndWait and the error record, and truncate's
// writeback wait without the folio lock. Waits use deadline loops; no
// assertion depends on timing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "pagecache/base/held_handles.h"
#include "pagecache/blockdev/faulty_device.h"
#include "pagecache/blockdev/memory_device.h"
#include "pagecache/pagecache.h"
#include "tests/support/wait_until.h"
#include "tests/pagecache/device_ops.h"
#include "tests/support/watchdog.h"

namespace foliofs {
namespace {

using testing_ops::DeviceOps;
using testsupport::Watchdog;
using namespace std::chrono_literals;

constexpr uint64_t K = 1024;
constexpr uint64_t M = 1024 * K;

// Polls `pred` until it holds or 30 s pass (a deadline, not a timing claim).
using testsupport::WaitUntil;

PageCacheOptions QuietOptions(uint64_t cache_size) {
  PageCacheOptions o;
  o.cache_size = cache_size;
  o.dirty_expire = 3600s;  // flushers act only when asked or over a threshold
  o.flush_interval = 3600s;
  o.flusher_threads = 1;
  return o;
}

// A device-backed cache with one mapping. Members die in reverse order:
// mapping, cache (joins flushers), ops, device.
struct Env {
  explicit Env(const PageCacheOptions& o, uint64_t device_size = 40 * M) {
    auto d = MemoryDevice::Create(device_size);
    EXPECT_TRUE(d.ok());
    mem = std::shared_ptr<MemoryDevice>(std::move(d).value());
    faulty = std::make_unique<FaultyDevice>(mem);
    ops = std::make_unique<DeviceOps>(*faulty);
    auto c = PageCache::Create(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    cache = std::move(c).value();
    auto mm = cache->NewMapping(4096, ops.get());
    EXPECT_TRUE(mm.ok());
    m = std::move(mm).value();
  }
  std::vector<uint8_t> DeviceBytes(uint64_t pos, uint64_t len) const {
    std::vector<uint8_t> out(len);
    mem->Peek(pos, out.data(), len);
    return out;
  }

  std::shared_ptr<MemoryDevice> mem;
  std::unique_ptr<FaultyDevice> faulty;
  std::unique_ptr<DeviceOps> ops;
  std::unique_ptr<PageCache> cache;
  std::unique_ptr<Mapping> m;
};

// Fills the whole folio at pos with `byte`, uptodate and dirty.
FolioRef WriteFolio(Mapping& m, uint64_t pos, uint32_t order, uint8_t byte) {
  auto r = m.GetOrCreate(pos, order);
  EXPECT_TRUE(r.ok());
  FolioRef f = std::move(r).value();
  f->Lock();
  EXPECT_EQ(f->mapping(), &m);
  std::memset(f->data(), byte, f->size());
  f->MarkUptodate(0, f->size());
  f->MarkDirty(0, f->size());
  f->Unlock();
  return f;
}

// A clean uptodate folio (as after a read).
void ReadFolio(Mapping& m, uint64_t pos, uint32_t order) {
  auto r = m.GetOrCreate(pos, order);
  ASSERT_TRUE(r.ok());
  FolioRef f = std::move(r).value();
  f->Lock();
  f->MarkUptodate(0, f->size());
  f->Unlock();
}

bool AllBytes(const std::vector<uint8_t>& v, uint8_t byte) {
  for (uint8_t b : v)
    if (b != byte) return false;
  return true;
}

// ---- options and accounting --------------------------------------------------

TEST(PageCacheTest, CreateRejectsBadOptions) {
  PageCacheOptions o;
  o.cache_size = 512 * K;
  EXPECT_EQ(PageCache::Create(o).err(), EINVAL);
  o = PageCacheOptions();
  o.dirty_percent = o.dirty_background_percent;
  EXPECT_EQ(PageCache::Create(o).err(), EINVAL);
  o = PageCacheOptions();
  o.dirty_percent = 101;
  EXPECT_EQ(PageCache::Create(o).err(), EINVAL);
  o = PageCacheOptions();
  o.flusher_threads = 0;
  EXPECT_EQ(PageCache::Create(o).err(), EINVAL);
  auto cache = std::move(PageCache::Create(PageCacheOptions()).value());
  EXPECT_EQ(cache->NewMapping(1000, nullptr).err(), EINVAL);
  EXPECT_EQ(cache->NewMapping(4096, nullptr, 2048).err(), EINVAL);
  EXPECT_EQ(cache->NewMapping(4096, nullptr, 1 * M)->get()->max_order(), 8u);
}

TEST(PageCacheTest, ChargesDirtyAndWritebackBytesFollowTheFolios) {
  Env env(QuietOptions(8 * M));
  FolioRef a = WriteFolio(*env.m, 0, 4, 1);  // 64 KiB
  ReadFolio(*env.m, 64 * K, 2);              // 16 KiB, clean
  EXPECT_EQ(env.cache->bytes(), 80 * K);
  EXPECT_EQ(env.m->bytes(), 80 * K);
  EXPECT_EQ(env.cache->dirty_bytes(), 64 * K);
  EXPECT_NE(env.m->dirtied_when(), std::chrono::steady_clock::time_point{});
  a->Lock();
  a->ClearDirty();
  a->StartWriteback();
  a->Unlock();
  EXPECT_EQ(env.cache->dirty_bytes(), 0u);
  EXPECT_EQ(env.m->dirtied_when(), std::chrono::steady_clock::time_point{});
  EXPECT_EQ(env.cache->writeback_bytes(), 64 * K);
  a->EndWriteback();
  EXPECT_EQ(env.cache->writeback_bytes(), 0u);
  env.m->TruncateRange(0, UINT64_MAX);
  EXPECT_EQ(env.cache->bytes(), 0u);
  WriteFolio(*env.m, 0, 0, 2);
  env.m.reset();  // the destructor uncharges what is left, dirty included
  EXPECT_EQ(env.cache->bytes(), 0u);
  EXPECT_EQ(env.cache->dirty_bytes(), 0u);
}

// ---- flushers and throttling -------------------------------------------------

TEST(PageCacheTest, FlushersWriteBackAnExpiredMappingWhole) {
  PageCacheOptions o = QuietOptions(8 * M);
  o.dirty_expire = 50ms;
  o.flush_interval = 10ms;
  Env env(o);
  for (uint64_t i = 0; i < 4; i++) WriteFolio(*env.m, i * 64 * K, 4, static_cast<uint8_t>(i + 1));
  ASSERT_TRUE(WaitUntil(
      [&] { return env.m->dirty_count() == 0 && env.cache->writeback_bytes() == 0; }));
  for (uint64_t i = 0; i < 4; i++)
    EXPECT_TRUE(AllBytes(env.DeviceBytes(i * 64 * K, 64 * K), static_cast<uint8_t>(i + 1))) << i;
  EXPECT_GT(env.cache->stats().flusher_passes, 0u);
  EXPECT_EQ(env.cache->dirty_bytes(), 0u);
}

TEST(PageCacheTest, BackgroundThresholdWritesBackOldestUntilBelowIt) {
  PageCacheOptions o = QuietOptions(4 * M);
  o.writeback_chunk = 64 * K;  // one folio per background call
  Env env(o);
  const uint64_t bg = o.cache_size / 100 * o.dirty_background_percent;
  for (uint64_t i = 0; i < 12; i++) WriteFolio(*env.m, i * 64 * K, 4, 7);
  ASSERT_GT(env.cache->dirty_bytes(), bg);
  ASSERT_LT(env.cache->dirty_bytes(), o.cache_size / 100 * o.dirty_percent);
  env.cache->BalanceDirty();  // below the hard limit: returns, but wakes the flushers
  ASSERT_TRUE(WaitUntil([&] { return env.cache->dirty_bytes() <= bg; }));
  // Nothing expires, so the flushers stop at the threshold, one chunk below
  // it: exactly 6 of the 12 folios are still dirty.
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(env.cache->dirty_bytes(), 6 * 64 * K);
  EXPECT_EQ(env.cache->stats().throttle_waits, 0u);
  EXPECT_TRUE(AllBytes(env.DeviceBytes(0, 6 * 64 * K), 7));  // oldest (lowest) first
}

TEST(PageCacheTest, BalanceDirtyBlocksAWriterAboveTheLimitUntilFlushersClean) {
  PageCacheOptions o = QuietOptions(4 * M);
  o.dirty_percent = 20;
  o.dirty_background_percent = 10;
  Env env(o);
  // The flushers may not clean anything before the writer has been
  // throttled once (or a deadline passed, failing the test below).
  env.ops->before_write = [&] {
    WaitUntil([&] { return env.cache->stats().throttle_waits > 0; });
  };
  const uint64_t limit = o.cache_size / 100 * o.dirty_percent;
  Watchdog dog("BalanceDirty throttling", 120s);
  uint64_t max_dirty = 0;
  for (uint64_t i = 0; i < 48; i++) {
    WriteFolio(*env.m, i * 64 * K, 4, static_cast<uint8_t>(i));
    max_dirty = std::max(max_dirty, env.cache->dirty_bytes());
    env.cache->BalanceDirty();
    EXPECT_LE(env.cache->dirty_bytes(), limit) << "BalanceDirty returned above the limit";
  }
  dog.Done();
  EXPECT_GT(env.cache->stats().throttle_waits, 0u);
  EXPECT_LE(max_dirty, limit + 64 * K);
  ASSERT_TRUE(env.cache->SyncAll().ok());
  for (uint64_t i = 0; i < 48; i++)
    EXPECT_TRUE(AllBytes(env.DeviceBytes(i * 64 * K, 64 * K), static_cast<uint8_t>(i))) << i;
}

// Dirty data over the limit in a mapping without ops: nobody can clean it.
struct Unwritable {
  Unwritable() {
    PageCacheOptions o = QuietOptions(2 * M);
    o.flush_interval = 5ms;
    cache = std::move(PageCache::Create(o).value());
    m = std::move(cache->NewMapping(4096, nullptr).value());
    for (uint64_t i = 0; i < 16; i++) WriteFolio(*m, i * 64 * K, 4, 1);  // 50% dirty
  }
  std::unique_ptr<PageCache> cache;
  std::unique_ptr<Mapping> m;
};

TEST(PageCacheTest, BalanceDirtyReturnsAtOnceUnderAJournalHandleOrAFolioLock) {
  Unwritable u;
  Watchdog dog("BalanceDirty under a handle or folio lock", 60s);
  int token = 0;
  RegisterHeldHandle(&token, &token, "handle 'balance-test'");
  u.cache->BalanceDirty();
  UnregisterHeldHandle(&token);
  FolioRef f = u.m->Lookup(0);
  f->Lock();
  EXPECT_TRUE(Folio::ThreadHoldsFolioLock());
  u.cache->BalanceDirty();
  f->Unlock();
  EXPECT_FALSE(Folio::ThreadHoldsFolioLock());
  EXPECT_EQ(u.cache->stats().throttle_waits, 0u);
  // Without either it waits — and gives up after a flusher pass that could
  // write nothing, rather than hang.
  u.cache->BalanceDirty();
  dog.Done();
  EXPECT_EQ(u.cache->stats().throttle_waits, 1u);
  u.m->TruncateRange(0, UINT64_MAX);
}

TEST(PageCacheTest, MappingDestructorWaitsForAFlusherUsingIt) {
  PageCacheOptions o = QuietOptions(8 * M);
  o.dirty_expire = 1ms;
  o.flush_interval = 5ms;
  Env env(o);
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::atomic<bool> in_writeback{false};
  env.ops->after_unlock = [&](const std::vector<Folio*>&) {
    in_writeback = true;
    open.wait();
  };
  WriteFolio(*env.m, 0, 0, 1);
  Watchdog dog("mapping destructor vs flusher", 60s);
  ASSERT_TRUE(WaitUntil([&] { return in_writeback.load(); }));
  std::atomic<bool> destroyed{false};
  std::thread killer([&] {
    env.m.reset();
    destroyed = true;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(destroyed.load()) << "the mapping died under a flusher";
  gate.set_value();
  killer.join();
  dog.Done();
  EXPECT_TRUE(destroyed.load());
  EXPECT_EQ(env.cache->bytes(), 0u);
  EXPECT_EQ(env.cache->writeback_bytes(), 0u);
  EXPECT_TRUE(AllBytes(env.DeviceBytes(0, 4 * K), 1));
}

// ---- reclaim ------------------------------------------------------------------

TEST(PageCacheTest, ReclaimKeepsCleanFoliosWithinTheBudget) {
  PageCacheOptions o = QuietOptions(2 * M);
  Env env(o);
  auto other = std::move(env.cache->NewMapping(1024, nullptr).value());
  for (uint64_t i = 0; i < 512; i++) {  // 24 MiB of clean reads into a 2 MiB cache
    ReadFolio(*env.m, i * 32 * K, 3);
    ReadFolio(*other, i * 16 * K, 4);
    ASSERT_LE(env.cache->bytes(), o.cache_size) << i;
  }
  EXPECT_EQ(env.cache->bytes(), env.m->bytes() + other->bytes());
  EXPECT_GT(env.cache->stats().reclaimed_bytes, 20 * M);
  EXPECT_EQ(env.cache->stats().overcommits, 0u);
  EXPECT_EQ(env.cache->stats().reclaim_waits, 0u);
  EXPECT_GT(other->bytes(), 0u);  // round robin: both keep some
  EXPECT_GT(env.m->bytes(), 0u);
  const uint64_t before = env.cache->bytes();
  EXPECT_EQ(env.cache->DropClean(), before);
  EXPECT_EQ(env.cache->bytes(), 0u);
}

TEST(PageCacheTest, ClockGivesARecentlyUsedFolioASecondChance) {
  auto m = std::move(Mapping::Create(4096).value());
  for (uint64_t i = 0; i < 8; i++) ReadFolio(*m, i * 4 * K, 0);
  // Every folio was just used: one revolution only clears their bits.
  EXPECT_EQ(m->ShrinkClean(UINT64_MAX, false), 0u);
  EXPECT_EQ(m->folio_count(), 8u);
  ASSERT_NE(m->Lookup(3 * 4 * K), nullptr);  // used again since the hand passed
  EXPECT_EQ(m->ShrinkClean(UINT64_MAX, false), 7 * 4 * K);
  EXPECT_EQ(m->folio_count(), 1u);
  EXPECT_NE(m->Lookup(3 * 4 * K), nullptr);  // ... and that set its bit again
  EXPECT_EQ(m->ShrinkClean(UINT64_MAX, false), 0u);
  EXPECT_EQ(m->ShrinkClean(UINT64_MAX, false), 4 * K);
  EXPECT_EQ(m->folio_count(), 0u);
}

TEST(PageCacheTest, ShrinkCleanStopsAtItsTargetAndResumesAtTheHand) {
  auto m = std::move(Mapping::Create(4096).value());
  for (uint64_t i = 0; i < 8; i++) ReadFolio(*m, i * 4 * K, 0);
  EXPECT_EQ(m->ShrinkClean(8 * K, true), 8 * K);
  EXPECT_EQ(m->Lookup(0), nullptr);
  EXPECT_EQ(m->Lookup(4 * K), nullptr);
  EXPECT_EQ(m->ShrinkClean(4 * K, true), 4 * K);
  EXPECT_EQ(m->Lookup(8 * K), nullptr);  // the next one after the hand
  EXPECT_EQ(m->folio_count(), 5u);
}

TEST(PageCacheTest, ReferencedLockedDirtyAndWritebackFoliosAreNeverReclaimed) {
  auto m = std::move(Mapping::Create(4096).value());
  for (uint64_t i = 0; i < 5; i++) ReadFolio(*m, i * 4 * K, 0);
  FolioRef referenced = m->Lookup(0);
  FolioRef locked = m->Lookup(4 * K);
  locked->Lock();
  Folio* locked_raw = locked.get();
  locked.reset();  // locked, referenced only by the index
  WriteFolio(*m, 8 * K, 0, 9);
  {
    FolioRef wb = m->Lookup(12 * K);
    wb->Lock();
    wb->StartWriteback();
    wb->Unlock();
  }
  for (int pass = 0; pass < 3; pass++) m->ShrinkClean(UINT64_MAX, pass == 2);
  EXPECT_EQ(m->folio_count(), 4u);
  EXPECT_EQ(m->Lookup(16 * K), nullptr);  // the only plain clean folio went
  for (uint64_t pos : {0 * K, 4 * K, 8 * K, 12 * K}) EXPECT_NE(m->Lookup(pos), nullptr) << pos;
  locked_raw->Unlock();
  m->Lookup(12 * K)->EndWriteback();
  m->TruncateRange(0, UINT64_MAX);
}

PageCacheOptions AllDirtyOptions() {
  PageCacheOptions o = QuietOptions(1 * M);
  o.dirty_background_percent = 95;  // flushers do nothing on their own
  o.dirty_percent = 100;
  return o;
}

TEST(PageCacheTest, CreatorWaitsForWritebackWhenEverythingIsDirty) {
  Env env(AllDirtyOptions());
  for (uint64_t i = 0; i < 16; i++) WriteFolio(*env.m, i * 64 * K, 4, 3);  // 1 MiB dirty
  ASSERT_EQ(env.cache->bytes(), 1 * M);
  Watchdog dog("creator waiting for writeback", 60s);
  auto f = env.m->GetOrCreate(2 * M, 4);
  dog.Done();
  ASSERT_TRUE(f.ok());
  const PageCache::Stats s = env.cache->stats();
  EXPECT_GT(s.reclaim_waits, 0u);
  EXPECT_EQ(s.overcommits, 0u);
  EXPECT_GT(s.reclaimed_bytes, 0u);
  EXPECT_LE(env.cache->bytes(), 1 * M);
  EXPECT_TRUE(AllBytes(env.DeviceBytes(0, 64 * K), 3));  // written before it was dropped
}

TEST(PageCacheTest, CreatorOvercommitsInsteadOfWaitingUnderAHandleOrFolioLock) {
  Env env(AllDirtyOptions());
  for (uint64_t i = 0; i < 16; i++) WriteFolio(*env.m, i * 64 * K, 4, 3);
  Watchdog dog("creator under a handle", 60s);
  int token = 0;
  RegisterHeldHandle(&token, &token, "handle 'overcommit-test'");
  auto first = env.m->GetOrCreate(2 * M, 4);  // kept referenced: not reclaimable
  ASSERT_TRUE(first.ok());
  UnregisterHeldHandle(&token);
  FolioRef held = env.m->Lookup(0);
  held->Lock();
  auto second = env.m->GetOrCreate(3 * M, 4);
  held->Unlock();
  ASSERT_TRUE(second.ok());
  dog.Done();
  EXPECT_EQ(env.cache->stats().overcommits, 2u);
  EXPECT_EQ(env.cache->stats().reclaim_waits, 0u);
  EXPECT_EQ(env.cache->bytes(), 1 * M + 128 * K);
  EXPECT_EQ(env.ops->calls(), 0u);  // nothing was written on their behalf
}

TEST(PageCacheTest, CreatorOvercommitsWhenEverythingIsPinned) {
  Env env(AllDirtyOptions());
  std::vector<FolioRef> pinned;
  for (uint64_t i = 0; i < 16; i++) {
    ReadFolio(*env.m, i * 64 * K, 4);
    pinned.push_back(env.m->Lookup(i * 64 * K));
  }
  Watchdog dog("creator with everything pinned", 60s);
  ASSERT_TRUE(env.m->GetOrCreate(2 * M, 4).ok());
  dog.Done();
  EXPECT_EQ(env.cache->stats().overcommits, 1u);
  EXPECT_EQ(env.cache->stats().reclaim_waits, 1u);
}

// ---- WriteAndWait and errors -----------------------------------------------------

TEST(PageCacheTest, WriteAndWaitWritesFoliosRedirtiedDuringWriteback) {
  Env env(QuietOptions(8 * M));
  FolioRef f = WriteFolio(*env.m, 0, 2, 0x11);
  std::atomic<int> hooks{0};
  env.ops->after_unlock = [&](const std::vector<Folio*>& folios) {
    if (hooks++ != 0 || folios.empty()) return;
    // Unlocked but under writeback: a writer modifies it without waiting.
    Folio* g = folios[0];
    g->Lock();
    EXPECT_TRUE(g->writeback());
    std::memset(g->data(), 0x22, g->size());
    g->MarkDirty(0, g->size());
    g->Unlock();
  };
  ASSERT_TRUE(env.m->WriteAndWait(0, UINT64_MAX).ok());
  EXPECT_TRUE(AllBytes(env.DeviceBytes(0, 16 * K), 0x22));
  EXPECT_EQ(env.m->dirty_count(), 0u);
  EXPECT_FALSE(f->writeback());
  EXPECT_GE(env.ops->sync_calls(), 2u);
}

TEST(PageCacheTest, WriteAndWaitReportsAnIoErrorOnceThenOk) {
  Env env(QuietOptions(8 * M));
  WriteFolio(*env.m, 0, 2, 5);
  WriteFolio(*env.m, 64 * K, 2, 6);
  env.faulty->FailRange(IoOp::kWrite, 64 * K, 4 * K);
  const Status s = env.m->WriteAndWait(0, UINT64_MAX);
  EXPECT_EQ(s.err(), EIO) << s.ToString();
  EXPECT_EQ(env.m->dirty_count(), 0u);  // the data is lost, as in Linux
  EXPECT_TRUE(env.m->WriteAndWait(0, UINT64_MAX).ok());
  EXPECT_TRUE(env.m->TakeError().ok());
}

TEST(PageCacheTest, ABackgroundWritebackErrorIsReportedByTheNextWriteAndWait) {
  PageCacheOptions o = QuietOptions(8 * M);
  o.dirty_expire = 1ms;
  o.flush_interval = 5ms;
  Env env(o);
  env.faulty->FailRange(IoOp::kWrite, 0, 4 * K);
  WriteFolio(*env.m, 0, 0, 5);
  ASSERT_TRUE(WaitUntil([&] { return env.cache->stats().flusher_errors > 0; }));
  EXPECT_EQ(env.m->WriteAndWait(0, UINT64_MAX).err(), EIO);
  EXPECT_TRUE(env.m->WriteAndWait(0, UINT64_MAX).ok());
}

TEST(PageCacheTest, TakeErrorKeepsTheFirstErrorAndClearsIt) {
  auto m = std::move(Mapping::Create(4096).value());
  EXPECT_TRUE(m->TakeError().ok());
  m->SetError(Status::Error(EIO, "first"));
  m->SetError(Status::Error(ENOSPC, "second"));
  m->SetError(Status::Ok());
  const Status e = m->TakeError();
  EXPECT_EQ(e.err(), EIO);
  EXPECT_EQ(e.message(), "first");
  EXPECT_TRUE(m->TakeError().ok());
  m->SetError(Status::Error(ENOSPC, "third"));
  EXPECT_EQ(m->WriteAndWait(0, UINT64_MAX).err(), ENOSPC);  // no ops: still reports it
  EXPECT_TRUE(m->WriteAndWait(0, UINT64_MAX).ok());
}

TEST(PageCacheTest, SyncAllWritesEveryMapping) {
  Env env(QuietOptions(8 * M));
  DeviceOps ops2(*env.mem, 32 * M);
  auto m2 = std::move(env.cache->NewMapping(4096, &ops2).value());
  WriteFolio(*env.m, 0, 4, 0x31);
  WriteFolio(*m2, 0, 4, 0x32);
  ASSERT_TRUE(env.cache->SyncAll().ok());
  EXPECT_EQ(env.cache->dirty_bytes(), 0u);
  EXPECT_TRUE(AllBytes(env.DeviceBytes(0, 64 * K), 0x31));
  EXPECT_TRUE(AllBytes(env.DeviceBytes(32 * M, 64 * K), 0x32));
}

// ---- truncate and writeback ----------------------------------------------------

TEST(PageCacheTest, TruncateWaitsForWritebackWithoutHoldingTheFolioLock) {
  auto m = std::move(Mapping::Create(4096).value());
  FolioRef f = std::move(m->GetOrCreate(0, 2).value());
  f->Lock();
  f->StartWriteback();
  f->Unlock();
  Watchdog dog("truncate waiting for writeback", 60s);
  std::atomic<bool> done{false};
  std::thread truncater([&] {
    m->TruncateRange(0, UINT64_MAX);
    done = true;
  });
  // While the truncate waits, the folio lock stays free: a thread holding a
  // journal handle may need it, and writeback completion needs a handle.
  int free_locks = 0;
  for (int i = 0; i < 50; i++) {
    std::this_thread::sleep_for(1ms);
    if (f->TryLock()) {
      free_locks++;
      f->Unlock();
    }
  }
  EXPECT_EQ(free_locks, 50);
  EXPECT_FALSE(done.load());
  EXPECT_EQ(m->folio_count(), 1u);
  f->EndWriteback();
  truncater.join();
  dog.Done();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(m->folio_count(), 0u);
}

TEST(PageCacheTest, WaitWritebackRangeWaitsOnlyForTheRange) {
  auto m = std::move(Mapping::Create(4096).value());
  FolioRef a = std::move(m->GetOrCreate(0, 0).value());
  FolioRef b = std::move(m->GetOrCreate(64 * K, 0).value());
  for (Folio* f : {a.get(), b.get()}) {
    f->Lock();
    f->StartWriteback();
    f->Unlock();
  }
  Watchdog dog("WaitWritebackRange", 60s);
  m->WaitWritebackRange(8 * K, 64 * K);  // neither folio: returns at once
  std::thread io([&] {
    std::this_thread::sleep_for(5ms);
    a->EndWriteback();
  });
  m->WaitWritebackRange(0, 8 * K);
  EXPECT_FALSE(a->writeback());
  io.join();
  EXPECT_TRUE(b->writeback());
  b->EndWriteback();
}

// ---- debug checks -----------------------------------------------------------------

#ifndef NDEBUG
using PageCacheDeathTest = ::testing::Test;

TEST(PageCacheDeathTest, WaitWritebackRangeUnderAJournalHandleAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto m = std::move(Mapping::Create(4096).value());
  int token = 0;
  EXPECT_DEATH(
      {
        RegisterHeldHandle(&token, &token, "handle 'fsync-test'");
        m->WaitWritebackRange(0, UINT64_MAX);
      },
      "I1 violated.*WaitWritebackRange.*fsync-test");
}

TEST(PageCacheDeathTest, WriteAndWaitUnderAJournalHandleAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto m = std::move(Mapping::Create(4096).value());
  int token = 0;
  EXPECT_DEATH(
      {
        RegisterHeldHandle(&token, &token, "handle 'write-and-wait-test'");
        (void)m->WriteAndWait(0, UINT64_MAX);
      },
      "I1 violated.*WriteAndWait.*write-and-wait-test");
}

TEST(PageCacheDeathTest, WaitWritebackWithAFolioLockHeldAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  FolioRef a = std::move(Folio::Create(0, 4096, 0).value());
  FolioRef b = std::move(Folio::Create(4096, 4096, 0).value());
  EXPECT_DEATH(
      {
        a->Lock();
        b->WaitWriteback();  // not even under writeback: the rule is about the lock
      },
      "WaitWriteback with a folio lock held");
}
#else
TEST(PageCacheDeathTest, SkippedInReleaseBuilds) { GTEST_SKIP() << "checks are debug-only"; }
#endif

}  // namespace
}  // namespace foliofs
