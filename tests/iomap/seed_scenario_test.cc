// The seed thread's scenarios ("iomap: optional zero range dirty folio
// processing", linux-fsdevel 2025), each as a named test over the model
// filesystem, with deterministic interleavings built from the model's hooks,
// latches and helper threads. Anything that could hang runs under a Watchdog,
// so a deadlock fails with the scenario's name instead of a CTest timeout.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <latch>
#include <thread>
#include <vector>

#include "pagecache/base/held_handles.h"
#include "tests/iomap/model_fs.h"
#include "tests/support/watchdog.h"

namespace foliofs::iomaptest {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testsupport::Watchdog;

constexpr uint32_t kBs = 4096;

std::unique_ptr<ModelFs> MakeFs(uint32_t block_size = kBs, uint64_t max_folio = 256 * 1024) {
  ModelFsOptions o;
  o.block_size = block_size;
  o.max_folio_size = max_folio;
  o.data_bytes = 16ull << 20;
  // Quiet cache: nothing is written back unless the test says so, so device
  // write counts mean what the test did.
  o.cache = QuietCacheOptions();
  o.commit_interval = milliseconds(60000);
  auto fs = ModelFs::Create(o);
  EXPECT_TRUE(fs.ok()) << fs.status().ToString();
  return fs.ok() ? std::move(*fs) : nullptr;
}

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 9));
  for (auto& b : v)
    if (b == 0) b = 1;  // never zero: a zeroed byte is always visible
  return v;
}

void WriteOk(ModelInode& inode, uint64_t pos, const std::vector<uint8_t>& data) {
  Result<size_t> n = inode.Write(pos, data);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  ASSERT_EQ(*n, data.size());
}

std::vector<uint8_t> ReadAll(ModelInode& inode, uint64_t pos, uint64_t len) {
  std::vector<uint8_t> out(len);
  Result<size_t> n = inode.Read(pos, out);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  if (n.ok()) out.resize(*n);
  return out;
}

// First index where a and b differ, or -1.
int64_t FirstDiff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return static_cast<int64_t>(std::min(a.size(), b.size()));
  for (size_t i = 0; i < a.size(); i++)
    if (a[i] != b[i]) return static_cast<int64_t>(i);
  return -1;
}

// Checks the whole file (size = want.size()) through the cache, after a
// full fsync, after a cache drop, and the device truth.
void ExpectFileEverywhere(ModelFs& fs, ModelInode& inode, const std::vector<uint8_t>& want) {
  ASSERT_EQ(inode.size(), want.size());
  EXPECT_EQ(FirstDiff(ReadAll(inode, 0, want.size()), want), -1) << "through the cache";
  Status st = inode.Fsync();
  ASSERT_TRUE(st.ok()) << "fsync: " << st.ToString();
  EXPECT_EQ(FirstDiff(ReadAll(inode, 0, want.size()), want), -1) << "after fsync";
  fs.DropCache();
  EXPECT_EQ(FirstDiff(ReadAll(inode, 0, want.size()), want), -1) << "after fsync + drop";
  auto dev = inode.ReadDevice(0, want.size());
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(FirstDiff(*dev, want), -1) << "device truth";
  EXPECT_EQ(inode.stats().map_blocks_holes.load(), 0u) << "writeback met dirty data over a hole";
  EXPECT_EQ(inode.stats().stale_conversions.load(), 0u);
}

// ext4 (seed thread): zero range runs inside a journal handle; pre-fix it
// flushed the range when dirty cache sat over unwritten extents, and the
// flush's completion needed a handle in a transaction that waited for the
// caller's handle. foliofs must zero in cache, with no device write.
TEST(IomapSeedTest, ZeroRangeOverDirtyUnwrittenWithHandleHeld) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  std::vector<uint8_t> want = Pattern(64 * 1024, 3);
  WriteOk(inode, 0, want);
  ASSERT_EQ(inode.ExtentAt(0).state, BlockState::kUnwritten);
  ASSERT_GT(inode.page_mapping().dirty_count(), 0u);

  Watchdog dog("zero range under a journal handle", seconds(60));
  const uint64_t writes_before = fs->data_device().writes();
  auto handle = fs->journal().Start(1, "ext4-zero-range");
  ASSERT_TRUE(handle.ok());
  ASSERT_TRUE(ThreadHoldsJournalHandle());

  bool did_zero = false;
  ASSERT_TRUE(inode.ZeroRange(4096 + 100, 40000, &did_zero).ok());
  EXPECT_TRUE(did_zero);
  std::memset(want.data() + 4096 + 100, 0, 40000);
  EXPECT_EQ(fs->data_device().writes(), writes_before) << "zero range flushed (I2)";
  EXPECT_GT(inode.stats().batched_folios.load(), 0u);
  EXPECT_EQ(FirstDiff(ReadAll(inode, 0, want.size()), want), -1);

  // An fsync racing the held handle: its data writeback may run, but its
  // commit needs this handle to stop. It must not finish before, and must
  // finish after.
  std::promise<Status> fsync_result;
  auto fsync_done = fsync_result.get_future();
  std::thread fsyncer([&] { fsync_result.set_value(inode.Fsync()); });
  EXPECT_EQ(fsync_done.wait_for(milliseconds(200)), std::future_status::timeout)
      << "fsync's commit completed while a handle of its transaction was running";
  ASSERT_TRUE((*handle)->Stop().ok());
  fsyncer.join();
  EXPECT_TRUE(fsync_done.get().ok());
  dog.Done();
  ExpectFileEverywhere(*fs, inode, want);
}

// I5: one large folio over written, unwritten and hole blocks; zeroing a
// range that crosses all of them zeroes exactly that range.
TEST(IomapSeedTest, ZeroRangeOnFolioStraddlingHoleAndUnwritten) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  // Blocks 0–3 written on disk, then dropped from the cache.
  WriteOk(inode, 0, Pattern(16 * 1024, 9));
  ASSERT_TRUE(inode.Fsync().ok());
  fs->DropCache();
  // Blocks 4–15 unwritten, inside EOF. A 64 KiB read makes one large folio
  // over both mappings (a write's folios never outgrow its mapping), which
  // a 64 KiB write then dirties whole.
  ASSERT_TRUE(inode.Fallocate(16 * 1024, 48 * 1024).ok());
  ASSERT_TRUE(inode.Truncate(64 * 1024).ok());
  (void)ReadAll(inode, 0, 64 * 1024);
  std::vector<uint8_t> want = Pattern(64 * 1024, 21);
  WriteOk(inode, 0, want);
  FolioRef folio = inode.page_mapping().Lookup(0);
  ASSERT_NE(folio, nullptr);
  ASSERT_EQ(folio->size(), 64u * 1024) << "the scenario needs one large folio";
  // Blocks 8–11 become a hole (their cache: clean zeros), inside the folio.
  ASSERT_TRUE(inode.Punch(32 * 1024, 16 * 1024).ok());
  std::memset(want.data() + 32 * 1024, 0, 16 * 1024);
  ASSERT_EQ(inode.page_mapping().Lookup(40 * 1024), folio) << "punch split the folio";
  EXPECT_EQ(inode.ExtentAt(0).state, BlockState::kWritten);
  EXPECT_EQ(inode.ExtentAt(5).state, BlockState::kUnwritten);
  EXPECT_EQ(inode.ExtentAt(9).state, BlockState::kHole);
  EXPECT_EQ(inode.ExtentAt(13).state, BlockState::kUnwritten);

  // Hole only (inside one block and across blocks), then across all types.
  ASSERT_TRUE(inode.ZeroRange(36 * 1024 + 7, 100).ok());
  ASSERT_TRUE(inode.ZeroRange(33 * 1024, 9 * 1024).ok());
  const uint64_t zpos = 8 * 1024 + 123, zlen = 48 * 1024;  // written→unwritten→hole→unwritten
  ASSERT_TRUE(inode.ZeroRange(zpos, zlen).ok());
  std::memset(want.data() + zpos, 0, zlen);
  EXPECT_EQ(FirstDiff(ReadAll(inode, 0, want.size()), want), -1);
  EXPECT_EQ(inode.ExtentAt(9).state, BlockState::kHole) << "zeroing a hole allocated it";
  ExpectFileEverywhere(*fs, inode, want);
}

// Smallest form of the above: zeroing part of a punched hole inside a dirty
// folio must not leave dirty data over the hole (writeback has no blocks
// for it and fails with EIO).
TEST(IomapSeedTest, ZeroingHoleInsideDirtyFolioLeavesNothingToWriteBack) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  std::vector<uint8_t> want = Pattern(64 * 1024, 5);
  WriteOk(inode, 0, want);
  ASSERT_TRUE(inode.Punch(16 * 1024, 16 * 1024).ok());
  std::memset(want.data() + 16 * 1024, 0, 16 * 1024);
  ASSERT_TRUE(inode.ZeroRange(20 * 1024, 4 * 1024).ok());
  Status st = inode.Fsync();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(inode.stats().map_blocks_holes.load(), 0u);
  ExpectFileEverywhere(*fs, inode, want);
}

// XFS race (seed thread): writeback completion converting the extent
// between zero range's extent lookup and its dirty-folio lookup. Here the
// batch is filled under the mapping lock the conversion needs, so the
// writeback started inside that window maps and converts only after Begin;
// the zeroes land either way.
TEST(IomapSeedTest, WritebackCompletesBetweenLookupAndBatchFill) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  std::vector<uint8_t> want = Pattern(64 * 1024, 11);
  WriteOk(inode, 0, want);
  ASSERT_EQ(inode.ExtentAt(1).state, BlockState::kUnwritten);

  Watchdog dog("writeback racing zero range's lookup", seconds(60));
  std::thread writeback;
  std::promise<Status> wb_result;
  std::atomic<uint64_t> converted_in_window{UINT64_MAX};
  std::atomic<int> hook_calls{0};
  inode.hooks.after_lookup = [&](IomapIter&) {
    if (hook_calls.fetch_add(1) != 0) return;
    // Under the mapping lock: start a whole writeback (submission and
    // completion) of the range and give it every chance to convert.
    writeback = std::thread([&] { wb_result.set_value(inode.WritebackRange(0, UINT64_MAX, true)); });
    std::this_thread::sleep_for(milliseconds(100));
    converted_in_window = inode.stats().converted_blocks.load();
  };
  const uint64_t zpos = 4096 + 5, zlen = 20000;
  ASSERT_TRUE(inode.ZeroRange(zpos, zlen).ok());
  std::memset(want.data() + zpos, 0, zlen);
  inode.hooks.after_lookup = nullptr;
  writeback.join();
  EXPECT_TRUE(wb_result.get_future().get().ok());
  dog.Done();
  EXPECT_EQ(converted_in_window.load(), 0u)
      << "the conversion ran while zero range's Begin held the mapping lock";
  EXPECT_EQ(inode.ExtentAt(1).state, BlockState::kWritten);
  EXPECT_EQ(FirstDiff(ReadAll(inode, 0, want.size()), want), -1);
  ExpectFileEverywhere(*fs, inode, want);
}

// The same race, other order: the I/O is done and the completion waits at
// the mapping lock when zero range looks up the extent — still UNWRITTEN, the
// folio under writeback (not dirty) must be batched and zeroed, and the
// conversion that follows must not resurrect the old data.
TEST(IomapSeedTest, ZeroRangeBatchesFolioWhoseConversionIsPending) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  std::vector<uint8_t> want = Pattern(64 * 1024, 13);
  WriteOk(inode, 0, want);

  Watchdog dog("completion held at the mapping lock", seconds(60));
  std::promise<void> at_completion;
  std::latch release(1);
  std::atomic<int> calls{0};
  inode.hooks.before_end_writeback = [&](uint64_t, uint64_t) {
    if (calls.fetch_add(1) != 0) return;
    at_completion.set_value();
    release.wait();
  };
  std::promise<Status> wb_result;
  std::thread writeback([&] { wb_result.set_value(inode.WritebackRange(0, UINT64_MAX, false)); });
  at_completion.get_future().wait();
  FolioRef folio = inode.page_mapping().Lookup(0);
  ASSERT_NE(folio, nullptr);
  EXPECT_TRUE(folio->writeback());
  EXPECT_FALSE(folio->dirty());
  ASSERT_EQ(inode.ExtentAt(1).state, BlockState::kUnwritten);

  std::atomic<uint64_t> converted_in_window{UINT64_MAX};
  std::atomic<int> lookups{0};
  inode.hooks.after_lookup = [&](IomapIter&) {
    // Only the first lookup: a later one (a remap after the conversion made
    // the mapping stale, I7) legitimately sees the conversion done.
    if (lookups.fetch_add(1) != 0) return;
    release.count_down();  // the completion now blocks on the mapping lock
    std::this_thread::sleep_for(milliseconds(50));
    converted_in_window = inode.stats().converted_blocks.load();
  };
  const uint64_t writes_before = fs->data_device().writes();
  const uint64_t batched_before = inode.stats().batched_folios.load();
  ASSERT_TRUE(inode.ZeroRange(8192 + 1, 30000).ok());
  std::memset(want.data() + 8192 + 1, 0, 30000);
  inode.hooks.after_lookup = nullptr;
  writeback.join();
  EXPECT_TRUE(wb_result.get_future().get().ok());
  dog.Done();
  EXPECT_EQ(converted_in_window.load(), 0u);
  EXPECT_GT(inode.stats().batched_folios.load(), batched_before)
      << "the folio under writeback was not batched";
  EXPECT_EQ(fs->data_device().writes(), writes_before) << "zero range wrote to the device";
  EXPECT_TRUE(folio->dirty()) << "the zeroes must be written again after the old data";
  ExpectFileEverywhere(*fs, inode, want);
}

// I3: more dirty folios than the batch holds; each Begin trims at the last
// batched folio and the iterator continues there.
TEST(IomapSeedTest, MoreDirtyFoliosThanTheBatchHolds) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  constexpr int kFolios = 100;
  ASSERT_TRUE(inode.Fallocate(0, kFolios * kBs).ok());
  std::vector<uint8_t> want = Pattern(kFolios * kBs, 17);
  // One block per write at block-aligned positions: order-0 folios.
  for (int i = 0; i < kFolios; i++) {
    std::vector<uint8_t> piece(want.begin() + i * kBs, want.begin() + (i + 1) * kBs);
    WriteOk(inode, static_cast<uint64_t>(i) * kBs, piece);
  }
  ASSERT_EQ(inode.page_mapping().folio_count(), static_cast<size_t>(kFolios));
  ASSERT_EQ(inode.page_mapping().dirty_count(), static_cast<size_t>(kFolios));
  ASSERT_EQ(inode.ExtentAt(kFolios - 1).state, BlockState::kUnwritten);

  const uint64_t begins = inode.stats().zero_begins.load();
  const uint64_t writes = fs->data_device().writes();
  const uint64_t zpos = 1000, zlen = kFolios * kBs - 2000;
  ASSERT_TRUE(inode.ZeroRange(zpos, zlen).ok());
  std::memset(want.data() + zpos, 0, zlen);
  const uint64_t steps = inode.stats().zero_begins.load() - begins;
  EXPECT_GE(steps, static_cast<uint64_t>((kFolios + FolioBatch::kCapacity - 1) /
                                         FolioBatch::kCapacity));
  EXPECT_GE(inode.stats().batch_trims.load(), 3u);
  EXPECT_EQ(inode.stats().max_batch.load(), FolioBatch::kCapacity);
  EXPECT_EQ(fs->data_device().writes(), writes);
  EXPECT_EQ(FirstDiff(ReadAll(inode, 0, want.size()), want), -1);
  ExpectFileEverywhere(*fs, inode, want);
}

// I6: truncate down into the middle of a dirty large folio, write back, then
// extend: no stale bytes in the extension, nothing written past EOF.
TEST(IomapSeedTest, TruncateDownThroughDirtyLargeFolioThenExtend) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  std::vector<uint8_t> data = Pattern(256 * 1024, 23);
  WriteOk(inode, 0, data);
  ASSERT_EQ(inode.page_mapping().Lookup(0)->size(), 256u * 1024);

  const uint64_t cut = 100 * 1024 + 123;
  ASSERT_TRUE(inode.Truncate(cut).ok());
  const uint64_t eof_blocks = (cut + kBs - 1) / kBs;
  EXPECT_EQ(inode.ExtentAt(eof_blocks).state, BlockState::kHole);

  // Writeback now must touch only blocks inside the new EOF.
  fs->data_device().set_recording(true);
  ASSERT_TRUE(inode.WritebackRange(0, UINT64_MAX, true).ok());
  fs->data_device().set_recording(false);
  const auto writes = fs->data_device().TakeWrites();
  EXPECT_FALSE(writes.empty());
  for (const auto& w : writes) {
    for (uint64_t off = w.offset; off < w.offset + w.length; off += kBs) {
      auto fblk = inode.FileBlockOf(off / kBs);
      ASSERT_TRUE(fblk.has_value()) << "write to device block " << off / kBs
                                    << " that the file does not own";
      EXPECT_LT(*fblk, eof_blocks) << "writeback past EOF";
    }
  }
  EXPECT_EQ(inode.stats().map_blocks_past_eof.load(), 0u);

  // Extend: everything past the old cut reads as zeros, before and after
  // writeback and cache drop (freed blocks come back with stale contents).
  ASSERT_TRUE(inode.Truncate(300 * 1024).ok());
  std::vector<uint8_t> want(300 * 1024, 0);
  std::memcpy(want.data(), data.data(), cut);
  EXPECT_EQ(FirstDiff(ReadAll(inode, 0, want.size()), want), -1);
  // Reuse the freed blocks with other data in the extension.
  std::vector<uint8_t> tail = Pattern(5000, 29);
  WriteOk(inode, 280 * 1024 + 17, tail);
  std::memcpy(want.data() + 280 * 1024 + 17, tail.data(), tail.size());
  want.resize(std::max<size_t>(want.size(), 280 * 1024 + 17 + tail.size()));
  ExpectFileEverywhere(*fs, inode, want);
}

// Writeback that runs after a write's data is in the folio and i_size has
// grown (ExtendSize, under the folio lock) but before the iterator's End:
// the new bytes past the old EOF are file data, not EOF tail.
TEST(IomapSeedTest, WritebackBeforeWriteEndKeepsDataPastOldEof) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  std::vector<uint8_t> want = Pattern(10000, 31);
  WriteOk(inode, 0, want);
  std::atomic<int> calls{0};
  inode.hooks.before_end = [&](IomapIter& iter, uint64_t) {
    if ((iter.flags() & kIomapWrite) == 0 || calls.fetch_add(1) != 0) return;
    EXPECT_TRUE(inode.WritebackRange(0, UINT64_MAX, true).ok());
  };
  std::vector<uint8_t> more = Pattern(50000, 37);
  WriteOk(inode, want.size(), more);
  inode.hooks.before_end = nullptr;
  EXPECT_GE(calls.load(), 1);
  want.insert(want.end(), more.begin(), more.end());
  ExpectFileEverywhere(*fs, inode, want);
}

// I7: writeback converts the extent after a write's Begin returned and
// before the write locks its folio; the write must notice the stale mapping,
// map again and still land every byte.
TEST(IomapSeedTest, WriteRevalidatesWhenWritebackConvertsAfterBegin) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  WriteOk(inode, 0, Pattern(64 * 1024, 43));
  ASSERT_EQ(inode.ExtentAt(0).state, BlockState::kUnwritten);
  std::atomic<int> calls{0};
  inode.hooks.after_begin = [&](IomapIter& iter) {
    if ((iter.flags() & kIomapWrite) == 0 || calls.fetch_add(1) != 0) return;
    EXPECT_TRUE(inode.WritebackRange(0, UINT64_MAX, true).ok());
    EXPECT_EQ(inode.ExtentAt(0).state, BlockState::kWritten);
  };
  const uint64_t begins = inode.stats().begins.load();
  std::vector<uint8_t> want = Pattern(64 * 1024, 47);
  WriteOk(inode, 0, want);
  inode.hooks.after_begin = nullptr;
  EXPECT_GE(inode.stats().begins.load() - begins, 2u) << "the stale mapping was not redone";
  ExpectFileEverywhere(*fs, inode, want);
}

// I7 for zero range: the batched folios' extent is converted after Begin;
// the zeroing must remap (now MAPPED) and zero through the cache.
TEST(IomapSeedTest, ZeroRangeRevalidatesWhenWritebackConvertsAfterBegin) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  std::vector<uint8_t> want = Pattern(64 * 1024, 53);
  WriteOk(inode, 0, want);
  std::atomic<int> calls{0};
  inode.hooks.after_begin = [&](IomapIter& iter) {
    if ((iter.flags() & kIomapZero) == 0 || calls.fetch_add(1) != 0) return;
    EXPECT_EQ(iter.iomap().type, IomapType::kUnwritten);
    EXPECT_TRUE(inode.WritebackRange(0, UINT64_MAX, true).ok());
  };
  const uint64_t zpos = 3000, zlen = 50000;
  ASSERT_TRUE(inode.ZeroRange(zpos, zlen).ok());
  inode.hooks.after_begin = nullptr;
  std::memset(want.data() + zpos, 0, zlen);
  EXPECT_GE(calls.load(), 2) << "zero range did not remap after the conversion";
  EXPECT_EQ(FirstDiff(ReadAll(inode, 0, want.size()), want), -1);
  ExpectFileEverywhere(*fs, inode, want);
}

// WB_SYNC_ALL (fsync's writeback) must write every dirty folio of its
// range, even when the first batch of folios it finds are all under
// someone else's writeback (a flusher, as under memory pressure) and none
// of them is dirty: it has to look past them, not stop.
TEST(IomapSeedTest, SyncWritebackLooksPastAFullBatchOfFoliosUnderWriteback) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  constexpr int kHeld = static_cast<int>(FolioBatch::kCapacity) + 9;  // 40 folios under writeback
  constexpr int kFolios = kHeld + 8;                                   // then 8 dirty ones
  std::vector<uint8_t> want = Pattern(kFolios * kBs, 59);
  for (int i = 0; i < kFolios; i++) {
    std::vector<uint8_t> piece(want.begin() + i * kBs, want.begin() + (i + 1) * kBs);
    WriteOk(inode, static_cast<uint64_t>(i) * kBs, piece);
  }
  ASSERT_EQ(inode.page_mapping().folio_count(), static_cast<size_t>(kFolios));

  Watchdog dog("sync writeback behind folios under writeback", seconds(60));
  std::promise<void> held;
  std::latch release(1);
  std::atomic<int> calls{0};
  inode.hooks.before_end_writeback = [&](uint64_t, uint64_t) {
    if (calls.fetch_add(1) != 0) return;
    held.set_value();
    release.wait();
  };
  // A "flusher" writes back the first kHeld folios (one gathering of up to a
  // batch, then the rest) and is held before its completion.
  std::promise<Status> bg_result;
  std::thread flusher([&] { bg_result.set_value(inode.WritebackRange(0, kHeld * kBs, false)); });
  held.get_future().wait();
  size_t under_writeback = 0;
  for (int i = 0; i < kHeld; i++)
    if (inode.page_mapping().Lookup(static_cast<uint64_t>(i) * kBs)->writeback()) under_writeback++;
  ASSERT_GE(under_writeback, FolioBatch::kCapacity) << "setup: a full batch under writeback";

  Status st = inode.WritebackRange(0, UINT64_MAX, /*sync=*/true);
  EXPECT_TRUE(st.ok()) << st.ToString();
  std::vector<int> still_dirty;
  for (int i = kHeld; i < kFolios; i++)
    if (inode.page_mapping().Lookup(static_cast<uint64_t>(i) * kBs)->dirty()) still_dirty.push_back(i);
  EXPECT_TRUE(still_dirty.empty()) << still_dirty.size()
                                   << " dirty folios after WB_SYNC_ALL writeback, first at block "
                                   << still_dirty.front();
  release.count_down();
  flusher.join();
  EXPECT_TRUE(bg_result.get_future().get().ok());
  inode.hooks.before_end_writeback = nullptr;
  dog.Done();
  ExpectFileEverywhere(*fs, inode, want);
}

// A zero range written the pre-fix way: flush the range when dirty cache
// sits over unwritten extents, then zero. Inside a journal handle (ext4), the
// I1 checker must abort and name both the handle and the wait.
[[maybe_unused]] Status FlushFallbackZeroRange(ModelInode& inode, uint64_t pos, uint64_t len) {
  if (inode.page_mapping().RangeNeedsWriteback(pos, pos + len))
    RETURN_IF_ERROR(IomapWriteAndWait(inode, pos, pos + len));
  return IomapZeroRange(inode, pos, len);
}

TEST(IomapSeedDeathTest, FlushFallbackZeroRangeIsCaughtByI1Checker) {
#ifdef NDEBUG
  GTEST_SKIP() << "the I1 checker is compiled in debug builds only";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto fs = MakeFs();
        ModelInode& inode = fs->inode();
        std::vector<uint8_t> data = Pattern(64 * 1024, 41);
        (void)inode.Write(0, data);
        auto handle = fs->journal().Start(1, "ext4-zero-range-with-flush");
        std::unique_lock<std::shared_mutex> lock(inode.io_lock());
        (void)FlushFallbackZeroRange(inode, 4096, 8192);
      },
      "invariant I1 violated: waiting for .+ while holding journal handle "
      ".*ext4-zero-range-with-flush");
#endif
}

// Writeback under the folio lock must set writeback() BEFORE it clears
// dirty(): lock-free readers of the summary flags (iomap_begin's
// FillDirtyFolios for zero range — I2 —, fsync's gathering,
// RangeNeedsWriteback, WaitWritebackRange) take "neither dirty nor under
// writeback" to mean "the device (after conversion) has the data". With
// ClearDirty first, the folio looked clean and idle while the flusher sat in
// ClearDirty's dirty accounting (it takes Mapping::mu_, which those readers
// hold): zero range skipped it and the flusher then wrote back the un-zeroed
// bytes, and fsync returned before the data was written (the model test's
// failures under reclaim, where background flushers run beside the ops).
// The poller below holds Mapping::mu_ as often as it can, which parks the
// old order inside that window nearly every round.
TEST(IomapSeedTest, WritebackNeverShowsAFolioCleanAndIdleBeforeItsDataIsWritten) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  Mapping& mapping = inode.page_mapping();
  std::atomic<bool> written{false};
  fs->data_device().on_write = [&](uint64_t, uint64_t) {
    written.store(true, std::memory_order_seq_cst);
  };
  Watchdog dog("writeback racing a summary-flag reader", seconds(120));
  uint64_t violations = 0;
  for (int round = 0; round < 2000 && violations == 0; round++) {
    WriteOk(inode, 0, Pattern(kBs, static_cast<uint8_t>(round)));
    written.store(false, std::memory_order_seq_cst);
    std::atomic<bool> done{false};
    Status wb_status;
    std::thread wb([&] {
      wb_status = inode.WritebackRange(0, UINT64_MAX, /*sync=*/false);
      done.store(true, std::memory_order_seq_cst);
    });
    while (!done.load(std::memory_order_seq_cst)) {
      // Flags first, then the device: once neither flag is set the data
      // must already have been submitted.
      const bool needs = mapping.RangeNeedsWriteback(0, kBs);
      if (!needs && !written.load(std::memory_order_seq_cst)) violations++;
    }
    wb.join();
    ASSERT_TRUE(wb_status.ok()) << wb_status.ToString();
  }
  dog.Done();
  fs->data_device().on_write = nullptr;
  EXPECT_EQ(violations, 0u)
      << "a folio looked neither dirty nor under writeback before its data was written";
}

}  // namespace
}  // namespace foliofs::iomaptest
