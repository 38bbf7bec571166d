// Mapping: folio creation without overlap, dirty/writeback batches, the
// writeback iteration hook, truncate and invalidate.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "pagecache/pagecache.h"

namespace foliofs {
namespace {

constexpr uint64_t K = 1024;

// The first byte offset where the folio differs from expect(i), or size().
// (Tests compare with the folio locked; EXPECT on the result after, so a
// failure never returns early with the lock held.)
template <typename F>
uint64_t FirstMismatch(const Folio& f, F expect) {
  for (uint64_t i = 0; i < f.size(); i++)
    if (f.data()[i] != static_cast<uint8_t>(expect(i))) return i;
  return f.size();
}

std::unique_ptr<Mapping> MakeMapping(uint32_t bs, uint64_t max = kDefaultMaxFolioSize) {
  auto m = Mapping::Create(bs, max);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

FolioRef Get(Mapping& m, uint64_t pos, uint32_t order) {
  auto f = m.GetOrCreate(pos, order);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

void Dirty(Folio& f) {
  f.Lock();
  f.MarkUptodate(0, f.size());
  f.MarkDirty(0, f.size());
  f.Unlock();
}

TEST(MappingTest, CreateRejectsBadSizes) {
  EXPECT_EQ(Mapping::Create(4096, 2048).err(), EINVAL);
  EXPECT_EQ(Mapping::Create(4096, 3 * 4096).err(), EINVAL);
  EXPECT_EQ(Mapping::Create(100).err(), EINVAL);
}

TEST(MappingTest, MaxOrderFollowsBlockSizeAndMaxFolioSize) {
  EXPECT_EQ(MakeMapping(1024)->max_order(), 8u);  // 256 KiB
  EXPECT_EQ(MakeMapping(4096)->max_order(), 6u);
  EXPECT_EQ(MakeMapping(65536)->max_order(), 2u);
  EXPECT_EQ(MakeMapping(4096, 1024 * K)->max_order(), 8u);
}

TEST(MappingTest, GetOrCreateReturnsTheExistingFolioContainingPos) {
  auto m = MakeMapping(4096);
  FolioRef a = Get(*m, 100 * K, 4);  // 64 KiB folio at 64 KiB
  EXPECT_EQ(a->pos(), 64 * K);
  EXPECT_EQ(a->size(), 64 * K);
  EXPECT_EQ(Get(*m, 127 * K, 0), a);
  EXPECT_EQ(m->Lookup(64 * K), a);
  EXPECT_EQ(m->Lookup(128 * K), nullptr);
  EXPECT_EQ(m->folio_count(), 1u);
}

TEST(MappingTest, GetOrCreateShrinksOrderToFitBetweenExistingFolios) {
  auto m = MakeMapping(4096);
  FolioRef small = Get(*m, 8 * K, 0);  // [8K, 12K)
  FolioRef big = Get(*m, 0, 6);        // 256K would overlap → shrinks to [0, 8K)
  EXPECT_EQ(big->pos(), 0u);
  EXPECT_EQ(big->size(), 8 * K);
  FolioRef next = Get(*m, 12 * K, 6);  // [12K,16K): 16K-aligned [0,16K) overlaps
  EXPECT_EQ(next->pos(), 12 * K);
  EXPECT_EQ(next->size(), 4 * K);
  FolioRef far = Get(*m, 300 * K, 6);  // [256K, 512K) is free
  EXPECT_EQ(far->pos(), 256 * K);
  EXPECT_EQ(far->size(), 256 * K);
  FolioRef mid = Get(*m, 100 * K, 9);  // hint above max: [64K,128K)? [0,256K) overlaps
  EXPECT_EQ(mid->pos(), 64 * K);
  EXPECT_EQ(mid->size(), 64 * K);
}

TEST(MappingTest, FoliosNeverOverlapForAnyBlockSize) {
  for (uint32_t bs : {1024u, 4096u, 65536u}) {
    auto m = MakeMapping(bs);
    uint64_t seed = 7;
    for (int i = 0; i < 400; i++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      const uint64_t pos = (seed >> 20) % (4096 * K);
      FolioRef f = Get(*m, pos, static_cast<uint32_t>((seed >> 8) % 10));
      ASSERT_TRUE(f->Contains(pos));
      ASSERT_EQ(f->pos() % f->size(), 0u);
      ASSERT_LE(f->size(), kDefaultMaxFolioSize);
    }
    uint64_t last_end = 0;
    for (uint64_t pos = 0; pos < 4096 * K + kDefaultMaxFolioSize; pos += bs) {
      FolioRef f = m->Lookup(pos);
      if (!f) continue;
      if (f->pos() == pos) {
        ASSERT_GE(f->pos(), last_end) << "bs " << bs;
        last_end = f->end();
      }
      ASSERT_LT(pos, last_end);
    }
  }
}

TEST(MappingTest, FillDirtyFoliosFindsExactlyDirtyAndWritebackFolios) {
  auto m = MakeMapping(4096);
  std::vector<FolioRef> f;
  for (uint64_t i = 0; i < 10; i++) f.push_back(Get(*m, i * 16 * K, 2));  // 16K each
  Dirty(*f[1]);
  Dirty(*f[4]);
  f[6]->Lock();
  f[6]->StartWriteback();  // clean but under writeback
  f[6]->Unlock();
  Dirty(*f[9]);
  FolioBatch batch;
  EXPECT_EQ(m->FillDirtyFolios(20 * K, 150 * K, batch), 150 * K);
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_EQ(batch[0], f[1]);  // [16K, 32K) overlaps the start
  EXPECT_EQ(batch[1], f[4]);
  EXPECT_EQ(batch[2], f[6]);
  EXPECT_EQ(batch[3], f[9]);  // [144K, 160K) overlaps the end
  batch.Clear();
  EXPECT_EQ(m->FillDirtyFolios(150 * K, 151 * K, batch), 151 * K);
  EXPECT_EQ(batch.size(), 1u);
  batch.Clear();
  EXPECT_EQ(m->FillDirtyFolios(32 * K, 64 * K, batch), 64 * K);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(m->dirty_count(), 3u);
  f[6]->EndWriteback();
}

TEST(MappingTest, FillDirtyFoliosStopsAtTheEndOfTheLastBatchedFolioWhenFull) {
  auto m = MakeMapping(4096);
  const size_t n = FolioBatch::kCapacity * 2 + 5;
  for (uint64_t i = 0; i < n; i++) Dirty(*Get(*m, i * 8 * K, 1));  // 8K each, all dirty
  Get(*m, n * 8 * K, 1);                                           // one clean tail folio
  FolioBatch batch;
  uint64_t pos = 4 * K, rounds = 0, found = 0;
  const uint64_t end = (n + 1) * 8 * K;
  while (pos < end) {
    const uint64_t next = m->FillDirtyFolios(pos, end, batch);
    ASSERT_GT(next, pos);
    if (batch.full()) {
      EXPECT_EQ(next, batch[batch.size() - 1]->end());
    }
    for (const FolioRef& f : batch) EXPECT_LT(f->pos(), next);
    found += batch.size();
    batch.Clear();
    pos = next;
    rounds++;
  }
  EXPECT_EQ(found, n);
  EXPECT_EQ(rounds, 3u);
  // The first call, full, stopped exactly at the end of the 31st folio.
  EXPECT_EQ(m->FillDirtyFolios(0, end, batch), FolioBatch::kCapacity * 8 * K);
}

TEST(MappingTest, FillDirtyFoliosIntoAFullBatchReturnsWhereItStarted) {
  auto m = MakeMapping(4096);
  Dirty(*Get(*m, 0, 0));
  FolioBatch batch;
  for (size_t i = 0; i < FolioBatch::kCapacity; i++) ASSERT_TRUE(batch.Add(m->Lookup(0)));
  EXPECT_EQ(m->FillDirtyFolios(2 * K, 100 * K, batch), 2 * K);
}

TEST(MappingTest, RangeNeedsWritebackSeesDirtyAndWriteback) {
  auto m = MakeMapping(4096);
  FolioRef a = Get(*m, 0, 0), b = Get(*m, 64 * K, 0);
  EXPECT_FALSE(m->RangeNeedsWriteback(0, UINT64_MAX));
  Dirty(*a);
  EXPECT_TRUE(m->RangeNeedsWriteback(4095, 4096));
  EXPECT_FALSE(m->RangeNeedsWriteback(4096, 64 * K + 4096));
  b->Lock();
  b->StartWriteback();
  b->Unlock();
  EXPECT_TRUE(m->RangeNeedsWriteback(4096, 64 * K + 1));
  b->EndWriteback();
  EXPECT_FALSE(m->RangeNeedsWriteback(4096, 64 * K + 1));
}

TEST(MappingTest, FindDirtyRunReturnsContiguousDirtyFoliosNotUnderWriteback) {
  auto m = MakeMapping(4096);
  std::vector<FolioRef> f;
  for (uint64_t i = 0; i < 8; i++) f.push_back(Get(*m, i * 4 * K, 0));
  for (int i : {1, 2, 3, 5, 6}) Dirty(*f[i]);
  FolioBatch batch;
  EXPECT_EQ(m->FindDirtyRun(0, UINT64_MAX, batch), 16 * K);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0], f[1]);
  batch.Clear();
  EXPECT_EQ(m->FindDirtyRun(16 * K, 4 * K, batch), 24 * K);  // max_bytes: one folio
  EXPECT_EQ(batch.size(), 1u);
  batch.Clear();
  f[6]->Lock();
  f[6]->ClearDirty();
  f[6]->StartWriteback();
  f[6]->Unlock();
  EXPECT_EQ(m->FindDirtyRun(24 * K, UINT64_MAX, batch), UINT64_MAX);
  EXPECT_TRUE(batch.empty());
  f[6]->EndWriteback();
}

TEST(MappingTest, TruncateZeroesThePartialTailAndDropsWholeFolios) {
  auto m = MakeMapping(4096);
  FolioRef a = Get(*m, 0, 4);       // [0, 64K)
  FolioRef b = Get(*m, 64 * K, 4);  // [64K, 128K)
  for (Folio* f : {a.get(), b.get()}) {
    f->Lock();
    std::memset(f->data(), 0x77, f->size());
    f->Unlock();
    Dirty(*f);
  }
  const uint64_t eof = 10 * K + 100;  // inside block 2 of a
  m->TruncateRange(eof, UINT64_MAX);
  EXPECT_EQ(m->folio_count(), 1u);
  EXPECT_EQ(m->Lookup(64 * K), nullptr);
  a->Lock();
  EXPECT_EQ(a->mapping(), m.get());
  EXPECT_EQ(FirstMismatch(*a, [&](uint64_t i) { return i < eof ? 0x77 : 0; }), a->size());
  EXPECT_TRUE(a->BlockDirty(2));   // partly covered: keeps its state
  EXPECT_FALSE(a->BlockDirty(3));  // wholly covered: clean, uptodate zeros
  EXPECT_TRUE(a->BlockUptodate(3));
  EXPECT_TRUE(a->uptodate());
  a->Unlock();
  EXPECT_EQ(m->dirty_count(), 1u);
}

TEST(MappingTest, InvalidateForgetsWhollyCoveredBlocksOfPartialFolios) {
  auto m = MakeMapping(1024);
  FolioRef a = Get(*m, 0, 3);  // 8 KiB, 8 blocks
  Dirty(*a);
  m->InvalidateRange(1500, 5 * K);  // blocks 2..4 wholly covered
  a->Lock();
  for (uint32_t b = 0; b < 8; b++) {
    const bool covered = b >= 2 && b <= 4;
    EXPECT_EQ(a->BlockUptodate(b), !covered) << b;
    EXPECT_EQ(a->BlockDirty(b), !covered) << b;
  }
  a->Unlock();
  m->InvalidateRange(0, 8 * K);
  EXPECT_EQ(m->folio_count(), 0u);
  EXPECT_EQ(m->dirty_count(), 0u);
}

TEST(MappingTest, TruncateWaitsForWritebackBeforeDroppingAFolio) {
  auto m = MakeMapping(4096);
  FolioRef f = Get(*m, 0, 2);
  f->Lock();
  f->StartWriteback();
  f->Unlock();
  std::atomic<bool> ended{false};
  std::thread io([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ended = true;
    f->EndWriteback();
  });
  m->TruncateRange(0, UINT64_MAX);
  EXPECT_TRUE(ended.load());
  EXPECT_EQ(m->folio_count(), 0u);
  io.join();
}

}  // namespace
}  // namespace foliofs
