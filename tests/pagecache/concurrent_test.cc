// Concurrency: writers (GetOrCreate/lock/modify/dirty), a writeback thread
// (FindDirtyRun + start/end writeback), a zero-range thread (FillDirtyFolios,
// then lock each batched folio) and a truncating thread, all on one mapping.
// A watchdog aborts the test binary with a message if the workers hang.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "pagecache/pagecache.h"
#include "tests/support/watchdog.h"

namespace foliofs {
namespace {

using Clock = std::chrono::steady_clock;
using testsupport::Watchdog;
constexpr uint64_t kSpace = 2 * 1024 * 1024;

// Locks f; false (unlocked) if it left `m`. Writers never wait for
// writeback (writeback.h: the I/O reads a folio only while it is locked).
bool LockStable(Folio& f, Mapping& m) {
  f.Lock();
  if (f.mapping() != &m) {
    f.Unlock();
    return false;
  }
  return true;
}

void Writer(Mapping& m, uint64_t seed, Clock::time_point stop) {
  std::mt19937_64 rng(seed);
  while (Clock::now() < stop) {
    const uint64_t pos = rng() % kSpace;
    Result<FolioRef> r = m.GetOrCreate(pos, static_cast<uint32_t>(rng() % 7));
    ASSERT_TRUE(r.ok());
    Folio& f = **r;
    if (!LockStable(f, m)) continue;
    const uint64_t off = pos - f.pos();
    const uint64_t len = std::min<uint64_t>(1 + rng() % 9000, f.size() - off);
    std::memset(f.data() + off, static_cast<int>(rng() & 0xff), len);
    f.MarkUptodate(off, len);
    f.MarkDirty(off, len);
    f.Unlock();
  }
}

void WritebackThread(Mapping& m, Clock::time_point stop, std::atomic<uint64_t>* sum) {
  FolioBatch batch;
  uint64_t from = 0, acc = 0;
  while (Clock::now() < stop) {
    from = m.FindDirtyRun(from, 256 * 1024, batch);
    if (from == UINT64_MAX) from = 0;
    // writeback.h's protocol: lock in ascending order, start writeback,
    // do the "I/O" (read the bytes) with the locks held, unlock, then end.
    std::vector<Folio*> started;
    for (const FolioRef& f : batch) {
      f->Lock();
      if (f->mapping() == &m && f->dirty() && !f->writeback()) {
        f->ClearDirty();
        f->StartWriteback();
        started.push_back(f.get());
      } else {
        f->Unlock();
      }
    }
    for (Folio* f : started)
      for (uint64_t i = 0; i < f->size(); i += 512) acc += f->data()[i];
    for (Folio* f : started) f->Unlock();
    for (Folio* f : started) f->EndWriteback();
    batch.Clear();
  }
  sum->fetch_add(acc);
}

void ZeroRangeThread(Mapping& m, uint64_t seed, Clock::time_point stop) {
  std::mt19937_64 rng(seed);
  FolioBatch batch;
  while (Clock::now() < stop) {
    const uint64_t start = rng() % kSpace, end = start + 1 + rng() % (512 * 1024);
    for (uint64_t pos = start; pos < end;) {
      const uint64_t next = m.FillDirtyFolios(pos, end, batch);
      for (const FolioRef& f : batch) {
        if (!LockStable(*f, m)) continue;
        const uint64_t from = std::max(pos, f->pos()), to = std::min(next, f->end());
        if (to > from) {
          f->ZeroRange(from - f->pos(), to - from);
          f->MarkDirty(from - f->pos(), to - from);
        }
        f->Unlock();
      }
      batch.Clear();
      pos = next;
    }
  }
}

void TruncateThread(Mapping& m, uint64_t seed, Clock::time_point stop) {
  std::mt19937_64 rng(seed);
  while (Clock::now() < stop) {
    const uint64_t start = rng() % kSpace, end = start + 1 + rng() % (256 * 1024);
    if (rng() % 2)
      m.TruncateRange(start, end);
    else
      m.InvalidateRange(start, end);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void CheckQuiescent(Mapping& m) {
  size_t dirty = 0, count = 0;
  uint64_t last_end = 0;
  for (uint64_t pos = 0; pos < kSpace + 256 * 1024; pos += m.block_size()) {
    FolioRef f = m.Lookup(pos);
    if (!f || f->pos() != pos) continue;
    ASSERT_GE(f->pos(), last_end);
    ASSERT_EQ(f->pos() % f->size(), 0u);
    last_end = f->end();
    ASSERT_FALSE(f->writeback());
    ASSERT_FALSE(f->IsLocked());
    count++;
    dirty += f->dirty();
  }
  EXPECT_EQ(count, m.folio_count());
  EXPECT_EQ(dirty, m.dirty_count());
}

TEST(PagecacheConcurrentTest, WritersWritebackZeroRangeAndTruncateNeverHangOrCorrupt) {
  auto m = std::move(Mapping::Create(4096).value());
  Watchdog dog("pagecache concurrent workers", std::chrono::seconds(60));
  const auto stop = Clock::now() + std::chrono::milliseconds(1500);
  std::atomic<uint64_t> sum{0};
  std::vector<std::thread> threads;
  threads.emplace_back(Writer, std::ref(*m), 11, stop);
  threads.emplace_back(Writer, std::ref(*m), 12, stop);
  threads.emplace_back(WritebackThread, std::ref(*m), stop, &sum);
  threads.emplace_back(ZeroRangeThread, std::ref(*m), 13, stop);
  threads.emplace_back(TruncateThread, std::ref(*m), 14, stop);
  for (auto& t : threads) t.join();
  dog.Done();
  EXPECT_GT(sum.load(), 0u) << "writeback never wrote back written bytes";
  CheckQuiescent(*m);
  m->TruncateRange(0, UINT64_MAX);
  EXPECT_EQ(m->folio_count(), 0u);
  EXPECT_EQ(m->dirty_count(), 0u);
}

TEST(PagecacheConcurrentTest, RacingGetOrCreateYieldsOneFolioPerPosition) {
  auto m = std::move(Mapping::Create(1024).value());
  Watchdog dog("racing GetOrCreate", std::chrono::seconds(60));
  constexpr int kThreads = 4;
  std::vector<std::vector<Folio*>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      for (uint64_t pos = 0; pos < 1024 * 1024; pos += 1024) {
        FolioRef f = std::move(m->GetOrCreate(pos, static_cast<uint32_t>(rng() % 9)).value());
        ASSERT_TRUE(f->Contains(pos));
        seen[t].push_back(f.get());
      }
    });
  }
  for (auto& t : threads) t.join();
  dog.Done();
  for (int t = 1; t < kThreads; t++) EXPECT_EQ(seen[t], seen[0]) << "thread " << t;
}

}  // namespace
}  // namespace foliofs
