// The file data path of a mounted foliofs (fs/Inode: read, write, truncate,
// fallocate, lseek, fsync) through the public Filesystem API on an in-memory
// device: contents, sizes and block counts survive unmount/remount and a
// crash after fsync, and fsck (format::VerifyFilesystem) finds every image
// clean.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fs/filesystem.h"
#include "fs/format/format.h"
#include "fs/fs_context.h"
#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"
#include "tests/fs/fs_test_util.h"

namespace foliofs::fs {
namespace {

constexpr int kSeekData = 3;
constexpr int kSeekHole = 4;

using fstest::SharedDevice;

void ExpectClean(const std::shared_ptr<MemoryDevice>& dev) {
  EXPECT_EQ(fstest::VerifyImage(dev), "");
}

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng() | 1);  // never zero: holes show
  return v;
}

class InodeDataTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override { Format(GetParam(), 64ull << 20); }

  void Format(uint32_t block_size, uint64_t bytes) {
    fs_.reset();
    dev_ = fstest::MakeImage(block_size, bytes);
    ASSERT_NE(dev_, nullptr);
    Mount();
  }
  void Mount() {
    MountOptions options;
    options.cache_size = 64ull << 20;
    auto fs = Filesystem::Mount(std::make_unique<SharedDevice>(dev_), "test", options);
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(*fs);
  }
  // Unmount, fsck, mount again.
  void Remount() {
    ASSERT_TRUE(fs_->Unmount().ok());
    fs_.reset();
    ExpectClean(dev_);
    Mount();
  }
  void TearDown() override {
    if (fs_) {
      EXPECT_TRUE(fs_->Unmount().ok());
      fs_.reset();
      ExpectClean(dev_);
    }
  }

  uint64_t CreateFile(const std::string& name) {
    auto attr = fs_->Create(fs_->root_ino(), name, S_IFREG | 0644, Caller{});
    EXPECT_TRUE(attr.ok()) << attr.status().ToString();
    if (!attr.ok()) return 0;
    fs_->Release(attr->ino);
    return attr->ino;
  }
  uint64_t LookupIno(const std::string& name) {
    auto attr = fs_->Lookup(fs_->root_ino(), name);
    EXPECT_TRUE(attr.ok()) << attr.status().ToString();
    return attr.ok() ? attr->ino : 0;
  }
  void WriteAll(uint64_t ino, uint64_t off, const std::vector<uint8_t>& data) {
    auto n = fs_->Write(ino, off, data);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, data.size());
  }
  std::vector<uint8_t> ReadAll(uint64_t ino, uint64_t off, size_t len) {
    std::vector<uint8_t> out(len, 0xEE);
    auto n = fs_->Read(ino, off, out);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? *n : 0);
    return out;
  }
  uint64_t Size(uint64_t ino) {
    auto a = fs_->GetAttr(ino);
    EXPECT_TRUE(a.ok());
    return a.ok() ? a->size : 0;
  }
  // st_blocks in fs blocks.
  uint64_t FsBlocks(uint64_t ino) {
    auto a = fs_->GetAttr(ino);
    EXPECT_TRUE(a.ok());
    return a.ok() ? a->blocks / (bs() / 512) : 0;
  }
  uint64_t FreeBlocks() {
    auto st = fs_->StatFs();
    EXPECT_TRUE(st.ok());
    return st.ok() ? st->free_blocks : 0;
  }
  uint32_t bs() const { return GetParam(); }
  Status Truncate(uint64_t ino, uint64_t size) {
    SetAttrRequest req;
    req.valid = SetAttrRequest::kSize;
    req.size = size;
    return fs_->SetAttr(ino, req).status();
  }

  std::shared_ptr<MemoryDevice> dev_;
  std::unique_ptr<Filesystem> fs_;
};

INSTANTIATE_TEST_SUITE_P(BlockSizes, InodeDataTest, ::testing::Values(1024u, 4096u),
                         [](const auto& info) { return "bs" + std::to_string(info.param); });

TEST_P(InodeDataTest, WrittenDataReadsBackBeforeAndAfterRemount) {
  const uint64_t ino = CreateFile("f");
  const auto a = Pattern(3 * bs() + 123, 1);
  const auto b = Pattern(777, 2);
  WriteAll(ino, 0, a);
  WriteAll(ino, bs() + 5, b);  // overwrite inside, unaligned
  std::vector<uint8_t> expect = a;
  std::copy(b.begin(), b.end(), expect.begin() + bs() + 5);
  EXPECT_EQ(ReadAll(ino, 0, expect.size() + 100), expect);
  EXPECT_EQ(Size(ino), expect.size());
  EXPECT_EQ(FsBlocks(ino), 4u);
  Remount();
  EXPECT_EQ(Size(LookupIno("f")), expect.size());
  EXPECT_EQ(ReadAll(ino, 0, expect.size()), expect);
  EXPECT_EQ(FsBlocks(ino), 4u);
}

TEST_P(InodeDataTest, SequentialWritesStayContiguousAndCountBlocks) {
  const uint64_t ino = CreateFile("seq");
  const uint64_t free_before = FreeBlocks();
  std::vector<uint8_t> all;
  for (int i = 0; i < 64; ++i) {
    auto chunk = Pattern(bs(), 100 + i);
    WriteAll(ino, all.size(), chunk);
    all.insert(all.end(), chunk.begin(), chunk.end());
  }
  EXPECT_EQ(FsBlocks(ino), 64u);  // one extent: no tree node blocks
  Remount();
  EXPECT_EQ(ReadAll(ino, 0, all.size()), all);
  EXPECT_EQ(FsBlocks(ino), 64u);
  EXPECT_EQ(free_before - FreeBlocks(), 64u);
}

TEST_P(InodeDataTest, SparseWriteReadsZerosInTheHoleAndSeeksAroundIt) {
  const uint64_t ino = CreateFile("sparse");
  const auto head = Pattern(bs(), 3);
  const auto tail = Pattern(bs(), 4);
  WriteAll(ino, 0, head);
  WriteAll(ino, 10ull * bs(), tail);
  EXPECT_EQ(Size(ino), 11ull * bs());
  EXPECT_EQ(FsBlocks(ino), 2u);
  auto hole = ReadAll(ino, bs(), 9ull * bs());
  EXPECT_EQ(hole, std::vector<uint8_t>(9ull * bs(), 0));
  for (int round = 0; round < 2; ++round) {
    auto d = fs_->Lseek(ino, 0, kSeekData);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, 0u);
    auto h = fs_->Lseek(ino, 0, kSeekHole);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(*h, bs());
    d = fs_->Lseek(ino, bs(), kSeekData);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, 10ull * bs());
    h = fs_->Lseek(ino, 10ull * bs(), kSeekHole);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(*h, 11ull * bs());
    EXPECT_EQ(fs_->Lseek(ino, 11ull * bs(), kSeekData).err(), ENXIO);
    Remount();  // the second round asks the on-disk extents
  }
  EXPECT_EQ(ReadAll(ino, 10ull * bs(), bs()), tail);
}

TEST_P(InodeDataTest, WriteBeyondEofZeroesTheOldTail) {
  const uint64_t ino = CreateFile("eof");
  WriteAll(ino, 0, Pattern(bs() + 10, 5));
  ASSERT_TRUE(fs_->Fsync(ino, false).ok());
  ASSERT_TRUE(Truncate(ino, 20).ok());  // the bytes past 20 of block 0 must read 0
  WriteAll(ino, 3ull * bs(), Pattern(10, 6));
  auto data = ReadAll(ino, 20, 3ull * bs() - 20);
  EXPECT_EQ(data, std::vector<uint8_t>(3ull * bs() - 20, 0));
  Remount();
  data = ReadAll(ino, 20, 3ull * bs() - 20);
  EXPECT_EQ(data, std::vector<uint8_t>(3ull * bs() - 20, 0));
}

TEST_P(InodeDataTest, TruncateDownFreesBlocksAndUpReadsZeros) {
  const uint64_t ino = CreateFile("t");
  const uint64_t free_before = FreeBlocks();
  const auto data = Pattern(100ull * bs(), 7);
  WriteAll(ino, 0, data);
  ASSERT_TRUE(fs_->Sync().ok());
  ASSERT_TRUE(Truncate(ino, 5000).ok());
  EXPECT_EQ(Size(ino), 5000u);
  EXPECT_EQ(FsBlocks(ino), (5000 + bs() - 1) / bs());
  ASSERT_TRUE(Truncate(ino, 50ull * bs()).ok());
  auto back = ReadAll(ino, 0, 50ull * bs());
  ASSERT_EQ(back.size(), 50ull * bs());
  EXPECT_TRUE(std::equal(back.begin(), back.begin() + 5000, data.begin()));
  EXPECT_EQ(std::count(back.begin() + 5000, back.end(), 0), static_cast<long>(back.size() - 5000));
  Remount();
  EXPECT_EQ(ReadAll(ino, 0, 50ull * bs()), back);
  ASSERT_TRUE(Truncate(ino, 0).ok());
  EXPECT_EQ(FsBlocks(ino), 0u);
  Remount();
  EXPECT_EQ(FreeBlocks(), free_before);
}

TEST_P(InodeDataTest, FragmentedFileGrowsATreeAndTruncateFreesEverything) {
  const uint64_t ino = CreateFile("frag");
  const uint64_t free_before = FreeBlocks();
  // Every other block: one extent each, far more than the inline root holds.
  const int kExtents = 600;
  for (int i = 0; i < kExtents; ++i) WriteAll(ino, 2ull * i * bs(), Pattern(bs(), 1000 + i));
  const uint64_t blocks = FsBlocks(ino);
  EXPECT_GT(blocks, static_cast<uint64_t>(kExtents));  // + extent tree nodes
  EXPECT_EQ(free_before - FreeBlocks(), blocks);
  Remount();
  for (int i = 0; i < kExtents; i += 37) {
    EXPECT_EQ(ReadAll(ino, 2ull * i * bs(), bs()), Pattern(bs(), 1000 + i)) << i;
    EXPECT_EQ(ReadAll(ino, (2ull * i + 1) * bs(), bs()), std::vector<uint8_t>(bs(), 0)) << i;
  }
  EXPECT_EQ(FsBlocks(ino), blocks);
  ASSERT_TRUE(Truncate(ino, 3ull * bs()).ok());
  EXPECT_EQ(FsBlocks(ino), 2u);
  Remount();
  EXPECT_EQ(FsBlocks(ino), 2u);
  ASSERT_TRUE(Truncate(ino, 0).ok());
  Remount();
  EXPECT_EQ(FreeBlocks(), free_before);
}

TEST_P(InodeDataTest, FallocateKeepSizeReservesUnwrittenBlocks) {
  const uint64_t ino = CreateFile("fa");
  WriteAll(ino, 0, Pattern(100, 8));
  ASSERT_TRUE(fs_->Fallocate(ino, kFallocKeepSize, 0, 16ull * bs()).ok());
  EXPECT_EQ(Size(ino), 100u);
  EXPECT_EQ(FsBlocks(ino), 16u);
  EXPECT_EQ(fs_->Lseek(ino, 0, kSeekHole).value(), 100u);  // EOF
  Remount();
  EXPECT_EQ(FsBlocks(ino), 16u);
  EXPECT_EQ(ReadAll(ino, 0, 100), Pattern(100, 8));
  // Mode 0 grows the size; the new range reads as zeros.
  ASSERT_TRUE(fs_->Fallocate(ino, 0, 8ull * bs(), 12ull * bs()).ok());
  EXPECT_EQ(Size(ino), 20ull * bs());
  EXPECT_EQ(FsBlocks(ino), 20u);
  auto rest = ReadAll(ino, 100, 20ull * bs() - 100);
  EXPECT_EQ(rest, std::vector<uint8_t>(20ull * bs() - 100, 0));
  // Writing into preallocated space uses those blocks.
  WriteAll(ino, 4ull * bs(), Pattern(bs(), 9));
  EXPECT_EQ(FsBlocks(ino), 20u);
  Remount();
  EXPECT_EQ(ReadAll(ino, 4ull * bs(), bs()), Pattern(bs(), 9));
  EXPECT_EQ(ReadAll(ino, 5ull * bs(), bs()), std::vector<uint8_t>(bs(), 0));
}

TEST_P(InodeDataTest, FallocateRejectsBadArguments) {
  const uint64_t ino = CreateFile("bad");
  EXPECT_EQ(fs_->Fallocate(ino, 0, 0, 0).err(), EINVAL);
  EXPECT_EQ(fs_->Fallocate(ino, kFallocPunchHole | kFallocKeepSize, 0, bs()).err(), EOPNOTSUPP);
  EXPECT_EQ(fs_->Fallocate(ino, kFallocZeroRange, 0, bs()).err(), EOPNOTSUPP);
  const uint64_t max = (1ull << 32) * bs();
  EXPECT_EQ(fs_->Fallocate(ino, 0, max - bs(), 2ull * bs()).err(), EFBIG);
  EXPECT_EQ(fs_->Write(ino, max, Pattern(10, 1)).err(), EFBIG);
  EXPECT_EQ(Truncate(ino, max + 1).err(), EFBIG);
  EXPECT_EQ(fs_->Read(fs_->root_ino(), 0, std::span<uint8_t>()).err(), EISDIR);
  EXPECT_EQ(Size(ino), 0u);
}

TEST_P(InodeDataTest, LastBlockOfTheLargestFileIsWritable) {
  const uint64_t ino = CreateFile("big");
  const uint64_t max = (1ull << 32) * bs();
  WriteAll(ino, max - 100, Pattern(100, 10));
  EXPECT_EQ(Size(ino), max);
  EXPECT_EQ(FsBlocks(ino), 1u);
  Remount();
  EXPECT_EQ(ReadAll(ino, max - 100, 200), Pattern(100, 10));
  ASSERT_TRUE(Truncate(ino, 0).ok());
  EXPECT_EQ(FsBlocks(ino), 0u);
}

TEST_P(InodeDataTest, FsyncedDataSurvivesACrash) {
  const uint64_t ino = CreateFile("durable");
  ASSERT_TRUE(fs_->Sync().ok());  // the name is durable
  const auto data = Pattern(5ull * bs() + 17, 11);
  WriteAll(ino, 0, data);
  ASSERT_TRUE(fs_->Fsync(ino, false).ok());
  // "Crash": take the device as it is now and mount the copy (journal replay).
  auto image = MemoryDevice::FromImage(dev_->Snapshot());
  ASSERT_TRUE(image.ok());
  std::shared_ptr<MemoryDevice> copy(std::move(*image));
  {
    auto fs2 = Filesystem::Mount(std::make_unique<SharedDevice>(copy), "crash", MountOptions{});
    ASSERT_TRUE(fs2.ok()) << fs2.status().ToString();
    auto attr = (*fs2)->GetAttr(ino);
    ASSERT_TRUE(attr.ok());
    EXPECT_EQ(attr->size, data.size());
    std::vector<uint8_t> out(data.size() + 10);
    auto n = (*fs2)->Read(ino, 0, out);
    ASSERT_TRUE(n.ok());
    out.resize(*n);
    EXPECT_EQ(out, data);
    ASSERT_TRUE((*fs2)->Unmount().ok());
  }
  ExpectClean(copy);
}

TEST_P(InodeDataTest, CrashBeforeFsyncNeverExposesStaleBlocks) {
  // Fill blocks with a pattern, free them, then write a new file whose data
  // never reaches the device before the "crash": the reused blocks must read
  // as zeros (unwritten, I8), never as the old pattern.
  const uint64_t old_ino = CreateFile("old");
  WriteAll(old_ino, 0, std::vector<uint8_t>(32ull * bs(), 0xAB));
  ASSERT_TRUE(fs_->Sync().ok());
  ASSERT_TRUE(Truncate(old_ino, 0).ok());
  const uint64_t ino = CreateFile("new");
  ASSERT_TRUE(fs_->Sync().ok());
  WriteAll(ino, 0, Pattern(32ull * bs(), 12));
  // Commit the allocation and size without the data (no writeback ran yet
  // unless the flushers raced us, which only makes data appear).
  journal::Journal& j = *fs_->context().journal;
  ASSERT_TRUE(j.ForceCommit(j.current_tid()).ok());
  auto image = MemoryDevice::FromImage(dev_->Snapshot());
  ASSERT_TRUE(image.ok());
  std::shared_ptr<MemoryDevice> copy(std::move(*image));
  auto fs2 = Filesystem::Mount(std::make_unique<SharedDevice>(copy), "crash", MountOptions{});
  ASSERT_TRUE(fs2.ok()) << fs2.status().ToString();
  auto attr = (*fs2)->GetAttr(ino);
  ASSERT_TRUE(attr.ok());
  std::vector<uint8_t> out(attr->size);
  auto n = (*fs2)->Read(ino, 0, out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::count(out.begin(), out.end(), 0xAB), 0);
  ASSERT_TRUE((*fs2)->Unmount().ok());
  ExpectClean(copy);
}

TEST_P(InodeDataTest, WritesFailWithEnospcAndLeaveAConsistentImage) {
  Format(bs(), 8ull << 20);
  const uint64_t ino = CreateFile("fill");
  const auto chunk = Pattern(64ull * 1024, 13);
  uint64_t off = 0;
  Status last;
  for (int i = 0; i < 1000; ++i) {
    auto n = fs_->Write(ino, off, chunk);
    if (!n.ok()) {
      last = n.status();
      break;
    }
    off += *n;
    if (*n < chunk.size()) continue;  // short write: the next one fails
  }
  EXPECT_EQ(last.err(), ENOSPC) << last.ToString();
  EXPECT_EQ(Size(ino), off);
  // Fallocate past what is left fails too, and leaves the size alone.
  EXPECT_EQ(fs_->Fallocate(ino, 0, off, 64ull << 20).err(), ENOSPC);
  EXPECT_EQ(Size(ino), off);
  Remount();
  EXPECT_EQ(Size(ino), off);
  EXPECT_EQ(ReadAll(ino, 0, chunk.size()), chunk);
  // Freeing makes room again.
  ASSERT_TRUE(Truncate(ino, 0).ok());
  Remount();
  WriteAll(ino, 0, chunk);
}

TEST_P(InodeDataTest, SpaceFreedByATruncateIsReusableBeforeItsCommit) {
  Format(bs(), 8ull << 20);
  const uint64_t ino = CreateFile("reuse");
  const auto chunk = Pattern(64ull * 1024, 14);
  uint64_t off = 0;
  for (int i = 0; i < 1000; ++i) {
    auto n = fs_->Write(ino, off, chunk);
    if (!n.ok()) break;
    off += *n;
  }
  ASSERT_GT(off, 0u);
  // The frees wait for their transaction; the next allocation commits it
  // instead of failing with ENOSPC.
  ASSERT_TRUE(Truncate(ino, 0).ok());
  const auto data = Pattern(off, 15);
  WriteAll(ino, 0, data);
  Remount();
  EXPECT_EQ(ReadAll(ino, 0, data.size()), data);
}

// Writers (and truncaters) on their own files while another thread syncs:
// Begin(write) allocations and truncates race writeback's conversions on the
// same inodes.
TEST_P(InodeDataTest, ConcurrentWritersAndWritebackKeepEveryFileIntact) {
  constexpr int kWriters = 3;
  std::vector<uint64_t> inos;
  for (int w = 0; w < kWriters; ++w) inos.push_back(CreateFile("c" + std::to_string(w)));
  std::vector<std::vector<uint8_t>> models(kWriters);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(w + 1);
      auto& model = models[w];
      for (int i = 0; i < 150; ++i) {
        if (i % 7 == 6) {  // truncates free blocks while writeback runs
          const uint64_t size = rng() % (64ull * bs());
          SetAttrRequest req;
          req.valid = SetAttrRequest::kSize;
          req.size = size;
          if (!fs_->SetAttr(inos[w], req).ok()) failures++;
          model.resize(size, 0);
          continue;
        }
        const uint64_t off = rng() % (64ull * bs());
        const auto data = Pattern(1 + rng() % (3 * bs()), static_cast<uint32_t>(w * 1000 + i));
        auto n = fs_->Write(inos[w], off, data);
        if (!n.ok() || *n != data.size()) failures++;
        if (model.size() < off + data.size()) model.resize(off + data.size(), 0);
        std::copy(data.begin(), data.end(), model.begin() + off);
        if (i % 10 == 0) {
          std::vector<uint8_t> out(model.size());
          auto r = fs_->Read(inos[w], 0, out);
          if (!r.ok() || out != model) failures++;
        }
        if (i % 25 == 0 && !fs_->Fsync(inos[w], false).ok()) failures++;
      }
    });
  }
  std::thread syncer([&] {
    while (!done.load()) {
      if (!fs_->Sync().ok()) failures++;
      std::this_thread::yield();
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  syncer.join();
  EXPECT_EQ(failures.load(), 0);
  Remount();
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_EQ(ReadAll(inos[w], 0, models[w].size() + 10), models[w]) << "file " << w;
  }
}

// A random mix of writes, truncates, fallocates and reads, checked against a
// byte vector, with remounts (and fsck) along the way.
TEST_P(InodeDataTest, RandomOperationsMatchAModel) {
  std::mt19937_64 rng(GetParam() * 7919 + 1);
  const uint64_t ino = CreateFile("model");
  std::vector<uint8_t> model;
  const uint64_t span = 48ull * bs();
  auto rnd = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  for (int step = 0; step < 400; ++step) {
    const int op = static_cast<int>(rnd(100));
    if (op < 45) {
      const uint64_t off = rnd(span);
      const auto data = Pattern(1 + rnd(4 * bs()), static_cast<uint32_t>(step));
      WriteAll(ino, off, data);
      if (model.size() < off + data.size()) model.resize(off + data.size(), 0);
      std::copy(data.begin(), data.end(), model.begin() + off);
    } else if (op < 60) {
      const uint64_t size = rnd(span + bs());
      ASSERT_TRUE(Truncate(ino, size).ok());
      model.resize(size, 0);
    } else if (op < 70) {
      const uint64_t off = rnd(span), len = 1 + rnd(8 * bs());
      const int mode = rnd(2) ? kFallocKeepSize : 0;
      ASSERT_TRUE(fs_->Fallocate(ino, mode, off, len).ok());
      if (mode == 0 && model.size() < off + len) model.resize(off + len, 0);
    } else if (op < 95) {
      const uint64_t off = rnd(span + bs()), len = rnd(6 * bs());
      auto got = ReadAll(ino, off, len);
      std::vector<uint8_t> want;
      if (off < model.size()) {
        want.assign(model.begin() + off,
                    model.begin() + std::min<uint64_t>(model.size(), off + len));
      }
      ASSERT_EQ(got, want) << "step " << step << " read " << off << "+" << len;
    } else if (op < 97) {
      ASSERT_TRUE(fs_->Fsync(ino, false).ok());
    } else {
      Remount();
    }
    ASSERT_EQ(Size(ino), model.size()) << "step " << step;
  }
  Remount();
  EXPECT_EQ(ReadAll(ino, 0, model.size() + 10), model);
}

}  // namespace
}  // namespace foliofs::fs
