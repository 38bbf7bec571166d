// FaultyDevice: each rule fails exactly the requests it names, failed
// writes never reach the medium, Heal removes every rule.
#include "pagecache/blockdev/faulty_device.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "pagecache/blockdev/memory_device.h"

namespace foliofs {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kLbs = 512;

class FaultyDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mem = MemoryDevice::Create(64 * kLbs, kLbs);
    ASSERT_TRUE(mem.ok());
    base_ = std::shared_ptr<MemoryDevice>(std::move(mem).value());
    dev_ = std::make_unique<FaultyDevice>(base_);
    buf_ = AllocateAligned(4 * kLbs);
    std::memset(buf_.get(), 0xee, 4 * kLbs);
  }
  Status WriteBlock(uint64_t block) { return dev_->Write(block * kLbs, buf_.get(), kLbs); }
  Status ReadBlock(uint64_t block) { return dev_->Read(block * kLbs, buf_.get(), kLbs); }
  uint8_t BaseByte(uint64_t block) {
    uint8_t b;
    base_->Peek(block * kLbs, &b, 1);
    return b;
  }

  std::shared_ptr<MemoryDevice> base_;
  std::unique_ptr<FaultyDevice> dev_;
  AlignedBuffer buf_;
};

TEST_F(FaultyDeviceTest, PassesThroughWithoutRules) {
  EXPECT_TRUE(WriteBlock(3).ok());
  EXPECT_EQ(BaseByte(3), 0xee);
  EXPECT_EQ(dev_->size_bytes(), 64u * kLbs);
  EXPECT_EQ(dev_->logical_block_size(), kLbs);
  EXPECT_THAT(dev_->name(), HasSubstr("memory"));
}

TEST_F(FaultyDeviceTest, FailRangeFailsOnlyOverlappingRequestsOfThatOp) {
  dev_->FailRange(IoOp::kWrite, 4 * kLbs, 2 * kLbs, EIO);
  EXPECT_TRUE(WriteBlock(3).ok());
  Status st = WriteBlock(5);
  EXPECT_EQ(st.err(), EIO);
  EXPECT_THAT(st.message(), HasSubstr("write at offset 2560"));
  EXPECT_TRUE(WriteBlock(6).ok());
  EXPECT_TRUE(ReadBlock(4).ok());  // reads are not covered by a write rule
  EXPECT_EQ(dev_->failed_count(), 1u);
}

TEST_F(FaultyDeviceTest, FailRangeForReadsAndDiscardsUsesTheirErrno) {
  dev_->FailRange(IoOp::kRead, 0, kLbs, ENOSPC);
  dev_->FailRange(IoOp::kDiscard, 8 * kLbs, kLbs, EOPNOTSUPP);
  EXPECT_EQ(ReadBlock(0).err(), ENOSPC);
  EXPECT_EQ(dev_->Discard(7 * kLbs, 2 * kLbs).err(), EOPNOTSUPP);
  EXPECT_TRUE(dev_->Discard(10 * kLbs, kLbs).ok());
}

TEST_F(FaultyDeviceTest, FailedWriteLeavesMediumUntouched) {
  dev_->FailRange(IoOp::kWrite, 0, 64 * kLbs);
  EXPECT_EQ(WriteBlock(9).err(), EIO);
  EXPECT_EQ(BaseByte(9), 0x00);
}

TEST_F(FaultyDeviceTest, FailAfterFailsEveryLaterRequest) {
  dev_->FailAfter(2);
  EXPECT_TRUE(WriteBlock(0).ok());
  EXPECT_TRUE(ReadBlock(0).ok());
  EXPECT_EQ(WriteBlock(1).err(), EIO);
  EXPECT_EQ(ReadBlock(0).err(), EIO);
  EXPECT_EQ(dev_->Flush().err(), EIO);
  EXPECT_EQ(BaseByte(1), 0x00);
  EXPECT_EQ(dev_->request_count(), 5u);
  EXPECT_EQ(dev_->failed_count(), 3u);
}

TEST_F(FaultyDeviceTest, FailAfterCountsRequestsInsideOneBatch) {
  dev_->FailAfter(1, EROFS);
  iovec v{buf_.get(), kLbs};
  IoRequest reqs[2];
  reqs[0].op = IoOp::kWrite, reqs[0].offset = 0, reqs[0].iov = {&v, 1};
  reqs[1].op = IoOp::kWrite, reqs[1].offset = kLbs, reqs[1].iov = {&v, 1};
  EXPECT_EQ(dev_->Submit(reqs).err(), EROFS);
  EXPECT_TRUE(reqs[0].status.ok());
  EXPECT_EQ(reqs[1].status.err(), EROFS);
  EXPECT_EQ(BaseByte(0), 0xee);
  EXPECT_EQ(BaseByte(1), 0x00);
}

TEST_F(FaultyDeviceTest, FailFlushesFailsFlushesOnlyWhileSet) {
  dev_->FailFlushes(true);
  EXPECT_EQ(dev_->Flush().err(), EIO);
  EXPECT_TRUE(WriteBlock(0).ok());
  dev_->FailFlushes(false);
  EXPECT_TRUE(dev_->Flush().ok());
}

TEST_F(FaultyDeviceTest, HealRemovesEveryRule) {
  dev_->FailRange(IoOp::kWrite, 0, kLbs);
  dev_->FailFlushes(true);
  dev_->FailAfter(0);
  EXPECT_EQ(WriteBlock(5).err(), EIO);
  dev_->Heal();
  EXPECT_TRUE(WriteBlock(0).ok());
  EXPECT_TRUE(dev_->Flush().ok());
  EXPECT_EQ(BaseByte(0), 0xee);
}

TEST_F(FaultyDeviceTest, InvalidRequestIsEinvalBeforeRules) {
  dev_->FailRange(IoOp::kWrite, 0, 64 * kLbs);
  EXPECT_EQ(dev_->Write(1, buf_.get(), kLbs).err(), EINVAL);
}

}  // namespace
}  // namespace foliofs
