// Targeted tests of the fs/iomap clients: each pins one promise of
// fs/iomap/iomap.h. Most run over helper C's ModelFs (a real extent map,
// journal and PageCache); the writeback EOF and I/O-error cases use a tiny
// identity-mapped FakeInode, because they need a size the model would never
// produce (dirty data past EOF) or a fault-injecting device.
#include <gtest/gtest.h>

#include <cstring>
#include <mutex>
#include <numeric>
#include <random>
#include <vector>

#include "fs/iomap/iomap.h"
#include "pagecache/blockdev/faulty_device.h"
#include "pagecache/blockdev/memory_device.h"
#include "pagecache/page_cache.h"
#include "tests/iomap/model_fs.h"

namespace foliofs {
namespace {

using iomaptest::BlockState;
using iomaptest::ModelFs;
using iomaptest::ModelFsOptions;
using iomaptest::ModelInode;

constexpr uint64_t kBs = 4096;

std::vector<uint8_t> Pattern(size_t len, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(len);
  for (auto& b : v) b = static_cast<uint8_t>(rng() | 1);  // never zero
  return v;
}

bool AllZero(std::span<const uint8_t> v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

std::unique_ptr<ModelFs> MakeFs(uint64_t data_bytes = 32ull << 20) {
  ModelFsOptions o;
  o.data_bytes = data_bytes;
  o.cache = iomaptest::QuietCacheOptions();
  auto fs = ModelFs::Create(o);
  EXPECT_TRUE(fs.ok()) << fs.status().ToString();
  return std::move(*fs);
}

std::vector<uint8_t> ReadAll(ModelInode& inode, uint64_t pos, size_t len) {
  std::vector<uint8_t> out(len, 0xEE);
  auto n = inode.Read(pos, out);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  if (n.ok()) out.resize(*n);
  return out;
}

// ---- FakeInode: identity map over a device, every block allocated
// UNWRITTEN at first and converted by EndWriteback; size set by the test.
class FakeInode final : public IomapInode {
 public:
  FakeInode(PageCache& cache, BlockDevice& dev, uint64_t blocks) : dev_(dev), state_(blocks, 0) {
    mapping_ = std::move(*cache.NewMapping(kBs, this));
  }
  ~FakeInode() override { mapping_.reset(); }

  Mapping& page_mapping() override { return *mapping_; }
  BlockDevice& device() override { return dev_; }
  uint64_t size() const override { return size_.load(); }
  void set_size(uint64_t s) { size_.store(s); }
  void ExtendSize(uint64_t s) override {
    if (grow_) size_.store(std::max(size_.load(), s));
  }
  void set_grow(bool on) { grow_ = on; }
  bool written(uint64_t blk) {
    std::lock_guard lk(mu_);
    return state_[blk] != 0;
  }

  Status Begin(IomapIter& iter) override {
    std::lock_guard lk(mu_);
    iter.iomap() = LookupLocked(iter.pos(), iter.len());
    Iomap& m = iter.iomap();
    if ((iter.flags() & kIomapZero) && m.type == IomapType::kUnwritten)
      m.length = mapping_->FillDirtyFolios(iter.pos(), m.end(), iter.batch()) - m.offset;
    return Status::Ok();
  }
  bool IomapValid(const IomapIter& iter) override { return iter.iomap().seq == seq_.load(); }
  Result<Iomap> MapBlocks(uint64_t pos, uint64_t len) override {
    std::lock_guard lk(mu_);
    Iomap m = LookupLocked(pos, len);
    const uint64_t end = std::min(m.end(), pos + len);
    m.addr = m.AddrOf(pos);
    m.offset = pos;
    m.length = end - pos;
    return m;
  }
  Status EndWriteback(uint64_t pos, uint64_t len, const Iomap&, Status io) override {
    if (!io.ok()) return io;  // nothing converts on an error (I8)
    std::lock_guard lk(mu_);
    for (uint64_t b = pos / kBs; b < (pos + len) / kBs; b++) state_[b] = 1;
    seq_++;
    return Status::Ok();
  }

 private:
  Iomap LookupLocked(uint64_t pos, uint64_t len) const {
    const uint64_t first = pos / kBs;
    uint64_t last = first + 1;
    const uint64_t limit =
        std::min<uint64_t>(state_.size(), (pos + std::max<uint64_t>(len, 1) + kBs - 1) / kBs);
    while (last < limit && state_[last] == state_[first]) last++;
    Iomap m;
    m.offset = first * kBs;
    m.length = (last - first) * kBs;
    m.addr = m.offset;
    m.type = state_[first] ? IomapType::kMapped : IomapType::kUnwritten;
    m.seq = seq_.load();
    return m;
  }

  BlockDevice& dev_;
  std::unique_ptr<Mapping> mapping_;
  std::atomic<uint64_t> size_{0};
  std::atomic<bool> grow_{true};
  mutable std::mutex mu_;
  std::vector<uint8_t> state_;  // GUARDED_BY(mu_): 0 unwritten, 1 written
  std::atomic<uint64_t> seq_{1};
};

// ---- reads -------------------------------------------------------------------

TEST(IomapClientTest, HolesAndUnwrittenReadAsZeros) {
  auto fs = MakeFs();  // garbage-filled device: a device read of them would show
  ModelInode& inode = fs->inode();
  ASSERT_TRUE(inode.Truncate(256 * 1024).ok());
  ASSERT_TRUE(inode.Fallocate(64 * 1024, 64 * 1024).ok());
  EXPECT_EQ(inode.ExtentAt(16).state, BlockState::kUnwritten);
  EXPECT_EQ(inode.ExtentAt(0).state, BlockState::kHole);
  const uint64_t reads_before = fs->data_device().reads();
  auto got = ReadAll(inode, 1000, 200 * 1024);
  ASSERT_EQ(got.size(), 200u * 1024);
  EXPECT_TRUE(AllZero(got));
  EXPECT_EQ(fs->data_device().reads(), reads_before) << "holes/unwritten must not hit the device";
  // Past EOF: nothing.
  EXPECT_EQ(ReadAll(inode, 256 * 1024, 10).size(), 0u);
}

TEST(IomapClientTest, PartialBlockWriteOverMappedReadsModifiesWrites) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  auto base = Pattern(2 * kBs, 1);
  ASSERT_TRUE(inode.Write(0, base).ok());
  ASSERT_TRUE(inode.Fsync().ok());
  ASSERT_EQ(inode.ExtentAt(0).state, BlockState::kWritten);
  fs->DropCache();
  ASSERT_EQ(inode.page_mapping().folio_count(), 0u);

  auto patch = Pattern(100, 2);
  const uint64_t reads_before = fs->data_device().reads();
  ASSERT_TRUE(inode.Write(1000, patch).ok());
  EXPECT_GT(fs->data_device().reads(), reads_before) << "partial block over MAPPED must be read";
  auto expect = base;
  std::memcpy(expect.data() + 1000, patch.data(), patch.size());
  EXPECT_EQ(ReadAll(inode, 0, 2 * kBs), expect);
  ASSERT_TRUE(inode.Fsync().ok());
  fs->DropCache();
  EXPECT_EQ(ReadAll(inode, 0, 2 * kBs), expect);
}

TEST(IomapClientTest, PartialWriteOverUnwrittenNeedsNoDeviceRead) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  ASSERT_TRUE(inode.Truncate(kBs).ok());
  ASSERT_TRUE(inode.Fallocate(0, kBs).ok());
  const uint64_t reads_before = fs->data_device().reads();
  auto patch = Pattern(10, 3);
  ASSERT_TRUE(inode.Write(100, patch).ok());
  EXPECT_EQ(fs->data_device().reads(), reads_before);
  auto got = ReadAll(inode, 0, kBs);
  EXPECT_TRUE(AllZero(std::span(got).subspan(0, 100)));
  EXPECT_TRUE(AllZero(std::span(got).subspan(110)));
  EXPECT_EQ(std::vector<uint8_t>(got.begin() + 100, got.begin() + 110), patch);
}

TEST(IomapClientTest, AlignedMiBWriteCreatesLargeFolios) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  auto data = Pattern(1 << 20, 4);
  auto n = inode.Write(0, data);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, data.size());
  EXPECT_EQ(inode.page_mapping().folio_count(), 4u);
  for (uint64_t p = 0; p < (1 << 20); p += 256 * 1024) {
    FolioRef f = inode.page_mapping().Lookup(p);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->size(), 256u * 1024);
  }
  EXPECT_EQ(inode.size(), 1u << 20);
  EXPECT_EQ(ReadAll(inode, 0, 1 << 20), data);
}

TEST(IomapClientTest, SmallUnalignedWriteUsesSmallFolios) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  ASSERT_TRUE(inode.Write(kBs, Pattern(2 * kBs, 5)).ok());
  FolioRef f = inode.page_mapping().Lookup(kBs);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->size(), kBs);
}

TEST(IomapClientTest, SequentialReadsGrowTheWindowAndUseLargeFolios) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  const size_t total = 8 << 20;
  auto data = Pattern(total, 6);
  ASSERT_TRUE(inode.Write(0, data).ok());
  ASSERT_TRUE(inode.Fsync().ok());
  fs->DropCache();
  ASSERT_EQ(inode.page_mapping().folio_count(), 0u);

  ReadaheadState ra;
  const uint64_t reads_before = fs->data_device().reads();
  const uint64_t submits_before = fs->data_device().submits();
  std::vector<uint8_t> got(total);
  uint64_t max_window = 0;
  const size_t chunk = 64 * 1024;
  for (size_t p = 0; p < total; p += chunk) {
    auto n = IomapRead(inode, &ra, p, std::span(got).subspan(p, chunk));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, chunk);
    max_window = std::max(max_window, ra.window_size());
  }
  EXPECT_EQ(got, data);
  EXPECT_GT(max_window, ReadaheadState::kDefaultInitialWindow);
  const uint64_t submits = fs->data_device().submits() - submits_before;
  EXPECT_LT(submits, total / chunk / 4) << "readahead must batch the device reads";
  EXPECT_LE(fs->data_device().reads() - reads_before, submits * 2)
      << "contiguous blocks must coalesce into few requests";
  FolioRef late = inode.page_mapping().Lookup(total - chunk);
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->size(), 256u * 1024);
}

// ---- revalidation (I7) -------------------------------------------------------

TEST(IomapClientTest, StaleMappingAtFolioLockIsRemapped) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  // A dirty block elsewhere whose writeback completion will change the extent
  // map (unwritten → written bumps seq) between our Begin and folio lock.
  auto other = Pattern(kBs, 7);
  ASSERT_TRUE(inode.Write(1 << 20, other).ok());
  bool fired = false;
  inode.hooks.after_begin = [&](IomapIter& iter) {
    if (fired || !(iter.flags() & kIomapWrite) || iter.pos() != 0) return;
    fired = true;
    ASSERT_TRUE(inode.WritebackRange(1 << 20, (1 << 20) + kBs, true).ok());
  };
  const uint64_t seq_before = inode.seq();
  const uint64_t begins_before = inode.stats().begins.load();
  auto data = Pattern(3 * kBs, 8);
  auto n = inode.Write(0, data);
  inode.hooks.after_begin = nullptr;
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, data.size());
  EXPECT_TRUE(fired);
  EXPECT_GT(inode.seq(), seq_before);
  EXPECT_GE(inode.stats().begins.load() - begins_before, 2u) << "stale mapping was not remapped";
  EXPECT_EQ(ReadAll(inode, 0, 3 * kBs), data);
  ASSERT_TRUE(inode.Fsync().ok());
  fs->DropCache();
  EXPECT_EQ(ReadAll(inode, 0, 3 * kBs), data);
  EXPECT_EQ(ReadAll(inode, 1 << 20, kBs), other);
}

// ---- zero range ----------------------------------------------------------------

TEST(IomapClientTest, ZeroRangeOverMoreDirtyFoliosThanTheBatchZeroesAll) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  const uint64_t blocks = 100;
  ASSERT_TRUE(inode.Truncate(blocks * kBs).ok());
  ASSERT_TRUE(inode.Fallocate(0, blocks * kBs).ok());
  // 50 separate single-block dirty folios over one unwritten extent.
  for (uint64_t b = 0; b < blocks; b += 2) ASSERT_TRUE(inode.Write(b * kBs, Pattern(kBs, b)).ok());
  ASSERT_GT(inode.page_mapping().dirty_count(), FolioBatch::kCapacity);
  const uint64_t writes_before = fs->data_device().writes();
  bool did_zero = false;
  ASSERT_TRUE(inode.ZeroRange(0, blocks * kBs, &did_zero).ok());
  EXPECT_TRUE(did_zero);
  EXPECT_EQ(fs->data_device().writes(), writes_before) << "zero range must not flush (I2)";
  EXPECT_EQ(inode.stats().max_batch.load(), FolioBatch::kCapacity);
  EXPECT_GE(inode.stats().batch_trims.load(), 1u);
  EXPECT_TRUE(AllZero(ReadAll(inode, 0, blocks * kBs)));
  ASSERT_TRUE(inode.Fsync().ok());
  fs->DropCache();
  EXPECT_TRUE(AllZero(ReadAll(inode, 0, blocks * kBs)));
}

TEST(IomapClientTest, ZeroRangeOverMappedPartialBlocks) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  auto data = Pattern(4 * kBs, 9);
  ASSERT_TRUE(inode.Write(0, data).ok());
  ASSERT_TRUE(inode.Fsync().ok());
  fs->DropCache();
  bool did_zero = false;
  ASSERT_TRUE(inode.ZeroRange(1000, 6000, &did_zero).ok());
  EXPECT_TRUE(did_zero);
  auto expect = data;
  std::memset(expect.data() + 1000, 0, 6000);
  EXPECT_EQ(ReadAll(inode, 0, 4 * kBs), expect);
  ASSERT_TRUE(inode.Fsync().ok());
  fs->DropCache();
  EXPECT_EQ(ReadAll(inode, 0, 4 * kBs), expect);
}

TEST(IomapClientTest, TruncatePageZeroesThePartialEofBlockOnly) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  auto data = Pattern(2 * kBs, 10);
  ASSERT_TRUE(inode.Write(0, data).ok());
  ASSERT_TRUE(IomapTruncatePage(inode, kBs + 100).ok());
  auto got = ReadAll(inode, 0, 2 * kBs);
  EXPECT_TRUE(std::equal(got.begin(), got.begin() + kBs + 100, data.begin()));
  EXPECT_TRUE(AllZero(std::span(got).subspan(kBs + 100)));
  ASSERT_TRUE(IomapTruncatePage(inode, kBs).ok());  // aligned: no-op
}

TEST(IomapClientTest, ZeroRangeDuringWritebackOfUnwrittenZeroesAndRedirties) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  auto data = Pattern(2 * kBs, 17);
  ASSERT_TRUE(inode.Write(0, data).ok());
  // The seed thread's case: the folio is under writeback, its extent still
  // UNWRITTEN (conversion not yet run). Zero range must batch it and zero it
  // in cache, without waiting for that writeback or flushing.
  bool fired = false, did_zero = false;
  Status zst;
  inode.hooks.before_end_writeback = [&](uint64_t, uint64_t) {
    if (fired) return;
    fired = true;
    EXPECT_EQ(inode.ExtentAt(0).state, BlockState::kUnwritten);
    zst = inode.ZeroRange(100, 200, &did_zero);
  };
  ASSERT_TRUE(inode.WritebackRange(0, UINT64_MAX, true).ok());
  inode.hooks.before_end_writeback = nullptr;
  ASSERT_TRUE(fired);
  ASSERT_TRUE(zst.ok()) << zst.ToString();
  EXPECT_TRUE(did_zero);
  auto expect = data;
  std::memset(expect.data() + 100, 0, 200);
  EXPECT_EQ(ReadAll(inode, 0, 2 * kBs), expect);
  EXPECT_GT(inode.page_mapping().dirty_count(), 0u) << "zeroed block must be redirtied";
  ASSERT_TRUE(inode.Fsync().ok());
  fs->DropCache();
  EXPECT_EQ(ReadAll(inode, 0, 2 * kBs), expect);
  auto dev = inode.ReadDevice(0, 2 * kBs);
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(*dev, expect);
}

// ---- seek ----------------------------------------------------------------------

TEST(IomapClientTest, SeekDataAndHoleOverHoleUnwrittenDirtyAndMapped) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  const uint64_t k = 1024;
  ASSERT_TRUE(inode.Truncate(1024 * k).ok());
  ASSERT_TRUE(inode.Fallocate(256 * k, 256 * k).ok());         // unwritten, clean: a hole
  ASSERT_TRUE(inode.Write(300 * k, Pattern(4 * k, 11)).ok());  // dirty over unwritten: data
  ASSERT_TRUE(inode.Write(768 * k, Pattern(8 * k, 12)).ok());
  ASSERT_TRUE(inode.WritebackRange(768 * k, 776 * k, true).ok());  // mapped
  ASSERT_EQ(inode.ExtentAt(768 / 4).state, BlockState::kWritten);
  ASSERT_EQ(inode.ExtentAt(300 / 4).state, BlockState::kUnwritten);

  EXPECT_EQ(*IomapSeekHole(inode, 0), 0u);
  EXPECT_EQ(*IomapSeekData(inode, 0), 300 * k);
  EXPECT_EQ(*IomapSeekData(inode, 301 * k), 301 * k);
  EXPECT_EQ(*IomapSeekHole(inode, 300 * k), 304 * k);
  EXPECT_EQ(*IomapSeekData(inode, 304 * k), 768 * k);
  EXPECT_EQ(*IomapSeekHole(inode, 768 * k), 776 * k);
  EXPECT_EQ(IomapSeekData(inode, 776 * k).err(), ENXIO);
  EXPECT_EQ(IomapSeekHole(inode, 1024 * k).err(), ENXIO);
  EXPECT_EQ(IomapSeekData(inode, 2048 * k).err(), ENXIO);
}

// ---- writeback -------------------------------------------------------------------

TEST(IomapClientTest, WritebackCoalescesContiguousBlocksIntoFewRequests) {
  auto fs = MakeFs();
  ModelInode& inode = fs->inode();
  auto data = Pattern(4 << 20, 13);
  ASSERT_TRUE(inode.Write(0, data).ok());
  fs->data_device().set_recording(true);
  const uint64_t submits_before = fs->data_device().submits();
  ASSERT_TRUE(inode.WritebackRange(0, UINT64_MAX, true).ok());
  auto writes = fs->data_device().TakeWrites();
  fs->data_device().set_recording(false);
  uint64_t bytes = 0;
  for (auto& w : writes) bytes += w.length;
  EXPECT_EQ(bytes, data.size());
  // 16 folios of 256 KiB fit one gathering; the allocator gave contiguous
  // blocks, so one or very few requests in one submission.
  EXPECT_LE(writes.size(), 2u);
  EXPECT_LE(fs->data_device().submits() - submits_before, 2u);
  fs->DropCache();
  EXPECT_EQ(ReadAll(inode, 0, data.size()), data);
}

class FakeInodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mem = MemoryDevice::Create(4 << 20, 512);
    ASSERT_TRUE(mem.ok());
    mem_ = std::shared_ptr<MemoryDevice>(std::move(*mem));
    std::vector<uint8_t> junk(4 << 20, 0xCD);  // stale contents
    mem_->Poke(0, junk.data(), junk.size());
    faulty_ = std::make_unique<FaultyDevice>(mem_);
    auto cache = PageCache::Create(iomaptest::QuietCacheOptions(64 << 20));
    ASSERT_TRUE(cache.ok());
    cache_ = std::move(*cache);
    inode_ = std::make_unique<FakeInode>(*cache_, *faulty_, (4 << 20) / kBs);
  }
  void TearDown() override {
    inode_.reset();
    cache_.reset();
  }
  std::shared_ptr<MemoryDevice> mem_;
  std::unique_ptr<FaultyDevice> faulty_;
  std::unique_ptr<PageCache> cache_;
  std::unique_ptr<FakeInode> inode_;
};

TEST_F(FakeInodeTest, WritebackNeverWritesPastEofAndZeroesTheEofTail) {
  auto data = Pattern(64 * 1024, 14);
  ASSERT_TRUE(IomapWrite(*inode_, 0, data).ok());
  ASSERT_EQ(inode_->size(), data.size());
  // i_size drops under dirty cache (a truncate in progress).
  const uint64_t eof = 5000;
  inode_->set_size(eof);
  ASSERT_TRUE(IomapWriteAndWait(*inode_, 0, UINT64_MAX).ok());
  std::vector<uint8_t> dev(64 * 1024);
  mem_->Peek(0, dev.data(), dev.size());
  EXPECT_TRUE(std::equal(dev.begin(), dev.begin() + eof, data.begin()));
  EXPECT_TRUE(AllZero(std::span(dev).subspan(eof, 2 * kBs - eof))) << "EOF block tail not zeroed";
  EXPECT_TRUE(std::all_of(dev.begin() + 2 * kBs, dev.end(), [](uint8_t b) { return b == 0xCD; }))
      << "blocks wholly past EOF were written";
  EXPECT_TRUE(inode_->written(1));
  EXPECT_FALSE(inode_->written(2));
  EXPECT_EQ(inode_->page_mapping().dirty_count(), 0u);
}

TEST_F(FakeInodeTest, IoErrorDuringWritebackIsReturnedAndExtentsStayUnwritten) {
  auto data = Pattern(64 * 1024, 15);
  ASSERT_TRUE(IomapWrite(*inode_, 0, data).ok());
  faulty_->FailRange(IoOp::kWrite, 0, 64 * 1024, EIO);
  Status st = IomapWriteAndWait(*inode_, 0, UINT64_MAX);
  EXPECT_EQ(st.err(), EIO) << st.ToString();
  for (uint64_t b = 0; b < 16; b++) EXPECT_FALSE(inode_->written(b));
  faulty_->Heal();
  // The folios are clean now (the data is lost, as in Linux); once dropped,
  // the unwritten extents read as zeros, never the device's stale bytes.
  cache_->DropClean();
  std::vector<uint8_t> got(64 * 1024, 0xEE);
  auto n = IomapRead(*inode_, nullptr, 0, got);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, got.size());
  EXPECT_TRUE(AllZero(got));
  EXPECT_TRUE(IomapWriteAndWait(*inode_, 0, UINT64_MAX).ok()) << "error reported once";
}

TEST_F(FakeInodeTest, ZeroRangeOverDirtyUnwrittenReachesTheDevice) {
  auto data = Pattern(2 * kBs, 16);
  ASSERT_TRUE(IomapWrite(*inode_, 0, data).ok());
  ASSERT_TRUE(IomapZeroRange(*inode_, 100, 200).ok());
  ASSERT_TRUE(IomapWriteAndWait(*inode_, 0, UINT64_MAX).ok());
  std::vector<uint8_t> dev(2 * kBs);
  mem_->Peek(0, dev.data(), dev.size());
  auto expect = data;
  std::memset(expect.data() + 100, 0, 200);
  EXPECT_EQ(dev, expect);
}

// ---- iterator ----------------------------------------------------------------

class StuckInode final : public IomapInode {
 public:
  explicit StuckInode(std::unique_ptr<Mapping> m) : mapping_(std::move(m)) {}
  Mapping& page_mapping() override { return *mapping_; }
  BlockDevice& device() override { std::abort(); }
  uint64_t size() const override { return 1 << 20; }
  void ExtendSize(uint64_t) override {}
  Status Begin(IomapIter& iter) override {
    begins++;
    iter.iomap().offset = iter.pos() / kBs * kBs;
    iter.iomap().length = kBs;
    iter.iomap().type = IomapType::kHole;
    return Status::Ok();
  }
  Status End(IomapIter&, uint64_t processed) override {
    ends_processed += processed;
    return Status::Ok();
  }
  bool IomapValid(const IomapIter&) override { return true; }
  Result<Iomap> MapBlocks(uint64_t, uint64_t) override { return Iomap(); }
  Status EndWriteback(uint64_t, uint64_t, const Iomap&, Status) override { return Status::Ok(); }
  int begins = 0;
  uint64_t ends_processed = 0;

 private:
  std::unique_ptr<Mapping> mapping_;
};

TEST(IomapIterTest, StepsAdvanceAndStallsBecomeEio) {
  StuckInode inode(std::move(*Mapping::Create(kBs)));
  {
    IomapIter iter(inode, 100, 3 * kBs, kIomapRead);
    uint64_t total = 0;
    while (iter.Next()) {
      EXPECT_EQ(iter.length(), std::min<uint64_t>(iter.len(), kBs - iter.pos() % kBs));
      total += iter.length();
      iter.Advance(iter.length());
    }
    EXPECT_TRUE(iter.status().ok());
    EXPECT_EQ(total, 3 * kBs);
    EXPECT_EQ(inode.ends_processed, 3 * kBs);
  }
  {
    IomapIter iter(inode, 0, kBs, kIomapRead);
    int steps = 0;
    while (iter.Next()) steps++;  // never advances
    EXPECT_EQ(iter.status().err(), EIO);
    EXPECT_LE(steps, 3);
  }
  {
    IomapIter iter(inode, 0, kBs, kIomapRead);
    ASSERT_TRUE(iter.Next());
    iter.Advance(kBs + 1);  // overrun refused
    EXPECT_EQ(iter.status().err(), EIO);
    EXPECT_FALSE(iter.Next());
  }
}

}  // namespace
}  // namespace foliofs
