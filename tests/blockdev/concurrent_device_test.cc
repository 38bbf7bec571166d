// Many threads submitting mixed batches (vectored writes, reads, flushes,
// FUA writes) on one io_uring device over an image file. Each thread owns a
// region, so every read can be checked against what that thread last wrote.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "pagecache/blockdev/uring_device.h"
#include "tests/blockdev/test_util.h"

namespace foliofs {
namespace {

constexpr int kThreads = 6;
constexpr int kBatches = 150;
constexpr uint64_t kRegion = 4 << 20;  // bytes per thread
constexpr size_t kChunk = 16 << 10;    // write unit
constexpr int kChunks = kRegion / kChunk;

// One thread's work: each batch writes a few chunks (2 iovecs each), maybe a
// flush, and reads back chunks written by earlier batches; all are checked.
void Worker(BlockDevice& dev, int id, std::string* failure) {
  std::mt19937_64 rng(1000 + id);
  std::vector<uint64_t> version(kChunks, 0);  // 0 = never written (zeroes)
  const uint64_t base = static_cast<uint64_t>(id) * kRegion;
  std::vector<AlignedBuffer> bufs;
  for (int b = 0; b < kBatches && failure->empty(); ++b) {
    bufs.clear();
    std::vector<std::array<iovec, 2>> iov(8);
    std::vector<IoRequest> reqs;
    std::vector<std::pair<int, uint64_t>> checks;  // (chunk, expected version)
    std::vector<bool> touched(kChunks, false);     // chunks used since the last flush
    for (int r = 0; r < 8; ++r) {
      int chunk = static_cast<int>(rng() % kChunks);
      // Requests of one segment run in any order: a second touch of a chunk
      // needs a barrier first (which also mixes flushes into the batches).
      if (touched[chunk]) {
        reqs.push_back(IoRequest{.op = IoOp::kFlush});
        touched.assign(kChunks, false);
      }
      touched[chunk] = true;
      bufs.push_back(AllocateAligned(kChunk));
      IoRequest req;
      req.offset = base + chunk * kChunk;
      if (rng() % 2 == 0 || version[chunk] == 0) {
        uint64_t v = (static_cast<uint64_t>(id) << 32) | (b * 8 + r + 1);
        bdtest::FillPattern(bufs.back().get(), kChunk, v);
        version[chunk] = v;
        req.op = IoOp::kWrite;
        req.fua = rng() % 8 == 0;
      } else {
        req.op = IoOp::kRead;
        checks.emplace_back(static_cast<int>(reqs.size()), version[chunk]);
      }
      iov[r] = {iovec{bufs.back().get(), kChunk / 4},
                iovec{bufs.back().get() + kChunk / 4, 3 * kChunk / 4}};
      req.iov = iov[r];
      reqs.push_back(req);
      if (rng() % 4 == 0) reqs.push_back(IoRequest{.op = IoOp::kFlush});
    }
    if (Status st = dev.Submit(reqs); !st.ok()) {
      *failure = st.ToString();
      return;
    }
    AlignedBuffer want = AllocateAligned(kChunk);
    for (auto [idx, v] : checks) {
      bdtest::FillPattern(want.get(), kChunk, v);
      const auto* got = static_cast<const uint8_t*>(reqs[idx].iov[0].iov_base);
      if (std::memcmp(got, want.get(), kChunk) != 0) {
        *failure = "thread " + std::to_string(id) + " batch " + std::to_string(b) + ": stale read";
        return;
      }
    }
  }
}

TEST(ConcurrentUringDeviceTest, ThreadsSubmittingMixedBatchesSeeTheirOwnWrites) {
  bdtest::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(bdtest::MakeImage(dir.File("image"), kThreads * kRegion));
  DeviceOptions o;
  o.queue_depth = 8;
  o.allow_sync_fallback = false;
  auto dev = OpenDevice(dir.File("image"), o);
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(Worker, std::ref(**dev), i, &failures[i]);
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(failures[i], "") << "thread " << i;
}

TEST(ConcurrentUringDeviceTest, ConcurrentWritersToDisjointBlocksAllLand) {
  bdtest::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(bdtest::MakeImage(dir.File("image"), 8 << 20));
  auto dev = OpenDevice(dir.File("image"));
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  constexpr int kWriters = 4, kBlocksEach = 256;
  std::vector<std::thread> threads;
  std::vector<int> errors(kWriters, 0);
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      AlignedBuffer buf = AllocateAligned(4096);
      for (int i = 0; i < kBlocksEach; ++i) {
        std::memset(buf.get(), t * 16 + i % 16, 4096);
        if (!(*dev)->Write((static_cast<uint64_t>(i) * kWriters + t) * 4096, buf.get(), 4096).ok())
          ++errors[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  AlignedBuffer out = AllocateAligned(4096);
  for (int i = 0; i < kBlocksEach * kWriters; ++i) {
    ASSERT_TRUE((*dev)->Read(static_cast<uint64_t>(i) * 4096, out.get(), 4096).ok());
    int t = i % kWriters, j = i / kWriters;
    ASSERT_EQ(out[4095], t * 16 + j % 16) << "block " << i;
  }
  for (int e : errors) EXPECT_EQ(e, 0);
}

}  // namespace
}  // namespace foliofs
