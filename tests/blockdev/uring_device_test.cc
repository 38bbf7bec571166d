// The BlockDevice contract on real storage: an image file in /tmp opened
// through OpenDevice, once with io_uring and once with the sync fallback.
#include "pagecache/blockdev/uring_device.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/fsuid.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>

#include "pagecache/blockdev/faulty_device.h"
#include "tests/blockdev/test_util.h"

namespace foliofs {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr uint64_t kImageSize = 64 << 20;

enum class Mode { kUring, kSync };

class DeviceContractTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    image_ = dir_.File("image");
    ASSERT_TRUE(bdtest::MakeImage(image_, kImageSize));
  }
  DeviceOptions Options() const {
    DeviceOptions o;
    o.force_sync = GetParam() == Mode::kSync;
    o.allow_sync_fallback = false;  // an io_uring test must really use io_uring
    return o;
  }
  std::unique_ptr<BlockDevice> Open(DeviceOptions o) {
    auto dev = OpenDevice(image_, o);
    EXPECT_TRUE(dev.ok()) << dev.status().ToString();
    return dev.ok() ? std::move(dev).value() : nullptr;
  }
  std::unique_ptr<BlockDevice> Open() { return Open(Options()); }

  bdtest::TempDir dir_;
  std::string image_;
};

// Writes `count` requests of 3 iovecs each (sizes vary per request) in one
// batch, reads them back in one batch of differently split requests, compares.
void RoundTripVectoredBatch(BlockDevice& dev, int count, uint64_t seed) {
  const uint32_t lbs = dev.logical_block_size();
  std::vector<AlignedBuffer> bufs;
  std::vector<std::array<iovec, 3>> iovs(count);
  std::vector<IoRequest> reqs(count);
  uint64_t off = 0;
  for (int i = 0; i < count; ++i) {
    for (int j = 0; j < 3; ++j) {
      size_t len = static_cast<size_t>(lbs) * (1 + (i * 3 + j) % 9);
      bufs.push_back(AllocateAligned(len, lbs));
      bdtest::FillPattern(bufs.back().get(), len, seed + i * 3 + j);
      iovs[i][j] = iovec{bufs.back().get(), len};
    }
    reqs[i].op = IoOp::kWrite;
    reqs[i].offset = off;
    reqs[i].iov = iovs[i];
    off += reqs[i].iov_bytes() + lbs;  // leave a gap so requests do not touch
  }
  ASSERT_TRUE(dev.Submit(reqs).ok());
  std::vector<AlignedBuffer> outs;
  std::vector<iovec> out_iov(count);
  std::vector<IoRequest> reads(count);
  for (int i = 0; i < count; ++i) {
    outs.push_back(AllocateAligned(reqs[i].iov_bytes(), lbs));
    out_iov[i] = iovec{outs.back().get(), reqs[i].iov_bytes()};
    reads[i].op = IoOp::kRead;
    reads[i].offset = reqs[i].offset;
    reads[i].iov = std::span<const iovec>(&out_iov[i], 1);
  }
  ASSERT_TRUE(dev.Submit(reads).ok());
  for (int i = 0; i < count; ++i) {
    const uint8_t* p = outs[i].get();
    for (const iovec& v : iovs[i]) {
      ASSERT_EQ(std::memcmp(p, v.iov_base, v.iov_len), 0) << "request " << i;
      p += v.iov_len;
    }
  }
}

TEST_P(DeviceContractTest, ReportsImageSizeAndBlockSize) {
  auto dev = Open();
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->size_bytes(), kImageSize);
  uint32_t lbs = dev->logical_block_size();
  EXPECT_GE(lbs, 512u);
  EXPECT_EQ(lbs & (lbs - 1), 0u);
  EXPECT_THAT(dev->name(), StartsWith(GetParam() == Mode::kSync ? "sync:" : "io_uring:"));
  EXPECT_THAT(dev->name(), HasSubstr(image_));
}

TEST_P(DeviceContractTest, LargeVectoredBatchRoundTrips) {
  DeviceOptions o = Options();
  o.queue_depth = 8;  // the batch of 100 goes out in many refills
  auto dev = Open(o);
  ASSERT_NE(dev, nullptr);
  RoundTripVectoredBatch(*dev, 100, 1000);
}

TEST_P(DeviceContractTest, ShortCompletionsAreResubmittedForTheRemainder) {
  DeviceOptions o = Options();
  o.queue_depth = 4;
  o.test_short_io_bytes = 4096;  // every SQE moves at most 4 KiB: most completions are short
  auto dev = Open(o);
  ASSERT_NE(dev, nullptr);
  RoundTripVectoredBatch(*dev, 20, 2000);
  // And data written in pieces reads back whole through a normal device.
  auto plain = Open();
  ASSERT_NE(plain, nullptr);
  const uint32_t lbs = dev->logical_block_size();
  AlignedBuffer in = AllocateAligned(lbs * 6, lbs), out = AllocateAligned(lbs * 6, lbs);
  bdtest::FillPattern(in.get(), lbs * 6, 77);
  ASSERT_TRUE(dev->Write(lbs * 1000, in.get(), lbs * 6).ok());
  ASSERT_TRUE(plain->Read(lbs * 1000, out.get(), lbs * 6).ok());
  EXPECT_EQ(std::memcmp(in.get(), out.get(), lbs * 6), 0);
}

TEST_P(DeviceContractTest, RequestWithMoreIovecsThanIovMaxRoundTrips) {
  // 1500 one-block iovecs: more than one readv/writev may take (IOV_MAX =
  // 1024), so the device issues the first 1024 and resubmits the rest.
  auto dev = Open();
  ASSERT_NE(dev, nullptr);
  const uint32_t lbs = dev->logical_block_size();
  constexpr size_t kIovs = 1500;
  AlignedBuffer in = AllocateAligned(kIovs * lbs, lbs), out = AllocateAligned(kIovs * lbs, lbs);
  bdtest::FillPattern(in.get(), kIovs * lbs, 31);
  std::vector<iovec> iov(kIovs);
  for (size_t i = 0; i < kIovs; ++i) iov[i] = {in.get() + (kIovs - 1 - i) * lbs, lbs};  // reversed
  IoRequest w;
  w.op = IoOp::kWrite;
  w.offset = 0;
  w.iov = iov;
  ASSERT_TRUE(dev->Submit(std::span<IoRequest>(&w, 1)).ok());
  ASSERT_TRUE(dev->Read(0, out.get(), kIovs * lbs).ok());
  for (size_t i = 0; i < kIovs; ++i)
    ASSERT_EQ(std::memcmp(out.get() + i * lbs, in.get() + (kIovs - 1 - i) * lbs, lbs), 0) << i;
}

TEST_P(DeviceContractTest, MisalignedRequestsAreRefusedWithEinval) {
  auto dev = Open();
  ASSERT_NE(dev, nullptr);
  const uint32_t lbs = dev->logical_block_size();
  AlignedBuffer buf = AllocateAligned(4 * lbs, lbs);
  Status st = dev->Write(lbs / 2, buf.get(), lbs);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_THAT(st.message(), HasSubstr("offset"));
  st = dev->Read(0, buf.get(), lbs + 1);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_THAT(st.message(), HasSubstr("length"));
  st = dev->Read(0, buf.get() + 1, lbs);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_THAT(st.message(), HasSubstr("buffer"));
  st = dev->Read(kImageSize, buf.get(), lbs);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_THAT(st.message(), HasSubstr("beyond"));
}

TEST_P(DeviceContractTest, InvalidRequestDoesNotStopTheRestOfItsBatch) {
  auto dev = Open();
  ASSERT_NE(dev, nullptr);
  const uint32_t lbs = dev->logical_block_size();
  AlignedBuffer buf = AllocateAligned(lbs, lbs), out = AllocateAligned(lbs, lbs);
  std::memset(buf.get(), 0x3c, lbs);
  iovec v{buf.get(), lbs};
  std::vector<IoRequest> reqs(2);
  reqs[0].op = IoOp::kWrite, reqs[0].offset = 3, reqs[0].iov = {&v, 1};
  reqs[1].op = IoOp::kWrite, reqs[1].offset = lbs, reqs[1].iov = {&v, 1};
  EXPECT_EQ(dev->Submit(reqs).err(), EINVAL);
  EXPECT_EQ(reqs[0].status.err(), EINVAL);
  EXPECT_TRUE(reqs[1].status.ok());
  ASSERT_TRUE(dev->Read(lbs, out.get(), lbs).ok());
  EXPECT_EQ(out[0], 0x3c);
}

TEST_P(DeviceContractTest, ReadOnlyOpenRefusesWritesAndDiscardsWithErofs) {
  DeviceOptions o = Options();
  o.read_only = true;
  auto dev = Open(o);
  ASSERT_NE(dev, nullptr);
  const uint32_t lbs = dev->logical_block_size();
  AlignedBuffer buf = AllocateAligned(lbs, lbs);
  Status st = dev->Write(0, buf.get(), lbs);
  EXPECT_EQ(st.err(), EROFS);
  EXPECT_THAT(st.message(), HasSubstr("read-only"));
  EXPECT_EQ(dev->Discard(0, lbs).err(), EROFS);
  EXPECT_TRUE(dev->Read(0, buf.get(), lbs).ok());
  EXPECT_TRUE(dev->Flush().ok());
}

TEST_P(DeviceContractTest, BatchWithFlushBarrierLeavesBothWritesOnTheMedium) {
  auto dev = Open();
  ASSERT_NE(dev, nullptr);
  const uint32_t lbs = dev->logical_block_size();
  AlignedBuffer a = AllocateAligned(lbs, lbs), b = AllocateAligned(lbs, lbs);
  std::memset(a.get(), 0xaa, lbs);
  std::memset(b.get(), 0xbb, lbs);
  iovec va{a.get(), lbs}, vb{b.get(), lbs};
  std::vector<IoRequest> reqs(3);
  reqs[0].op = IoOp::kWrite, reqs[0].offset = 0, reqs[0].iov = {&va, 1};
  reqs[1].op = IoOp::kFlush;
  reqs[2].op = IoOp::kWrite, reqs[2].offset = 0, reqs[2].iov = {&vb, 1};  // same block: B after A
  reqs.push_back(reqs[0]);
  reqs[3].offset = lbs;
  ASSERT_TRUE(dev->Submit(reqs).ok());
  dev.reset();
  std::ifstream f(image_, std::ios::binary);
  std::vector<char> got(2 * lbs);
  f.read(got.data(), got.size());
  EXPECT_EQ(static_cast<uint8_t>(got[0]), 0xbb);  // the barrier ordered B after A
  EXPECT_EQ(static_cast<uint8_t>(got[lbs]), 0xaa);
}

TEST_P(DeviceContractTest, FlushBarrierHoldsWhileEarlierWriteIsResubmitted) {
  // Every transfer moves at most 4 KiB, so write A (256 KiB) completes short
  // 63 times and is resubmitted piece by piece. B covers A's second half and
  // would reach it long before A's own pieces do; the barrier must keep every
  // piece of A ahead of B.
  DeviceOptions o = Options();
  o.test_short_io_bytes = 4096;
  auto dev = Open(o);
  ASSERT_NE(dev, nullptr);
  constexpr size_t kLen = 256 << 10, kHalf = kLen / 2;
  AlignedBuffer a = AllocateAligned(kLen), b = AllocateAligned(kHalf), out = AllocateAligned(kLen);
  std::memset(a.get(), 0xaa, kLen);
  std::memset(b.get(), 0xbb, kHalf);
  iovec va{a.get(), kLen}, vb{b.get(), kHalf};
  std::vector<IoRequest> reqs(3);
  reqs[0].op = IoOp::kWrite, reqs[0].offset = 0, reqs[0].iov = {&va, 1};
  reqs[1].op = IoOp::kFlush;
  reqs[2].op = IoOp::kWrite, reqs[2].offset = kHalf, reqs[2].iov = {&vb, 1};
  ASSERT_TRUE(dev->Submit(reqs).ok());
  ASSERT_TRUE(dev->Read(0, out.get(), kLen).ok());
  for (size_t i = 0; i < kLen; i += 4096)
    ASSERT_EQ(out[i], i < kHalf ? 0xaa : 0xbb) << "offset " << i;
}

TEST_P(DeviceContractTest, FuaWriteCompletesAndReadsBack) {
  auto dev = Open();
  ASSERT_NE(dev, nullptr);
  const uint32_t lbs = dev->logical_block_size();
  AlignedBuffer a = AllocateAligned(8 * lbs, lbs), out = AllocateAligned(8 * lbs, lbs);
  bdtest::FillPattern(a.get(), 8 * lbs, 5);
  ASSERT_TRUE(dev->Write(16 * lbs, a.get(), 8 * lbs, /*fua=*/true).ok());
  auto other = Open();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->Read(16 * lbs, out.get(), 8 * lbs).ok());
  EXPECT_EQ(std::memcmp(a.get(), out.get(), 8 * lbs), 0);
}

TEST_P(DeviceContractTest, DiscardedFileRangeReadsBackAsZeroes) {
  auto dev = Open();
  ASSERT_NE(dev, nullptr);
  const uint64_t len = 1 << 20;
  AlignedBuffer a = AllocateAligned(len), out = AllocateAligned(len);
  std::memset(a.get(), 0x99, len);
  ASSERT_TRUE(dev->Write(0, a.get(), len).ok());
  ASSERT_TRUE(dev->Discard(256 << 10, 512 << 10).ok());
  ASSERT_TRUE(dev->Read(0, out.get(), len).ok());
  EXPECT_EQ(out[(256 << 10) - 1], 0x99);
  EXPECT_EQ(out[256 << 10], 0x00);
  EXPECT_EQ(out[(768 << 10) - 1], 0x00);
  EXPECT_EQ(out[768 << 10], 0x99);
}

TEST_P(DeviceContractTest, InjectedEioFailsOnlyTheMatchingRequest) {
  auto base = Open();
  ASSERT_NE(base, nullptr);
  const uint32_t lbs = base->logical_block_size();
  FaultyDevice dev(std::shared_ptr<BlockDevice>(std::move(base)));
  dev.FailRange(IoOp::kWrite, 8 * lbs, lbs, EIO);
  AlignedBuffer buf = AllocateAligned(lbs, lbs), out = AllocateAligned(lbs, lbs);
  std::memset(buf.get(), 0x1f, lbs);
  iovec v{buf.get(), lbs};
  std::vector<IoRequest> reqs(3);
  for (int i = 0; i < 3; ++i) {
    reqs[i].op = IoOp::kWrite;
    reqs[i].offset = (7 + i) * lbs;
    reqs[i].iov = {&v, 1};
  }
  Status st = dev.Submit(reqs);
  EXPECT_EQ(st.err(), EIO);
  EXPECT_THAT(st.message(), HasSubstr(image_));
  EXPECT_TRUE(reqs[0].status.ok());
  EXPECT_EQ(reqs[1].status.err(), EIO);
  EXPECT_TRUE(reqs[2].status.ok());
  ASSERT_TRUE(dev.Read(8 * lbs, out.get(), lbs).ok());
  EXPECT_EQ(out[0], 0x00);
  ASSERT_TRUE(dev.Read(9 * lbs, out.get(), lbs).ok());
  EXPECT_EQ(out[0], 0x1f);
}

TEST_P(DeviceContractTest, ReadPastTruncatedFileEndIsEio) {
  auto dev = Open();
  ASSERT_NE(dev, nullptr);
  ASSERT_EQ(truncate(image_.c_str(), 1 << 20), 0);  // shrink beneath the open device
  AlignedBuffer buf = AllocateAligned(4096);
  Status st = dev->Read(8 << 20, buf.get(), 4096);
  EXPECT_EQ(st.err(), EIO);
  EXPECT_THAT(st.message(), HasSubstr("read at offset"));
}

INSTANTIATE_TEST_SUITE_P(Modes, DeviceContractTest, ::testing::Values(Mode::kUring, Mode::kSync),
                         [](const auto& info) {
                           return std::string(info.param == Mode::kUring ? "IoUring" : "Sync");
                         });

class OpenDeviceTest : public ::testing::Test {
 protected:
  bdtest::TempDir dir_;
};

TEST_F(OpenDeviceTest, MissingPathIsEnoentNamingThePath) {
  auto dev = OpenDevice(dir_.File("nope"));
  EXPECT_EQ(dev.err(), ENOENT);
  EXPECT_THAT(dev.status().message(), HasSubstr(dir_.File("nope")));
}

TEST_F(OpenDeviceTest, DirectoryAndCharDeviceAreEinval) {
  auto dev = OpenDevice(dir_.path());
  EXPECT_EQ(dev.err(), EINVAL);
  EXPECT_THAT(dev.status().message(), HasSubstr("not a regular file or block device"));
  EXPECT_EQ(OpenDevice("/dev/null").err(), EINVAL);
}

TEST_F(OpenDeviceTest, EmptyFileIsEinval) {
  ASSERT_TRUE(bdtest::MakeImage(dir_.File("empty"), 0));
  auto dev = OpenDevice(dir_.File("empty"));
  EXPECT_EQ(dev.err(), EINVAL);
  EXPECT_THAT(dev.status().message(), HasSubstr("empty"));
}

TEST_F(OpenDeviceTest, SizeIsRoundedDownToWholeBlocks) {
  ASSERT_TRUE(bdtest::MakeImage(dir_.File("odd"), (1 << 20) + 100));
  auto dev = OpenDevice(dir_.File("odd"));
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ((*dev)->size_bytes() % (*dev)->logical_block_size(), 0u);
  EXPECT_LE((*dev)->size_bytes(), (1u << 20) + 100);
  EXPECT_GE((*dev)->size_bytes(), 1u << 19);
}

TEST_F(OpenDeviceTest, BadQueueDepthIsEinval) {
  ASSERT_TRUE(bdtest::MakeImage(dir_.File("img"), 1 << 20));
  DeviceOptions o;
  o.queue_depth = 0;
  EXPECT_EQ(OpenDevice(dir_.File("img"), o).err(), EINVAL);
}

// Root would bypass file permissions: the test drops this thread's fsuid to
// nobody (which also drops CAP_DAC_OVERRIDE for file access) and restores it.
class ScopedFsuid {
 public:
  explicit ScopedFsuid(uid_t uid) : old_(static_cast<uid_t>(setfsuid(uid))) {}
  ~ScopedFsuid() { setfsuid(old_); }

 private:
  uid_t old_;
};

TEST_F(OpenDeviceTest, UnreadableFileIsEaccesNamingThePath) {
  ASSERT_TRUE(bdtest::MakeImage(dir_.File("img"), 1 << 20));
  ASSERT_EQ(chmod(dir_.File("img").c_str(), 0), 0);
  auto dev = [&] {
    ScopedFsuid nobody(geteuid() == 0 ? 65534 : geteuid());
    DeviceOptions o;
    o.read_only = true;
    return OpenDevice(dir_.File("img"), o);
  }();
  EXPECT_EQ(dev.err(), EACCES);
  EXPECT_THAT(dev.status().message(), HasSubstr(dir_.File("img")));
}

}  // namespace
}  // namespace foliofs
