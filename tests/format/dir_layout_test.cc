// Directory node codecs with odd names, and the layout for every block size.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "fs/format/format.h"

namespace foliofs::format {
namespace {

const std::array<uint8_t, 16> kHashSeed = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
const uint32_t kSeed = 0x12345678;

DirEntry Entry(std::string name, uint64_t ino, FileType type = FileType::kRegular) {
  const auto* p = reinterpret_cast<const uint8_t*>(name.data());
  return DirEntry{NameHash(kHashSeed, std::span<const uint8_t>(p, name.size())), ino, type,
                  std::move(name)};
}

void Sort(std::vector<DirEntry>* v) {
  std::sort(v->begin(), v->end(), [](const DirEntry& a, const DirEntry& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.name < b.name;
  });
}

TEST(DirLeafTest, RoundTripsEveryByteValueAnd255ByteNames) {
  std::vector<DirEntry> entries;
  // One name per byte value 0x01..0xff except '/', each 1 to 3 bytes long.
  for (int c = 1; c <= 0xff; ++c) {
    if (c == '/') continue;
    std::string name(1 + c % 3, static_cast<char>(c));
    if (name == "." || name == "..") name += 'x';
    entries.push_back(Entry(name, 100 + c));
  }
  std::string big(255, '\xff');
  big[0] = '\x01';
  entries.push_back(Entry(big, 7, FileType::kDirectory));
  Sort(&entries);
  DirLeaf leaf{0, entries};
  std::vector<uint8_t> block(16384);
  ASSERT_TRUE(EncodeDirLeaf(leaf, 900, 2, kSeed, block).ok());
  auto out = DecodeDirLeaf(block, 900, 2, kSeed);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->entries.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(out->entries[i].name, entries[i].name);
    EXPECT_EQ(out->entries[i].ino, entries[i].ino);
    EXPECT_EQ(out->entries[i].type, entries[i].type);
    EXPECT_EQ(out->entries[i].hash, entries[i].hash);
  }
}

TEST(DirLeafTest, InvalidNamesAreRefused) {
  std::vector<uint8_t> block(4096);
  for (std::string bad : {std::string(""), std::string("a/b"), std::string("a\0b", 3),
                          std::string("."), std::string(".."), std::string(256, 'n')}) {
    DirLeaf leaf{0, {DirEntry{1, 5, FileType::kRegular, bad}}};
    EXPECT_FALSE(EncodeDirLeaf(leaf, 1, 2, kSeed, block).ok()) << "name of size " << bad.size();
  }
}

TEST(DirLeafTest, FullLeafIsNoSpaceAndUnsortedIsInvalid) {
  std::vector<uint8_t> block(1024);
  std::vector<DirEntry> entries;
  for (int i = 0; i < 4; ++i) entries.push_back(Entry(std::string(250, 'a' + i), 20 + i));
  Sort(&entries);
  EXPECT_EQ(EncodeDirLeaf(DirLeaf{0, entries}, 1, 2, kSeed, block).err(), ENOSPC);
  entries.resize(2);
  std::swap(entries[0], entries[1]);
  EXPECT_EQ(EncodeDirLeaf(DirLeaf{0, entries}, 1, 2, kSeed, block).err(), EINVAL);
}

TEST(DirLeafTest, EveryBitFlipIsCaught) {
  std::vector<DirEntry> entries = {Entry("lost+found", 11, FileType::kDirectory),
                                   Entry("x", 12)};
  Sort(&entries);
  std::vector<uint8_t> block(1024);
  ASSERT_TRUE(EncodeDirLeaf(DirLeaf{3, entries}, 77, 2, kSeed, block).ok());
  for (size_t byte = 0; byte < block.size(); ++byte) {
    block[byte] ^= 0x10;
    EXPECT_FALSE(DecodeDirLeaf(block, 77, 2, kSeed).ok()) << "byte " << byte;
    block[byte] ^= 0x10;
  }
  EXPECT_FALSE(DecodeDirLeaf(block, 78, 2, kSeed).ok());  // misdirected write
}

TEST(DirIndexTest, RoundTripsWithContinuedCollisionEntries) {
  DirIndex idx;
  idx.depth = 1;
  idx.entries = {{0, 1, 0}, {1000, 2, 0}, {1000, 3, kDirIndexContinued}, {5000, 4, 0}};
  std::vector<uint8_t> block(4096);
  ASSERT_TRUE(EncodeDirIndex(idx, 500, 2, kSeed, block).ok());
  auto out = DecodeDirIndex(block, 500, 2, kSeed);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->depth, 1);
  ASSERT_EQ(out->entries.size(), 4u);
  EXPECT_EQ(out->entries[2].flags, kDirIndexContinued);
  EXPECT_EQ(out->entries[3].child, 4u);
  // Equal keys without the CONTINUED flag are corrupt.
  idx.entries[2].flags = 0;
  ASSERT_TRUE(EncodeDirIndex(idx, 500, 2, kSeed, block).ok());
  EXPECT_EQ(DecodeDirIndex(block, 500, 2, kSeed).err(), kCorrupted);
}

// Checks one layout: regions in order, no overlap, all in bounds.
void ExpectSaneLayout(const Layout& l, uint64_t device_bytes) {
  SCOPED_TRACE("block size " + std::to_string(l.block_size) + ", device " +
               std::to_string(device_bytes));
  EXPECT_LE(l.blocks_count * l.block_size, device_bytes);
  EXPECT_EQ(l.blocks_per_group, BitsPerBitmap(l.block_size));
  EXPECT_EQ(l.group_count, (l.blocks_count + l.blocks_per_group - 1) / l.blocks_per_group);
  EXPECT_GE(l.gdt_blocks * uint64_t{DescsPerBlock(l.block_size)}, l.group_count);
  EXPECT_EQ(l.block_bitmap_start, 1u + l.gdt_blocks);
  EXPECT_EQ(l.inode_bitmap_start, l.block_bitmap_start + l.group_count);
  EXPECT_EQ(l.inode_table_start, l.inode_bitmap_start + l.group_count);
  EXPECT_EQ(l.journal_first_block,
            l.inode_table_start + uint64_t{l.group_count} * l.inode_table_blocks);
  EXPECT_GE(l.journal_blocks, kMinJournalBlocks);
  EXPECT_EQ(l.front_end, l.journal_first_block + l.journal_blocks);
  EXPECT_EQ(uint64_t{l.inode_table_blocks} * l.block_size, uint64_t{l.inodes_per_group} * kInodeSize);
  EXPECT_LE(l.inodes_per_group, BitsPerBitmap(l.block_size));
  EXPECT_GE(l.inodes_count, kFirstIno);
  ASSERT_FALSE(l.backup_blocks.empty());
  EXPECT_EQ(l.backup_groups.back(), kTailBackupGroup);
  EXPECT_EQ(l.backup_blocks.back() + 1 + l.gdt_blocks, l.blocks_count);
  uint64_t prev_end = l.front_end + 2;  // root and lost+found blocks
  for (size_t i = 0; i < l.backup_blocks.size(); ++i) {
    EXPECT_GE(l.backup_blocks[i], prev_end) << "backup " << i << " overlaps";
    if (l.backup_groups[i] != kTailBackupGroup) {
      EXPECT_EQ(l.backup_blocks[i], l.group_first_block(l.backup_groups[i]));
    }
    prev_end = l.backup_blocks[i] + 1 + l.gdt_blocks;
  }
  EXPECT_LE(prev_end, l.blocks_count);
  EXPECT_GE(l.blocks_count - l.metadata_blocks(), kMinFreeBlocks);
  if (l.group_count > 1) {  // the short last group is not tiny
    EXPECT_GE(l.group_blocks(l.group_count - 1), kMinFreeBlocks);
  }
}

TEST(FsLayoutTest, EveryBlockSizeAndSeveralDeviceSizesAreConsistent) {
  const uint64_t sizes[] = {8ULL << 20, 100ULL << 20, 1ULL << 30, (5ULL << 30) + 12345 * 512,
                            1ULL << 40, 3ULL << 50};
  for (uint32_t bs = kMinBlockSize; bs <= kMaxBlockSize; bs *= 2) {
    for (uint64_t size : sizes) {
      auto l = ComputeLayout(size, bs, 0, 0);
      if (!l.ok()) {
        EXPECT_EQ(l.err(), ENOSPC) << bs << " " << size << " " << l.status().ToString();
        EXPECT_LT(size, MinimumDeviceBytes(bs, 0, 0));
        continue;
      }
      ExpectSaneLayout(*l, size);
    }
  }
}

TEST(FsLayoutTest, BackupsAreAtSparseGroupsBeyondTheFrontRegion) {
  auto l = ComputeLayout(8ULL << 30, 4096, 0, 0);
  ASSERT_TRUE(l.ok());
  // 65 groups; the front region (inode tables + journal) covers group 1's start.
  ASSERT_EQ(l->group_count, 65u);
  ASSERT_GT(l->front_end, l->group_first_block(1));
  ASSERT_LT(l->front_end, l->group_first_block(3));
  std::vector<uint32_t> groups(l->backup_groups.begin(), l->backup_groups.end() - 1);
  EXPECT_EQ(groups, (std::vector<uint32_t>{3, 5, 7, 9, 25, 27, 49}));
}

TEST(FsLayoutTest, ExplicitInodeAndJournalCountsAreHonoured) {
  auto l = ComputeLayout(256ULL << 20, 4096, 5000, 2048);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_GE(l->inodes_count, 5000u);
  EXPECT_LT(l->inodes_count, 5000u + 8 * l->group_count);
  EXPECT_EQ(l->journal_blocks, 2048u);
}

TEST(FsLayoutTest, DefaultJournalFollowsTheMke2fsTable) {
  EXPECT_EQ(DefaultJournalBlocks(20000), 1024u);
  EXPECT_EQ(DefaultJournalBlocks(262144), 8192u);
  EXPECT_EQ(DefaultJournalBlocks(1ULL << 30), 262144u);
  auto l = ComputeLayout(1ULL << 30, 4096, 0, 0);  // 262144 blocks
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->journal_blocks, 8192u);
}

TEST(FsLayoutTest, TooSmallDeviceIsRejectedWithTheMinimum) {
  for (uint32_t bs = kMinBlockSize; bs <= kMaxBlockSize; bs *= 2) {
    const uint64_t min = MinimumDeviceBytes(bs, 0, 0);
    ASSERT_GT(min, 0u);
    EXPECT_TRUE(ComputeLayout(min, bs, 0, 0).ok()) << bs;
    auto l = ComputeLayout(min - bs, bs, 0, 0);
    ASSERT_FALSE(l.ok()) << bs;
    EXPECT_EQ(l.err(), ENOSPC);
    EXPECT_NE(l.status().message().find(std::to_string(min)), std::string::npos)
        << l.status().message();
  }
  EXPECT_EQ(ComputeLayout(0, 4096, 0, 0).err(), ENOSPC);
}

TEST(FsLayoutTest, BadParametersAreInvalid) {
  EXPECT_EQ(ComputeLayout(1ULL << 30, 3000, 0, 0).err(), EINVAL);
  EXPECT_EQ(ComputeLayout(1ULL << 30, 512, 0, 0).err(), EINVAL);
  EXPECT_EQ(ComputeLayout(1ULL << 30, 131072, 0, 0).err(), EINVAL);
  EXPECT_EQ(ComputeLayout(1ULL << 30, 4096, 0, 10).err(), EINVAL);  // journal below minimum
  EXPECT_EQ(ComputeLayout(64ULL << 20, 4096, 1ULL << 30, 0).err(), EINVAL);  // too many inodes
}

}  // namespace
}  // namespace foliofs::format
