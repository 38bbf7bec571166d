// LoggingDevice: the log it keeps, crash images built from chosen ops
// (durable prefix, applied, torn), random crash states, state validation.
#include "pagecache/blockdev/logging_device.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

namespace foliofs {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kLbs = 512;

class LoggingDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mem = MemoryDevice::Create(64 * kLbs, kLbs);
    ASSERT_TRUE(mem.ok());
    base_ = std::shared_ptr<MemoryDevice>(std::move(mem).value());
    auto dev = LoggingDevice::Create(base_);
    ASSERT_TRUE(dev.ok());
    dev_ = std::move(dev).value();
  }
  // Writes `blocks` blocks filled with `byte` at block `block`.
  void WriteBlocks(uint64_t block, uint64_t blocks, uint8_t byte, bool fua = false) {
    AlignedBuffer buf = AllocateAligned(blocks * kLbs);
    std::memset(buf.get(), byte, blocks * kLbs);
    ASSERT_TRUE(dev_->Write(block * kLbs, buf.get(), blocks * kLbs, fua).ok());
  }
  static uint8_t ByteAt(const MemoryDevice& dev, uint64_t block) {
    uint8_t b;
    dev.Peek(block * kLbs, &b, 1);
    return b;
  }
  std::unique_ptr<MemoryDevice> Image(const CrashState& state) {
    auto img = dev_->CrashImage(state);
    EXPECT_TRUE(img.ok()) << img.status().ToString();
    return img.ok() ? std::move(img).value() : nullptr;
  }

  std::shared_ptr<MemoryDevice> base_;
  std::unique_ptr<LoggingDevice> dev_;
};

TEST_F(LoggingDeviceTest, LogsWritesDiscardsAndFlushesButNotReads) {
  WriteBlocks(1, 2, 0x11, /*fua=*/true);
  ASSERT_TRUE(dev_->Flush().ok());
  ASSERT_TRUE(dev_->Discard(4 * kLbs, kLbs).ok());
  AlignedBuffer buf = AllocateAligned(kLbs);
  ASSERT_TRUE(dev_->Read(0, buf.get(), kLbs).ok());
  std::vector<LoggedOp> log = dev_->Log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(dev_->op_count(), 3u);
  EXPECT_EQ(log[0].op, IoOp::kWrite);
  EXPECT_EQ(log[0].offset, kLbs);
  EXPECT_EQ(log[0].length, 2 * kLbs);
  EXPECT_TRUE(log[0].fua);
  EXPECT_EQ(log[0].data, std::vector<uint8_t>(2 * kLbs, 0x11));
  EXPECT_EQ(log[1].op, IoOp::kFlush);
  EXPECT_EQ(log[2].op, IoOp::kDiscard);
  EXPECT_EQ(log[2].length, kLbs);
}

TEST_F(LoggingDeviceTest, FailedRequestsAreNotLogged) {
  AlignedBuffer buf = AllocateAligned(kLbs);
  EXPECT_EQ(dev_->Write(3, buf.get(), kLbs).err(), EINVAL);
  EXPECT_EQ(dev_->op_count(), 0u);
}

TEST_F(LoggingDeviceTest, ReadsSeeEverythingWritten) {
  WriteBlocks(5, 1, 0x42);
  AlignedBuffer buf = AllocateAligned(kLbs);
  ASSERT_TRUE(dev_->Read(5 * kLbs, buf.get(), kLbs).ok());
  EXPECT_EQ(buf[0], 0x42);
}

TEST_F(LoggingDeviceTest, CrashImageAppliesDurablePrefixAndChosenOpsOnly) {
  WriteBlocks(0, 1, 0xa1);          // op 0
  ASSERT_TRUE(dev_->Flush().ok());  // op 1
  WriteBlocks(1, 1, 0xb2);          // op 2
  WriteBlocks(2, 1, 0xc3);          // op 3
  CrashState state;
  state.durable_ops = 2;
  state.applied = {3};
  auto img = Image(state);
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(ByteAt(*img, 0), 0xa1);
  EXPECT_EQ(ByteAt(*img, 1), 0x00);
  EXPECT_EQ(ByteAt(*img, 2), 0xc3);
}

TEST_F(LoggingDeviceTest, CrashImageAppliesOpsInLogOrder) {
  WriteBlocks(7, 1, 0x01);  // op 0
  WriteBlocks(7, 1, 0x02);  // op 1 overwrites op 0
  CrashState state;
  state.applied = {1, 0};  // listed out of order on purpose
  auto img = Image(state);
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(ByteAt(*img, 7), 0x02);
}

TEST_F(LoggingDeviceTest, TornWriteLandsExactlyTheChosenBlocks) {
  WriteBlocks(10, 4, 0x77);
  CrashState state;
  state.torn.push_back({0, {true, false, false, true}});
  auto img = Image(state);
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(ByteAt(*img, 10), 0x77);
  EXPECT_EQ(ByteAt(*img, 11), 0x00);
  EXPECT_EQ(ByteAt(*img, 12), 0x00);
  EXPECT_EQ(ByteAt(*img, 13), 0x77);
}

TEST_F(LoggingDeviceTest, ImageStartsFromContentsAtCreationAndAfterResetLog) {
  WriteBlocks(3, 1, 0x33);
  dev_->ResetLog();
  EXPECT_EQ(dev_->op_count(), 0u);
  WriteBlocks(4, 1, 0x44);
  auto img = Image(CrashState{});
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(ByteAt(*img, 3), 0x33);  // part of the starting image
  EXPECT_EQ(ByteAt(*img, 4), 0x00);  // not durable, not chosen
}

TEST_F(LoggingDeviceTest, RandomCrashStateAlwaysAppliesFuaWritesAndDurablePrefix) {
  WriteBlocks(0, 1, 0x10);
  ASSERT_TRUE(dev_->Flush().ok());
  for (int i = 0; i < 8; ++i) WriteBlocks(1 + i, 1, 0x20, /*fua=*/i == 3);
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    CrashState s = dev_->RandomCrashState(dev_->op_count(), rng, 0.3);
    EXPECT_EQ(s.durable_ops, 2u);
    EXPECT_NE(std::find(s.applied.begin(), s.applied.end(), 5u), s.applied.end());
    auto img = Image(s);
    ASSERT_NE(img, nullptr);
    EXPECT_EQ(ByteAt(*img, 0), 0x10);
    EXPECT_EQ(ByteAt(*img, 4), 0x20);
  }
}

TEST_F(LoggingDeviceTest, RandomCrashStateVariesAndStopsAtCrashPoint) {
  for (int i = 0; i < 6; ++i) WriteBlocks(i, 2, static_cast<uint8_t>(i + 1));
  std::mt19937_64 rng(7);
  bool saw_applied = false, saw_dropped = false, saw_torn = false;
  for (int round = 0; round < 200; ++round) {
    CrashState s = dev_->RandomCrashState(3, rng, 0.5);
    EXPECT_EQ(s.durable_ops, 0u);
    for (size_t i : s.applied) EXPECT_LT(i, 3u);
    for (const auto& t : s.torn) {
      EXPECT_LT(t.op, 3u);
      EXPECT_EQ(t.blocks_landed.size(), 2u);
    }
    saw_applied |= !s.applied.empty();
    saw_torn |= !s.torn.empty();
    saw_dropped |= s.applied.size() + s.torn.size() < 3;
    EXPECT_TRUE(dev_->CrashImage(s).ok());
  }
  EXPECT_TRUE(saw_applied && saw_dropped && saw_torn);
}

TEST_F(LoggingDeviceTest, CrashImageRejectsInvalidStates) {
  WriteBlocks(0, 2, 0x01);                   // op 0
  ASSERT_TRUE(dev_->Flush().ok());           // op 1
  WriteBlocks(2, 1, 0x02);                   // op 2
  ASSERT_TRUE(dev_->Discard(0, kLbs).ok());  // op 3
  auto expect_einval = [&](const CrashState& s, const char* what) {
    auto r = dev_->CrashImage(s);
    EXPECT_EQ(r.err(), EINVAL) << what;
    if (!r.ok()) {
      EXPECT_THAT(r.status().message(), HasSubstr("invalid crash state")) << what;
    }
  };
  CrashState s;
  s.durable_ops = 5;
  expect_einval(s, "durable past the log");
  s = {};
  s.durable_ops = 2;
  s.applied = {0};
  expect_einval(s, "applied below durable_ops");
  s = {};
  s.applied = {9};
  expect_einval(s, "applied out of range");
  s = {};
  s.applied = {1};
  expect_einval(s, "a flush applied");
  s = {};
  s.torn.push_back({0, {true}});
  expect_einval(s, "mask of the wrong length");
  s = {};
  s.torn.push_back({3, {true}});
  expect_einval(s, "torn discard");
  s = {};
  s.applied = {2};
  s.torn.push_back({2, {true}});
  expect_einval(s, "chosen twice");
}

}  // namespace
}  // namespace foliofs
