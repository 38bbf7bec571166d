// MakeFilesystem + VerifyFilesystem over an in-memory device: a fresh
// filesystem is clean for every block size, and each kind of damage is found.
#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"

namespace foliofs::format {
namespace {

struct TestFs {
  std::unique_ptr<MemoryDevice> dev;
  Layout layout;
  Superblock sb;
};

MakeOptions TestOptions() {
  MakeOptions o;
  for (int i = 0; i < 16; ++i) {
    o.uuid[i] = static_cast<uint8_t>(0x10 + i);
    o.hash_seed[i] = static_cast<uint8_t>(0x80 + i);
  }
  o.label = "verify-test";
  o.now = 1700000000;
  o.format_journal = journal::FormatJournal;
  return o;
}

TestFs MakeTestFs(uint32_t block_size, uint64_t bytes = 32ULL << 20) {
  TestFs fs;
  auto dev = MemoryDevice::Create(bytes);
  EXPECT_TRUE(dev.ok());
  fs.dev = std::move(*dev);
  auto layout = ComputeLayout(bytes, block_size, 0, 0);
  EXPECT_TRUE(layout.ok()) << layout.status().ToString();
  fs.layout = *layout;
  auto sb = MakeFilesystem(*fs.dev, fs.layout, TestOptions());
  EXPECT_TRUE(sb.ok()) << sb.status().ToString();
  fs.sb = *sb;
  return fs;
}

std::string Describe(const VerifyReport& r) {
  std::string s;
  for (const Finding& f : r.findings) s += f.message + "\n";
  return s;
}

// True when some error finding contains `needle`.
bool HasError(const VerifyReport& r, const std::string& needle) {
  for (const Finding& f : r.findings) {
    if (f.severity == Finding::Severity::kError && f.message.find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

VerifyReport Verify(BlockDevice& dev) {
  auto r = VerifyFilesystem(dev);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : VerifyReport{};
}

void FlipByte(MemoryDevice& dev, uint64_t offset, uint8_t mask = 0x01) {
  uint8_t b;
  dev.Peek(offset, &b, 1);
  b ^= mask;
  dev.Poke(offset, &b, 1);
}

TEST(FsVerifyTest, FreshFilesystemIsCleanForEveryBlockSize) {
  for (uint32_t bs = kMinBlockSize; bs <= kMaxBlockSize; bs *= 2) {
    SCOPED_TRACE("block size " + std::to_string(bs));
    TestFs fs = MakeTestFs(bs);
    VerifyReport r = Verify(*fs.dev);
    EXPECT_TRUE(r.superblock_ok);
    EXPECT_TRUE(r.findings.empty()) << Describe(r);
    EXPECT_EQ(r.inodes_in_use, 2u);  // root and lost+found
    EXPECT_EQ(r.directories, 2u);
    EXPECT_EQ(r.blocks_in_use, fs.layout.metadata_blocks() + 2);
    EXPECT_EQ(r.sb.label, "verify-test");
    EXPECT_EQ(r.sb.uuid, TestOptions().uuid);
  }
}

TEST(FsVerifyTest, ReadSuperblockReturnsWhatMkfsWrote) {
  TestFs fs = MakeTestFs(4096);
  auto sb = ReadSuperblock(*fs.dev);
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  EXPECT_EQ(sb->blocks_count, fs.layout.blocks_count);
  EXPECT_EQ(sb->free_blocks_count, fs.layout.blocks_count - fs.layout.metadata_blocks() - 2);
  EXPECT_EQ(sb->free_inodes_count, fs.layout.inodes_count - kLostFoundIno);
  EXPECT_EQ(sb->state, kStateClean);
}

TEST(FsVerifyTest, CorruptPrimarySuperblockIsReported) {
  TestFs fs = MakeTestFs(4096);
  FlipByte(*fs.dev, 200);  // inside the label
  VerifyReport r = Verify(*fs.dev);
  EXPECT_FALSE(r.superblock_ok);
  EXPECT_TRUE(HasError(r, "primary superblock")) << Describe(r);
  const std::string tail = std::to_string(fs.layout.backup_blocks.back() * 4096);
  EXPECT_NE(Describe(r).find("valid backup superblock exists at byte offset " + tail),
            std::string::npos)
      << Describe(r);
}

TEST(FsVerifyTest, CorruptBackupSuperblockIsReported) {
  TestFs fs = MakeTestFs(4096);
  FlipByte(*fs.dev, fs.layout.backup_blocks.back() * 4096 + 60);
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(r.superblock_ok);
  EXPECT_TRUE(HasError(r, "backup superblock")) << Describe(r);
}

TEST(FsVerifyTest, CorruptGroupDescriptorBlockIsReported) {
  TestFs fs = MakeTestFs(1024);
  FlipByte(*fs.dev, 1 * 1024 + 40);
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(HasError(r, "group descriptor block at block 1")) << Describe(r);
}

TEST(FsVerifyTest, ResealedBitmapWithWrongBitIsReported) {
  TestFs fs = MakeTestFs(4096);
  const uint64_t at = fs.layout.block_bitmap_start * 4096;
  std::vector<uint8_t> block(4096);
  fs.dev->Peek(at, block.data(), block.size());
  SetBit(block, static_cast<uint32_t>(fs.layout.front_end + 10));  // a free block marked used
  SealBlock(fs.sb.checksum_seed, block);
  fs.dev->Poke(at, block.data(), block.size());
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(HasError(r, "block bitmap differs")) << Describe(r);
}

TEST(FsVerifyTest, CorruptInodeBitmapChecksumIsReported) {
  TestFs fs = MakeTestFs(4096);
  FlipByte(*fs.dev, fs.layout.inode_bitmap_start * 4096 + 100);
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(HasError(r, "inode bitmap at block")) << Describe(r);
}

TEST(FsVerifyTest, CorruptRootInodeIsReported) {
  TestFs fs = MakeTestFs(4096);
  FlipByte(*fs.dev, fs.layout.inode_table_start * 4096 + (kRootIno - 1) * kInodeSize + 33);
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(HasError(r, "inode 2 is marked in use but invalid")) << Describe(r);
  EXPECT_TRUE(HasError(r, "root inode 2 is not an in-use directory")) << Describe(r);
}

TEST(FsVerifyTest, WrongLinkCountWithValidChecksumIsReported) {
  TestFs fs = MakeTestFs(4096);
  const uint64_t at = fs.layout.inode_table_start * 4096 + (kLostFoundIno - 1) * kInodeSize;
  uint8_t rec[kInodeSize];
  fs.dev->Peek(at, rec, sizeof rec);
  auto inode = Inode::Decode(rec, fs.sb.checksum_seed, kLostFoundIno);
  ASSERT_TRUE(inode.ok());
  inode->nlink = 5;
  inode->Encode(fs.sb.checksum_seed, rec);
  fs.dev->Poke(at, rec, sizeof rec);
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(HasError(r, "inode 11: link count 5, counted 2")) << Describe(r);
}

TEST(FsVerifyTest, CorruptDirectoryLeafIsReported) {
  TestFs fs = MakeTestFs(4096);
  FlipByte(*fs.dev, fs.layout.front_end * 4096 + 60);  // the root's leaf, inside the entry
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(HasError(r, "directory 2: directory leaf")) << Describe(r);
}

TEST(FsVerifyTest, MissingJournalSuperblockIsReported) {
  TestFs fs = MakeTestFs(4096);
  std::vector<uint8_t> zeros(4096, 0);
  fs.dev->Poke(fs.layout.journal_first_block * 4096, zeros.data(), zeros.size());
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(HasError(r, "journal superblock missing")) << Describe(r);
}

TEST(FsVerifyTest, UnknownIncompatFeatureStopsTheCheck) {
  TestFs fs = MakeTestFs(4096);
  Superblock sb = fs.sb;
  sb.feature_incompat |= 0x8000;
  std::vector<uint8_t> rec(kSuperblockSize);
  sb.Encode(rec.data());
  fs.dev->Poke(0, rec.data(), rec.size());
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(HasError(r, "unknown incompatible features 0x8000")) << Describe(r);
}

// Byte ranges of live, checksummed metadata of a fresh 1 KiB-block filesystem:
// superblock record, GDT, bitmaps, the root and lost+found inodes, both leaves.
std::vector<std::pair<uint64_t, uint64_t>> LiveMetadata(const Layout& l) {
  const uint64_t bs = l.block_size;
  const uint64_t table = l.inode_table_start * bs;
  return {{0, kSuperblockSize},
          {bs, l.gdt_blocks * bs},
          {l.block_bitmap_start * bs, l.group_count * bs},
          {l.inode_bitmap_start * bs, l.group_count * bs},
          {table + (kRootIno - 1) * kInodeSize, kInodeSize},
          {table + (kLostFoundIno - 1) * kInodeSize, kInodeSize},
          {l.front_end * bs, 2 * bs}};
}

TEST(FsVerifyTest, RandomByteFlipsInLiveMetadataAreAlwaysReported) {
  TestFs fs = MakeTestFs(1024, 8ULL << 20);
  const auto ranges = LiveMetadata(fs.layout);
  std::mt19937_64 rng(20261124);
  for (int iter = 0; iter < 300; ++iter) {
    const auto& [start, len] = ranges[rng() % ranges.size()];
    const uint64_t at = start + rng() % len;
    const uint8_t mask = static_cast<uint8_t>(1u << (rng() % 8));
    FlipByte(*fs.dev, at, mask);
    VerifyReport r = Verify(*fs.dev);
    EXPECT_GT(r.errors(), 0u) << "flip at byte " << at << " went unreported";
    FlipByte(*fs.dev, at, mask);
  }
  EXPECT_TRUE(Verify(*fs.dev).clean());
}

// Damage behind a valid checksum (a buggy writer) must never crash the
// verifier or turn into an operational error: it is reported as findings.
TEST(FsVerifyTest, ResealedGarbageInMetadataBlocksNeverBreaksTheVerifier) {
  TestFs fs = MakeTestFs(1024, 8ULL << 20);
  const Layout& l = fs.layout;
  const std::vector<uint64_t> blocks = {1, l.block_bitmap_start, l.inode_bitmap_start,
                                        l.front_end, l.front_end + 1};
  std::mt19937_64 rng(7);
  std::vector<uint8_t> saved(1024), block(1024);
  for (int iter = 0; iter < 300; ++iter) {
    const uint64_t b = blocks[rng() % blocks.size()];
    fs.dev->Peek(b * 1024, saved.data(), saved.size());
    block = saved;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 8); ++k) {
      block[32 + rng() % (1024 - 32)] = static_cast<uint8_t>(rng());
    }
    SealBlock(fs.sb.checksum_seed, block);
    fs.dev->Poke(b * 1024, block.data(), block.size());
    auto r = VerifyFilesystem(*fs.dev);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    fs.dev->Poke(b * 1024, saved.data(), saved.size());
  }
  EXPECT_TRUE(Verify(*fs.dev).clean());
}

// FORMAT.md §1/§13: mkfs puts the root and lost+found leaves at front_end and
// front_end + 1, so a sparse backup copy may only start after them. With the
// journal sized so the front region ends exactly where group 1 (a backup
// group) starts, the copy must be skipped rather than overwrite the root.
TEST(FsVerifyTest, BackupNeverOverlapsTheMkfsDirectoryBlocks) {
  constexpr uint32_t kBs = 1024;
  const uint32_t bpg = BitsPerBitmap(kBs);
  const uint64_t bytes = uint64_t{3} * bpg * kBs;
  auto probe = ComputeLayout(bytes, kBs, 0, 0);
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  for (uint64_t gap : {0, 1, 2}) {
    SCOPED_TRACE("front_end = group 1 start - " + std::to_string(gap));
    const uint64_t journal = bpg - gap - probe->journal_first_block;
    auto l = ComputeLayout(bytes, kBs, 0, journal);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ASSERT_EQ(l->front_end + gap, uint64_t{bpg});
    for (uint64_t b : l->backup_blocks) {
      EXPECT_TRUE(b + 1 + l->gdt_blocks <= l->front_end || b >= l->front_end + 2)
          << "backup at " << b << " overlaps the directory blocks at " << l->front_end;
    }
    auto dev = MemoryDevice::Create(bytes);
    ASSERT_TRUE(dev.ok());
    auto sb = MakeFilesystem(**dev, *l, TestOptions());
    ASSERT_TRUE(sb.ok()) << sb.status().ToString();
    VerifyReport r = Verify(**dev);
    EXPECT_TRUE(r.findings.empty()) << Describe(r);
  }
}

// FORMAT.md §10: a name appears at most once across the inline area and the
// xattr block.
TEST(FsVerifyTest, XattrNameInBothAreasIsReported) {
  TestFs fs = MakeTestFs(4096);
  const uint64_t at = fs.layout.inode_table_start * 4096 + (kLostFoundIno - 1) * kInodeSize;
  uint8_t rec[kInodeSize];
  fs.dev->Peek(at, rec, sizeof rec);
  auto inode = Inode::Decode(rec, fs.sb.checksum_seed, kLostFoundIno);
  ASSERT_TRUE(inode.ok());
  const std::vector<Xattr> xs = {{XattrIndex::kUser, "dup", "1"}};
  auto used = EncodeXattrEntries(xs, inode->xattr_inline.data(), inode->xattr_inline.size());
  ASSERT_TRUE(used.ok());
  inode->xattr_inline_bytes = static_cast<uint32_t>(*used);
  const uint64_t xblock = fs.layout.front_end + 2;  // free after mkfs
  std::vector<uint8_t> block(4096);
  ASSERT_TRUE(EncodeXattrBlock(xs, xblock, kLostFoundIno, fs.sb.checksum_seed, block).ok());
  fs.dev->Poke(xblock * 4096, block.data(), block.size());
  inode->xattr_block = xblock;
  inode->blocks += 1;
  inode->Encode(fs.sb.checksum_seed, rec);
  fs.dev->Poke(at, rec, sizeof rec);
  VerifyReport r = Verify(*fs.dev);
  EXPECT_TRUE(HasError(r, "inode 11: xattr 1.dup is both inline and in the xattr block"))
      << Describe(r);
  EXPECT_FALSE(HasError(r, "inode 11: blocks field")) << Describe(r);
}

TEST(FsVerifyTest, BlankDeviceHasNoSuperblock) {
  auto dev = MemoryDevice::Create(4 << 20);
  ASSERT_TRUE(dev.ok());
  VerifyReport r = Verify(**dev);
  EXPECT_FALSE(r.superblock_ok);
  EXPECT_TRUE(HasError(r, "bad magic")) << Describe(r);
}

}  // namespace
}  // namespace foliofs::format
