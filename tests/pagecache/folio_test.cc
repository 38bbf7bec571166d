// Folio and FolioBatch: sizes, alignment, per-block state, ZeroRange, lock,
// writeback, and the I1 checker on writeback waits.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "pagecache/base/held_handles.h"
#include "pagecache/pagecache.h"

namespace foliofs {
namespace {

// The first byte offset where the folio differs from expect(i), or size().
// (Tests compare with the folio locked; EXPECT on the result after, so a
// failure never returns early with the lock held.)
template <typename F>
uint64_t FirstMismatch(const Folio& f, F expect) {
  for (uint64_t i = 0; i < f.size(); i++)
    if (f.data()[i] != static_cast<uint8_t>(expect(i))) return i;
  return f.size();
}

FolioRef MakeFolio(uint64_t pos, uint32_t bs, uint32_t order) {
  Result<FolioRef> f = Folio::Create(pos, bs, order);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

class FolioSizeTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(FolioSizeTest, SizeIsBlockSizeTimesPowerOfTwoAndBufferIsAlignedAndZero) {
  const uint32_t bs = GetParam();
  for (uint32_t order = 0; (uint64_t{bs} << order) <= kDefaultMaxFolioSize; order++) {
    const uint64_t size = uint64_t{bs} << order;
    FolioRef f = MakeFolio(3 * size, bs, order);
    EXPECT_EQ(f->size(), size);
    EXPECT_EQ(f->nr_blocks(), 1u << order);
    EXPECT_EQ(f->pos(), 3 * size);
    EXPECT_EQ(f->end(), 4 * size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(f->data()) % 4096, 0u);
    for (uint64_t i = 0; i < size; i += 511) ASSERT_EQ(f->data()[i], 0);
    EXPECT_FALSE(f->uptodate());
    EXPECT_FALSE(f->dirty());
    EXPECT_FALSE(f->writeback());
  }
}

TEST_P(FolioSizeTest, MisalignedPositionIsRejected) {
  const uint32_t bs = GetParam();
  Result<FolioRef> f = Folio::Create(bs, bs, 1);  // size 2*bs, pos bs
  EXPECT_EQ(f.err(), EINVAL);
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, FolioSizeTest, ::testing::Values(1024u, 4096u, 65536u));

TEST(FolioTest, BadBlockSizesAreRejected) {
  EXPECT_EQ(Folio::Create(0, 512, 0).err(), EINVAL);
  EXPECT_EQ(Folio::Create(0, 3000, 0).err(), EINVAL);
  EXPECT_EQ(Folio::Create(0, 128 * 1024, 0).err(), EINVAL);
}

TEST(FolioTest, PartialRangesSetOnlyTheBlocksTheyTouch) {
  FolioRef f = MakeFolio(0, 4096, 3);  // 8 blocks
  f->Lock();
  f->MarkUptodate(4096 + 100, 4096);  // touches blocks 1 and 2
  for (uint32_t b = 0; b < 8; b++) EXPECT_EQ(f->BlockUptodate(b), b == 1 || b == 2) << b;
  EXPECT_TRUE(f->IsUptodate(4096, 8192));
  EXPECT_FALSE(f->IsUptodate(4095, 2));
  EXPECT_FALSE(f->uptodate());
  f->MarkDirty(7 * 4096 + 4095, 1);  // last byte: block 7
  EXPECT_TRUE(f->dirty());
  EXPECT_TRUE(f->IsDirty(0, f->size()));
  EXPECT_FALSE(f->IsDirty(0, 7 * 4096));
  EXPECT_TRUE(f->BlockDirty(7));
  f->MarkUptodate(0, f->size());
  EXPECT_TRUE(f->uptodate());
  f->ClearDirtyBlocksIn(6 * 4096 + 1, 4096 * 2 - 1);  // block 7 wholly inside
  EXPECT_FALSE(f->dirty());
  f->MarkDirty(0, 1);
  f->ClearUptodateBlocksIn(100, 4096);  // no block wholly inside
  EXPECT_TRUE(f->uptodate());
  f->ClearDirty();
  EXPECT_FALSE(f->dirty());
  f->Unlock();
}

TEST(FolioTest, ZeroRangeZeroesExactlyASubBlockRangeAndKeepsStates) {
  FolioRef f = MakeFolio(0, 1024, 2);
  f->Lock();
  std::memset(f->data(), 0xAB, f->size());
  f->MarkUptodate(0, f->size());
  f->MarkDirty(1024, 1024);
  f->ZeroRange(1030, 7);
  EXPECT_EQ(FirstMismatch(*f, [](uint64_t i) { return (i >= 1030 && i < 1037) ? 0 : 0xAB; }),
            f->size());
  EXPECT_TRUE(f->uptodate());
  EXPECT_TRUE(f->IsDirty(1024, 1));
  EXPECT_FALSE(f->IsDirty(0, 1024));
  f->Unlock();
}

TEST(FolioTest, ZeroRangeStraddlingBlocksZeroesOnlyThatRange) {
  FolioRef f = MakeFolio(0, 4096, 2);
  f->Lock();
  std::memset(f->data(), 0x5A, f->size());
  f->ZeroRange(4000, 5000);  // blocks 0..2
  EXPECT_EQ(FirstMismatch(*f, [](uint64_t i) { return (i >= 4000 && i < 9000) ? 0 : 0x5A; }),
            f->size());
  EXPECT_FALSE(f->uptodate());  // state untouched: never marked
  f->Unlock();
}

TEST(FolioTest, TryLockFailsWhileLockedAndLockWaitsForUnlock) {
  FolioRef f = MakeFolio(0, 4096, 0);
  f->Lock();
  EXPECT_TRUE(f->IsLockedByMe());
  std::atomic<bool> got{false};
  std::thread t([&] {
    EXPECT_FALSE(f->TryLock());
    f->Lock();
    got = true;
    f->Unlock();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(got.load());
  f->Unlock();
  t.join();
  EXPECT_TRUE(got.load());
  EXPECT_TRUE(f->TryLock());
  f->Unlock();
}

TEST(FolioTest, WaitWritebackReturnsWhenAnotherThreadEndsIt) {
  FolioRef f = MakeFolio(0, 4096, 1);
  f->Lock();
  f->StartWriteback();
  f->Unlock();
  EXPECT_TRUE(f->writeback());
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    f->EndWriteback();
  });
  f->WaitWriteback();
  EXPECT_FALSE(f->writeback());
  t.join();
}

TEST(FolioTest, RemovedFolioStaysValidWhileReferenced) {
  auto m = std::move(Mapping::Create(4096).value());
  FolioRef f = std::move(m->GetOrCreate(0, 2).value());
  f->Lock();
  f->data()[5] = 42;
  f->Unlock();
  m->TruncateRange(0, UINT64_MAX);
  EXPECT_EQ(m->folio_count(), 0u);
  f->Lock();
  EXPECT_EQ(f->mapping(), nullptr);
  EXPECT_EQ(f->data()[5], 42);
  f->Unlock();
}

#ifndef NDEBUG
using FolioDeathTest = ::testing::Test;

TEST(FolioDeathTest, WaitingOnWritebackUnderAJournalHandleAbortsNamingBoth) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  FolioRef f = MakeFolio(0, 4096, 0);
  f->Lock();
  f->StartWriteback();
  f->Unlock();
  int token = 0;
  EXPECT_DEATH(
      {
        RegisterHeldHandle(&token, &token, "handle 'zero-range-test'");
        f->WaitWriteback();
      },
      "I1 violated.*folio writeback.*zero-range-test");
  f->EndWriteback();
}

TEST(FolioDeathTest, TruncateWaitingOnWritebackUnderAJournalHandleAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto m = std::move(Mapping::Create(4096).value());
  FolioRef f = std::move(m->GetOrCreate(0, 0).value());
  f->Lock();
  f->StartWriteback();
  f->Unlock();
  int token = 0;
  EXPECT_DEATH(
      {
        RegisterHeldHandle(&token, &token, "handle 'truncate-test'");
        m->TruncateRange(0, 4096);
      },
      "I1 violated.*folio writeback.*truncate-test");
  f->EndWriteback();
}

TEST(FolioDeathTest, MarkDirtyWithoutTheFolioLockAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  FolioRef f = MakeFolio(0, 4096, 0);
  EXPECT_DEATH(f->MarkDirty(0, 1), "without the folio lock");
}
#else
TEST(FolioDeathTest, SkippedInReleaseBuilds) { GTEST_SKIP() << "I1 checker is debug-only"; }
#endif

TEST(FolioBatchTest, AddStopsAtCapacityAndClearDropsReferences) {
  FolioBatch batch;
  FolioRef f = MakeFolio(0, 4096, 0);
  for (size_t i = 0; i < FolioBatch::kCapacity; i++) EXPECT_TRUE(batch.Add(f));
  EXPECT_TRUE(batch.full());
  EXPECT_FALSE(batch.Add(f));
  EXPECT_EQ(f.use_count(), static_cast<long>(FolioBatch::kCapacity) + 1);
  batch.Clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(f.use_count(), 1);
}

}  // namespace
}  // namespace foliofs
