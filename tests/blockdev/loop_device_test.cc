// OpenDevice on a real loop device this test attaches (and always detaches):
// geometry, round trips through io_uring and sync, exclusive open, discard.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "pagecache/blockdev/uring_device.h"
#include "tests/blockdev/test_util.h"

namespace foliofs {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kImageSize = 64 << 20;

class LoopDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = bdtest::LoopUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_TRUE(dir_.ok());
    ASSERT_TRUE(bdtest::MakeImage(dir_.File("image"), kImageSize));
    loop_ = bdtest::LoopDevice::Attach(dir_.File("image"));
    ASSERT_NE(loop_, nullptr) << "losetup -f --show failed";
  }
  std::unique_ptr<BlockDevice> Open(DeviceOptions o) {
    auto dev = OpenDevice(loop_->path(), o);
    EXPECT_TRUE(dev.ok()) << dev.status().ToString();
    return dev.ok() ? std::move(dev).value() : nullptr;
  }

  bdtest::TempDir dir_;
  std::unique_ptr<bdtest::LoopDevice> loop_;  // destroyed before dir_: detach, then remove
};

TEST_F(LoopDeviceTest, ReportsBlockDeviceGeometry) {
  auto dev = Open({});
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->size_bytes(), kImageSize);
  EXPECT_EQ(dev->logical_block_size(), 512u);
  EXPECT_THAT(dev->name(), HasSubstr(loop_->path()));
}

TEST(LoopDevice4kTest, FourKiBSectorDeviceReportsAndEnforces4096) {
  if (std::string why = bdtest::LoopUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
  bdtest::TempDir dir;
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(bdtest::MakeImage(dir.File("image"), 16 << 20));
  auto loop = bdtest::LoopDevice::Attach(dir.File("image"), "-b 4096");
  ASSERT_NE(loop, nullptr) << "losetup -b 4096 failed";
  auto dev = OpenDevice(loop->path());
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ((*dev)->logical_block_size(), 4096u);
  AlignedBuffer buf = AllocateAligned(8192);
  EXPECT_EQ((*dev)->Write(512, buf.get(), 4096).err(), EINVAL);
  EXPECT_EQ((*dev)->Write(0, buf.get(), 512).err(), EINVAL);
  EXPECT_TRUE((*dev)->Write(4096, buf.get(), 4096).ok());
}

// Writes 48 x 256 KiB (more than the queue depth) with a flush in the middle,
// reads it all back through the other I/O path.
void WriteThenReadBack(BlockDevice& writer, BlockDevice& reader, uint64_t seed) {
  constexpr int kCount = 48;
  constexpr size_t kLen = 256 << 10;
  std::vector<AlignedBuffer> bufs;
  std::vector<iovec> iov(kCount);
  std::vector<IoRequest> reqs;
  for (int i = 0; i < kCount; ++i) {
    bufs.push_back(AllocateAligned(kLen));
    bdtest::FillPattern(bufs.back().get(), kLen, seed + i);
    iov[i] = {bufs.back().get(), kLen};
    IoRequest r;
    r.op = IoOp::kWrite;
    r.offset = static_cast<uint64_t>(i) * kLen;
    r.iov = std::span<const iovec>(&iov[i], 1);
    reqs.push_back(r);
    if (i == kCount / 2) reqs.push_back(IoRequest{.op = IoOp::kFlush});
  }
  ASSERT_TRUE(writer.Submit(reqs).ok());
  ASSERT_TRUE(writer.Flush().ok());
  AlignedBuffer out = AllocateAligned(kLen);
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(reader.Read(static_cast<uint64_t>(i) * kLen, out.get(), kLen).ok());
    ASSERT_EQ(std::memcmp(out.get(), bufs[i].get(), kLen), 0) << "chunk " << i;
  }
}

TEST_F(LoopDeviceTest, UringWritesReadBackThroughSync) {
  DeviceOptions o;
  o.queue_depth = 16;
  o.allow_sync_fallback = false;
  auto uring = Open(o);
  DeviceOptions s;
  s.force_sync = true;
  auto sync = Open(s);
  ASSERT_TRUE(uring && sync);
  WriteThenReadBack(*uring, *sync, 100);
}

TEST_F(LoopDeviceTest, SyncWritesReadBackThroughUring) {
  DeviceOptions s;
  s.force_sync = true;
  auto sync = Open(s);
  DeviceOptions o;
  o.allow_sync_fallback = false;
  auto uring = Open(o);
  ASSERT_TRUE(uring && sync);
  WriteThenReadBack(*sync, *uring, 200);
}

TEST_F(LoopDeviceTest, ShortCompletionsOnBlockDeviceAreResubmitted) {
  DeviceOptions o;
  o.allow_sync_fallback = false;
  o.test_short_io_bytes = 64 << 10;
  auto chunky = Open(o);
  auto plain = Open({});
  ASSERT_TRUE(chunky && plain);
  WriteThenReadBack(*chunky, *plain, 300);
}

TEST_F(LoopDeviceTest, ReadOnlyOpenRefusesWritesWithErofs) {
  DeviceOptions o;
  o.read_only = true;
  auto dev = Open(o);
  ASSERT_NE(dev, nullptr);
  AlignedBuffer buf = AllocateAligned(4096);
  EXPECT_EQ(dev->Write(0, buf.get(), 4096).err(), EROFS);
  EXPECT_TRUE(dev->Read(0, buf.get(), 4096).ok());
}

TEST_F(LoopDeviceTest, DiscardSucceedsOrReportsEopnotsupp) {
  auto dev = Open({});
  ASSERT_NE(dev, nullptr);
  Status st = dev->Discard(1 << 20, 1 << 20);
  EXPECT_TRUE(st.ok() || st.err() == EOPNOTSUPP) << st.ToString();
}

TEST_F(LoopDeviceTest, ExclusiveOpenOfMountedDeviceFailsWithEbusy) {
  ASSERT_EQ(bdtest::Shell("mkfs.ext4 -q -F " + testsupport::Quote(loop_->path())).rc, 0);
  bdtest::TempDir mnt;
  bdtest::MountGuard guard(loop_->path(), mnt.path(), "ext4");
  ASSERT_TRUE(guard.ok()) << strerror(errno);
  DeviceOptions o;
  o.exclusive = true;
  auto dev = OpenDevice(loop_->path(), o);
  EXPECT_EQ(dev.err(), EBUSY);
  EXPECT_THAT(dev.status().message(), HasSubstr(loop_->path()));
  EXPECT_THAT(dev.status().message(), HasSubstr("in use"));
}

TEST_F(LoopDeviceTest, ExclusiveOpenOfIdleDeviceSucceeds) {
  DeviceOptions o;
  o.exclusive = true;
  EXPECT_NE(Open(o), nullptr);
}

}  // namespace
}  // namespace foliofs
