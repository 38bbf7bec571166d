// The BlockDevice contract as MemoryDevice implements it: alignment and
// bounds checks with messages naming the field, vectored I/O, discard.
#include "pagecache/blockdev/memory_device.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "tests/blockdev/test_util.h"

namespace foliofs {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<MemoryDevice> MakeDevice(uint64_t size = 1 << 20, uint32_t lbs = 512) {
  auto dev = MemoryDevice::Create(size, lbs);
  EXPECT_TRUE(dev.ok()) << dev.status().ToString();
  return std::move(dev).value();
}

TEST(MemoryDeviceTest, CreateRejectsBadGeometry) {
  EXPECT_EQ(MemoryDevice::Create(4096, 100).err(), EINVAL);
  EXPECT_EQ(MemoryDevice::Create(1000, 512).err(), EINVAL);
  EXPECT_EQ(MemoryDevice::Create(0, 512).err(), EINVAL);
  EXPECT_EQ(MemoryDevice::FromImage(std::vector<uint8_t>(700), 512).err(), EINVAL);
}

TEST(MemoryDeviceTest, MisalignedOffsetIsEinvalNamingOffset) {
  auto dev = MakeDevice();
  AlignedBuffer buf = AllocateAligned(4096);
  Status st = dev->Write(100, buf.get(), 4096);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_THAT(st.message(), HasSubstr("offset 100"));
}

TEST(MemoryDeviceTest, MisalignedLengthIsEinvalNamingLength) {
  auto dev = MakeDevice();
  AlignedBuffer buf = AllocateAligned(4096);
  Status st = dev->Read(0, buf.get(), 1000);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_THAT(st.message(), HasSubstr("length 1000"));
}

TEST(MemoryDeviceTest, MisalignedBufferIsEinvalNamingBuffer) {
  auto dev = MakeDevice();
  AlignedBuffer buf = AllocateAligned(8192);
  Status st = dev->Read(0, buf.get() + 8, 512);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_THAT(st.message(), HasSubstr("buffer"));
}

TEST(MemoryDeviceTest, RequestPastEndIsEinvalAndWritesNothing) {
  auto dev = MakeDevice(1 << 16);
  AlignedBuffer buf = AllocateAligned(1024);
  std::memset(buf.get(), 0xab, 1024);
  Status st = dev->Write((1 << 16) - 512, buf.get(), 1024);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_THAT(st.message(), HasSubstr("beyond the device size"));
  uint8_t last[512];
  dev->Peek((1 << 16) - 512, last, 512);
  EXPECT_EQ(last[0], 0);
}

TEST(MemoryDeviceTest, ZeroLengthRequestIsEinval) {
  auto dev = MakeDevice();
  AlignedBuffer buf = AllocateAligned(512);
  EXPECT_EQ(dev->Write(0, buf.get(), 0).err(), EINVAL);
  EXPECT_EQ(dev->Discard(0, 0).err(), EINVAL);
}

TEST(MemoryDeviceTest, VectoredWriteAndReadRoundTrip) {
  auto dev = MakeDevice();
  AlignedBuffer a = AllocateAligned(1024), b = AllocateAligned(2048);
  bdtest::FillPattern(a.get(), 1024, 1);
  bdtest::FillPattern(b.get(), 2048, 2);
  iovec wv[2] = {{a.get(), 1024}, {b.get(), 2048}};
  IoRequest w;
  w.op = IoOp::kWrite;
  w.offset = 4096;
  w.iov = wv;
  ASSERT_TRUE(dev->Submit(std::span<IoRequest>(&w, 1)).ok());
  AlignedBuffer out = AllocateAligned(3072);
  ASSERT_TRUE(dev->Read(4096, out.get(), 3072).ok());
  EXPECT_EQ(std::memcmp(out.get(), a.get(), 1024), 0);
  EXPECT_EQ(std::memcmp(out.get() + 1024, b.get(), 2048), 0);
}

TEST(MemoryDeviceTest, BatchReportsFirstFailureAndRunsValidRequests) {
  auto dev = MakeDevice();
  AlignedBuffer buf = AllocateAligned(512);
  std::memset(buf.get(), 0x5a, 512);
  iovec v{buf.get(), 512};
  IoRequest reqs[3];
  reqs[0].op = IoOp::kWrite, reqs[0].offset = 0, reqs[0].iov = {&v, 1};
  reqs[1].op = IoOp::kWrite, reqs[1].offset = 7, reqs[1].iov = {&v, 1};
  reqs[2].op = IoOp::kWrite, reqs[2].offset = 512, reqs[2].iov = {&v, 1};
  Status st = dev->Submit(reqs);
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_TRUE(reqs[0].status.ok());
  EXPECT_EQ(reqs[1].status.err(), EINVAL);
  EXPECT_TRUE(reqs[2].status.ok());
  uint8_t got[1024];
  dev->Peek(0, got, 1024);
  EXPECT_EQ(got[0], 0x5a);
  EXPECT_EQ(got[512], 0x5a);
}

TEST(MemoryDeviceTest, DiscardZeroesRange) {
  auto dev = MakeDevice();
  std::vector<uint8_t> ones(4096, 1);
  dev->Poke(0, ones.data(), ones.size());
  ASSERT_TRUE(dev->Discard(1024, 2048).ok());
  auto snap = dev->Snapshot();
  EXPECT_EQ(snap[1023], 1);
  EXPECT_EQ(snap[1024], 0);
  EXPECT_EQ(snap[3071], 0);
  EXPECT_EQ(snap[3072], 1);
}

}  // namespace
}  // namespace foliofs
