// Encode/decode round trips and checksum coverage of every on-disk record
// (fs/FORMAT.md §2–§10).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "fs/format/format.h"

namespace foliofs::format {
namespace {

Uuid TestUuid() {
  Uuid u;
  for (int i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(0xA0 + i);
  return u;
}

Superblock SampleSuperblock() {
  auto layout = ComputeLayout(64 << 20, 4096, 0, 0);
  EXPECT_TRUE(layout.ok());
  Superblock sb;
  ApplyLayout(*layout, &sb);
  sb.uuid = TestUuid();
  sb.checksum_seed = ChecksumSeed(sb.uuid);
  sb.hash_seed[3] = 7;
  sb.label = "data-volume";
  sb.free_blocks_count = 1234;
  sb.free_inodes_count = 99;
  sb.orphan_head = 42;
  sb.mkfs_time = 1700000000;
  sb.mount_count = 3;
  return sb;
}

// Flips every bit of `buf` in turn and expects `decodes_ok` to fail each time.
template <typename Fn>
void ExpectEveryBitFlipCaught(std::vector<uint8_t> buf, Fn decodes_ok) {
  ASSERT_TRUE(decodes_ok(buf));
  for (size_t byte = 0; byte < buf.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      buf[byte] ^= static_cast<uint8_t>(1 << bit);
      ASSERT_FALSE(decodes_ok(buf)) << "flip of byte " << byte << " bit " << bit << " undetected";
      buf[byte] ^= static_cast<uint8_t>(1 << bit);
    }
  }
}

TEST(FsSuperblockTest, RoundTripsEveryField) {
  Superblock sb = SampleSuperblock();
  uint8_t buf[kSuperblockSize];
  sb.Encode(buf);
  auto out = Superblock::Decode(buf);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->blocks_count, sb.blocks_count);
  EXPECT_EQ(out->free_blocks_count, 1234u);
  EXPECT_EQ(out->inodes_count, sb.inodes_count);
  EXPECT_EQ(out->label, "data-volume");
  EXPECT_EQ(out->uuid, sb.uuid);
  EXPECT_EQ(out->hash_seed, sb.hash_seed);
  EXPECT_EQ(out->orphan_head, 42u);
  EXPECT_EQ(out->journal_first_block, sb.journal_first_block);
  EXPECT_EQ(out->journal_blocks, sb.journal_blocks);
  EXPECT_EQ(out->front_end, sb.front_end);
  EXPECT_EQ(out->mkfs_time, 1700000000);
  EXPECT_EQ(out->mount_count, 3u);
  EXPECT_EQ(out->block_size(), 4096u);
  EXPECT_TRUE(LayoutFromSuperblock(*out).ok());
}

TEST(FsSuperblockTest, EveryBitFlipIsCaught) {
  std::vector<uint8_t> buf(kSuperblockSize);
  SampleSuperblock().Encode(buf.data());
  ExpectEveryBitFlipCaught(buf, [](const std::vector<uint8_t>& b) {
    return Superblock::Decode(b.data()).ok();
  });
}

TEST(FsSuperblockTest, UnknownIncompatRefusesAndUnknownRoCompatIsReadOnly) {
  Superblock sb = SampleSuperblock();
  std::string why;
  EXPECT_EQ(CheckFeatures(sb, &why), MountMode::kReadWrite);
  sb.feature_ro_compat = 0x80;
  EXPECT_EQ(CheckFeatures(sb, &why), MountMode::kReadOnly);
  EXPECT_NE(why.find("0x80"), std::string::npos);
  sb.feature_incompat = 0x100;
  EXPECT_EQ(CheckFeatures(sb, &why), MountMode::kRefuse);
  sb.feature_incompat = kIncompatRecover;
  sb.feature_ro_compat = 0;
  sb.feature_compat = 0xFFFF0000;  // unknown compat bits are ignored
  EXPECT_EQ(CheckFeatures(sb, &why), MountMode::kReadWrite);
}

TEST(GroupDescTest, RoundTrips) {
  GroupDesc d{100, 101, 102, 5000, 77, 3, kGroupItableZeroed};
  uint8_t buf[kGroupDescSize];
  d.Encode(buf);
  GroupDesc out = GroupDesc::Decode(buf);
  EXPECT_EQ(out.block_bitmap, 100u);
  EXPECT_EQ(out.inode_bitmap, 101u);
  EXPECT_EQ(out.inode_table, 102u);
  EXPECT_EQ(out.free_blocks, 5000u);
  EXPECT_EQ(out.free_inodes, 77u);
  EXPECT_EQ(out.used_dirs, 3u);
  EXPECT_EQ(out.flags, kGroupItableZeroed);
}

Inode SampleInode() {
  Inode n;
  n.ino = 12345;
  n.generation = 0xDEADBEEF;
  n.mode = 0100644;
  n.uid = 1000;
  n.gid = 100;
  n.nlink = 2;
  n.flags = kInodeFlagAppend;
  n.size = (1ULL << 40) + 3;
  n.blocks = 77;
  n.atime = {-5, 1};
  n.mtime = {1700000000, 999999999};
  n.ctime = {1700000001, 5};
  n.crtime = {1600000000, 0};
  n.xattr_block = 9999;
  n.orphan_next = 17;
  n.parent = 0;
  n.xattr_inline_bytes = 3;
  n.xattr_inline[0] = 1;
  ExtentNode root;
  root.header.max = kInodeExtentRootMax;
  root.extents = {{0, 500, 8, false}, {8, 900, 1, true}};
  EXPECT_TRUE(EncodeExtentNode(root, n.i_block.data(), n.i_block.size()).ok());
  return n;
}

TEST(FsInodeTest, RoundTripsEveryField) {
  const uint32_t seed = ChecksumSeed(TestUuid());
  Inode n = SampleInode();
  uint8_t buf[kInodeSize];
  n.Encode(seed, buf);
  auto out = Inode::Decode(buf, seed, 12345);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->generation, 0xDEADBEEF);
  EXPECT_EQ(out->mode, 0100644);
  EXPECT_EQ(out->uid, 1000u);
  EXPECT_EQ(out->gid, 100u);
  EXPECT_EQ(out->nlink, 2u);
  EXPECT_EQ(out->size, (1ULL << 40) + 3);
  EXPECT_EQ(out->blocks, 77u);
  EXPECT_EQ(out->atime, (Timespec{-5, 1}));
  EXPECT_EQ(out->mtime, (Timespec{1700000000, 999999999}));
  EXPECT_EQ(out->crtime, (Timespec{1600000000, 0}));
  EXPECT_EQ(out->xattr_block, 9999u);
  EXPECT_EQ(out->orphan_next, 17u);
  EXPECT_EQ(out->i_block, n.i_block);
  EXPECT_EQ(out->xattr_inline, n.xattr_inline);
}

TEST(FsInodeTest, WrongInodeNumberOrSeedIsRejected) {
  const uint32_t seed = ChecksumSeed(TestUuid());
  uint8_t buf[kInodeSize];
  SampleInode().Encode(seed, buf);
  EXPECT_EQ(Inode::Decode(buf, seed, 12346).err(), kCorrupted);  // misdirected write
  EXPECT_EQ(Inode::Decode(buf, seed + 1, 12345).err(), kCorrupted);  // other filesystem
}

TEST(FsInodeTest, EveryBitFlipIsCaught) {
  const uint32_t seed = ChecksumSeed(TestUuid());
  std::vector<uint8_t> buf(kInodeSize);
  SampleInode().Encode(seed, buf.data());
  ExpectEveryBitFlipCaught(buf, [seed](const std::vector<uint8_t>& b) {
    return Inode::Decode(b.data(), seed, 12345).ok();
  });
}

TEST(ExtentTreeTest, InlineRootRoundTripsUnwrittenBit) {
  ExtentNode node;
  node.header.max = kInodeExtentRootMax;
  node.extents = {{0, 100, 1, false}, {5, 200, kMaxExtentLength, true}};
  uint8_t buf[kInodeExtentRootSize];
  ASSERT_TRUE(EncodeExtentNode(node, buf, sizeof buf).ok());
  auto out = DecodeExtentNode(buf, sizeof buf);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->extents.size(), 2u);
  EXPECT_FALSE(out->extents[0].unwritten);
  EXPECT_TRUE(out->extents[1].unwritten);
  EXPECT_EQ(out->extents[1].length, kMaxExtentLength);
  EXPECT_EQ(out->extents[1].physical, 200u);
}

TEST(ExtentTreeTest, OverlappingOrTooManyRecordsAreRejected) {
  ExtentNode node;
  node.header.max = kInodeExtentRootMax;
  node.extents = {{0, 100, 4, false}, {3, 200, 1, false}};
  uint8_t buf[kInodeExtentRootSize];
  ASSERT_TRUE(EncodeExtentNode(node, buf, sizeof buf).ok());
  EXPECT_EQ(DecodeExtentNode(buf, sizeof buf).err(), kCorrupted);
  node.extents = {{0, 1, 1}, {1, 2, 1}, {2, 3, 1}, {3, 4, 1}, {4, 5, 1}};
  EXPECT_FALSE(EncodeExtentNode(node, buf, sizeof buf).ok());
}

TEST(ExtentTreeTest, IndexBlockRoundTripsAndEveryBitFlipIsCaught) {
  const uint32_t seed = ChecksumSeed(TestUuid());
  ExtentNode node;
  node.header.max = ExtentBlockMax(1024);
  node.header.depth = 1;
  node.indexes = {{0, 700}, {1000, 701}, {5000, 702}};
  std::vector<uint8_t> block(1024);
  ASSERT_TRUE(EncodeExtentBlock(node, 650, 12, seed, block).ok());
  auto out = DecodeExtentBlock(block, 650, 12, seed);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->indexes.size(), 3u);
  EXPECT_EQ(out->indexes[1].logical, 1000u);
  EXPECT_EQ(out->indexes[2].child, 702u);
  EXPECT_FALSE(DecodeExtentBlock(block, 651, 12, seed).ok());  // misdirected
  EXPECT_FALSE(DecodeExtentBlock(block, 650, 13, seed).ok());  // wrong owner
  ExpectEveryBitFlipCaught(block, [seed](const std::vector<uint8_t>& b) {
    return DecodeExtentBlock(b, 650, 12, seed).ok();
  });
}

TEST(FsBlockHeaderTest, EveryBitFlipInAGdtOrBitmapBlockIsCaught) {
  const uint32_t seed = ChecksumSeed(TestUuid());
  for (BlockType type : {BlockType::kGroupDesc, BlockType::kBlockBitmap, BlockType::kInodeBitmap}) {
    std::vector<uint8_t> block(1024);
    for (size_t i = kBlockHeaderSize; i < block.size(); ++i) block[i] = static_cast<uint8_t>(i * 7);
    BlockHeader{type, 33, 0, 0}.Encode(block.data());
    SealBlock(seed, block);
    EXPECT_FALSE(CheckBlock(block, type, 34, seed).ok());  // misdirected
    EXPECT_FALSE(CheckBlock(block, BlockType::kXattr, 33, seed).ok());  // wrong type
    ExpectEveryBitFlipCaught(block, [seed, type](const std::vector<uint8_t>& b) {
      return CheckBlock(b, type, 33, seed).ok();
    });
  }
}

TEST(NameHashTest, MatchesSipHashReferenceVector) {
  // SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e.
  std::array<uint8_t, 16> key;
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
  uint8_t msg[15];
  for (int i = 0; i < 15; ++i) msg[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(SipHash24(key, msg, sizeof msg), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(SipHash24(key, msg, 0), 0x726fdb47dd0e0e31ULL);
}

TEST(NameHashTest, SeedChangesTheHash) {
  std::array<uint8_t, 16> a{}, b{};
  b[0] = 1;
  const uint8_t name[] = {'f', 'o', 'o'};
  EXPECT_NE(NameHash(a, name), NameHash(b, name));
}

TEST(XattrTest, InlineAndBlockRoundTrip) {
  std::vector<Xattr> xs = {{XattrIndex::kUser, "a", "1"},
                           {XattrIndex::kUser, "long.name", std::string(300, 'v')},
                           {XattrIndex::kSecurity, "selinux", std::string("x\0y", 3)},
                           {XattrIndex::kSystem, "posix_acl_access", ""}};
  std::vector<uint8_t> area(1024);
  auto used = EncodeXattrEntries(xs, area.data(), area.size());
  ASSERT_TRUE(used.ok());
  auto back = DecodeXattrEntries(area.data(), *used);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 4u);
  EXPECT_EQ((*back)[2].value, std::string("x\0y", 3));
  EXPECT_EQ((*back)[1].value.size(), 300u);

  const uint32_t seed = ChecksumSeed(TestUuid());
  std::vector<uint8_t> block(1024);
  ASSERT_TRUE(EncodeXattrBlock(xs, 800, 12, seed, block).ok());
  auto fromblock = DecodeXattrBlock(block, 800, 12, seed);
  ASSERT_TRUE(fromblock.ok()) << fromblock.status().ToString();
  EXPECT_EQ((*fromblock)[3].name, "posix_acl_access");
  ExpectEveryBitFlipCaught(block, [seed](const std::vector<uint8_t>& b) {
    return DecodeXattrBlock(b, 800, 12, seed).ok();
  });
  EXPECT_EQ(EncodeXattrEntries(xs, area.data(), 64).err(), ENOSPC);
}

}  // namespace
}  // namespace foliofs::format
