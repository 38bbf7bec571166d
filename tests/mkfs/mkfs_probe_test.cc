// In-process tests of mkfs's parsers and signature probe (label unit).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "mkfs/args.h"
#include "mkfs/probe.h"

namespace foliofs::mkfs {
namespace {

std::vector<uint8_t> ExtImage(uint32_t compat, uint32_t incompat) {
  std::vector<uint8_t> buf(132 << 10, 0);
  buf[1024 + 0x38] = 0x53;
  buf[1024 + 0x39] = 0xEF;
  for (int i = 0; i < 4; ++i) {
    buf[1024 + 0x5C + i] = static_cast<uint8_t>(compat >> (8 * i));
    buf[1024 + 0x60 + i] = static_cast<uint8_t>(incompat >> (8 * i));
  }
  return buf;
}

TEST(MkfsProbeTest, ExtVariantsAreNamedByTheirFeatures) {
  auto ext2 = ExtImage(0, 0x2);
  auto ext3 = ExtImage(0x4, 0x2);
  auto ext4 = ExtImage(0x4, 0x2 | 0x40);
  EXPECT_EQ(DetectSignature(ext2.data(), ext2.size()), "ext2");
  EXPECT_EQ(DetectSignature(ext3.data(), ext3.size()), "ext3");
  EXPECT_EQ(DetectSignature(ext4.data(), ext4.size()), "ext4");
}

TEST(MkfsProbeTest, BlankDeviceAndShortBuffersHaveNoSignature) {
  std::vector<uint8_t> blank(132 << 10, 0);
  EXPECT_EQ(DetectSignature(blank.data(), blank.size()), "");
  std::vector<uint8_t> btrfs(132 << 10, 0);
  std::memcpy(btrfs.data() + 65600, "_BHRfS_M", 8);
  EXPECT_EQ(DetectSignature(btrfs.data(), btrfs.size()), "btrfs");
  EXPECT_EQ(DetectSignature(btrfs.data(), 65536), "");  // too short to see it
  std::vector<uint8_t> swap(8192, 0);
  std::memcpy(swap.data() + 4086, "SWAPSPACE2", 10);
  EXPECT_EQ(DetectSignature(swap.data(), swap.size()), "swap");
}

TEST(MkfsParseTest, SizesAcceptSuffixesAndRejectJunk) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("4k"), 4096u);
  EXPECT_EQ(*ParseSize("16M"), 16u << 20);
  EXPECT_EQ(*ParseSize("2g"), 2ULL << 30);
  EXPECT_EQ(*ParseSize("1T"), 1ULL << 40);
  for (const char* bad : {"", "k", "-1", "12kb", "1.5M", "99999999999999999999", "17179869184G"}) {
    EXPECT_FALSE(ParseSize(bad).ok()) << bad;
  }
}

TEST(MkfsParseTest, UuidRoundTripsAndRandomUuidIsVersion4) {
  const std::string text = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  auto u = ParseUuid(text);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(FormatUuid(*u), text);
  EXPECT_EQ(FormatUuid(*ParseUuid("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0")), text);
  const format::Uuid r = RandomUuid();
  EXPECT_EQ(r[6] >> 4, 4);
  EXPECT_EQ(r[8] & 0xC0, 0x80);
  EXPECT_NE(RandomUuid(), r);
}

}  // namespace
}  // namespace foliofs::mkfs
