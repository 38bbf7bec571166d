// Shared helpers for the journal tests: a formatted memory device, block
// patterns derived from (tid, block), and crash-image reopening.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"

namespace foliofs::journal::testing {

inline constexpr uint32_t kBs = 4096;
inline constexpr uint64_t kJournalStart = 1;
inline constexpr uint64_t kHomeStart = 300;  // first home metadata block used by tests

inline std::array<uint8_t, 16> TestUuid() {
  std::array<uint8_t, 16> u{};
  for (int i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(0xA0 + i);
  return u;
}

inline JournalOptions TestOptions(uint64_t journal_blocks = 64) {
  JournalOptions o;
  o.first_block = kJournalStart;
  o.num_blocks = journal_blocks;
  o.block_size = kBs;
  o.uuid = TestUuid();
  o.commit_interval = std::chrono::milliseconds(60000);  // commits only when asked
  return o;
}

inline uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Block contents for "transaction `tid` wrote block `nr`": header (tid, nr),
// then a stream derived from both, so a torn or mixed block is detectable.
inline void FillPattern(uint8_t* p, uint64_t tid, uint64_t nr) {
  std::memcpy(p, &tid, 8);
  std::memcpy(p + 8, &nr, 8);
  for (size_t i = 16; i < kBs; i += 8) {
    uint64_t v = SplitMix(tid * 1000003 + nr * 7919 + i);
    std::memcpy(p + i, &v, 8);
  }
}
// The tid whose pattern `p` holds, 0 for an all-zero block, -1 if invalid.
inline int64_t PatternTid(const uint8_t* p, uint64_t nr) {
  uint64_t tid, n;
  std::memcpy(&tid, p, 8);
  std::memcpy(&n, p + 8, 8);
  if (tid == 0) {
    for (size_t i = 0; i < kBs; ++i)
      if (p[i] != 0) return -1;
    return 0;
  }
  if (n != nr) return -1;
  std::vector<uint8_t> want(kBs);
  FillPattern(want.data(), tid, nr);
  return std::memcmp(want.data(), p, kBs) == 0 ? static_cast<int64_t>(tid) : -1;
}

inline std::shared_ptr<MemoryDevice> MakeDevice(uint64_t blocks = 512) {
  auto dev = MemoryDevice::Create(blocks * kBs, 512);
  EXPECT_TRUE(dev.ok());
  return std::shared_ptr<MemoryDevice>(std::move(dev).value());
}

inline std::vector<uint8_t> HomeBlock(const MemoryDevice& dev, uint64_t nr) {
  std::vector<uint8_t> b(kBs);
  dev.Peek(nr * kBs, b.data(), kBs);
  return b;
}

// A copy of `dev` as it is now, as if the machine stopped here.
inline std::shared_ptr<MemoryDevice> CrashCopy(const MemoryDevice& dev) {
  auto copy = MemoryDevice::FromImage(dev.Snapshot(), dev.logical_block_size());
  EXPECT_TRUE(copy.ok());
  return std::shared_ptr<MemoryDevice>(std::move(copy).value());
}

// Start + write pattern(tid, nr) into each block + stop. Returns the tid.
inline uint64_t WriteBlocks(Journal& j, const std::vector<uint64_t>& blocks, uint64_t tag = 0) {
  auto h = j.Start(static_cast<int>(blocks.size()), "test");
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  if (!h.ok()) return 0;
  uint64_t tid = (*h)->tid();
  for (uint64_t nr : blocks) {
    auto b = j.buffers().Read(nr);
    EXPECT_TRUE(b.ok());
    EXPECT_TRUE((*h)->GetWriteAccess(**b).ok());
    FillPattern((*b)->data(), tag ? tag : tid, nr);
    EXPECT_TRUE((*h)->DirtyMetadata(**b).ok());
  }
  EXPECT_TRUE((*h)->Stop().ok());
  return tid;
}

}  // namespace foliofs::journal::testing
