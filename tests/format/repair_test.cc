// RepairFilesystem over an in-memory device: for each kind of damage, the
// verifier finds it, repair fixes it, and a second verification is clean.
#include "fs/format/repair.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"
#include "tests/format/repair_test_util.h"

namespace foliofs::format {
namespace {

using testing::FsImage;

constexpr uint32_t kBs = 4096;

std::unique_ptr<MemoryDevice> MakeTestFs(uint64_t bytes = 32ULL << 20, uint32_t bs = kBs) {
  auto dev = MemoryDevice::Create(bytes);
  EXPECT_TRUE(dev.ok());
  auto layout = ComputeLayout(bytes, bs, 0, 0);
  EXPECT_TRUE(layout.ok()) << layout.status().ToString();
  MakeOptions o;
  for (int i = 0; i < 16; ++i) {
    o.uuid[i] = static_cast<uint8_t>(0x20 + i);
    o.hash_seed[i] = static_cast<uint8_t>(0x90 + i);
  }
  o.now = 1700000000;
  o.format_journal = journal::FormatJournal;
  auto sb = MakeFilesystem(**dev, *layout, o);
  EXPECT_TRUE(sb.ok()) << sb.status().ToString();
  return std::move(*dev);
}

std::string Describe(const VerifyReport& r) {
  std::string s;
  for (const Finding& f : r.findings) s += f.message + "\n";
  return s;
}
std::string Describe(const RepairReport& r) {
  std::string s = "initial:\n" + Describe(r.initial) + "actions:\n";
  for (const auto& a : r.actions) s += a + "\n";
  return s + "final:\n" + Describe(r.final);
}

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

RepairReport Repair(BlockDevice& dev, RepairMode mode = RepairMode::kYes) {
  RepairOptions o;
  o.mode = mode;
  auto r = RepairFilesystem(dev, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : RepairReport{};
}

// The common shape: `needle` is found, -y repairs it, a fresh verify is clean.
void ExpectRepaired(BlockDevice& dev, const std::string& needle) {
  VerifyReport before = Verify(dev);
  EXPECT_TRUE(HasError(before, needle)) << Describe(before);
  RepairReport r = Repair(dev);
  EXPECT_TRUE(r.changed) << Describe(r);
  EXPECT_FALSE(r.unexpected);
  EXPECT_TRUE(r.final.clean()) << Describe(r);
  VerifyReport after = Verify(dev);
  EXPECT_TRUE(after.clean()) << Describe(after);
  EXPECT_TRUE(after.findings.empty()) << Describe(after);  // state is clean too
}

TEST(RepairTest, CleanFilesystemIsLeftUntouched) {
  auto dev = MakeTestFs();
  const auto before = dev->Snapshot();
  RepairReport r = Repair(*dev);
  EXPECT_FALSE(r.changed);
  EXPECT_FALSE(r.marked_clean);
  EXPECT_TRUE(r.actions.empty());
  EXPECT_TRUE(r.final.clean());
  EXPECT_EQ(dev->Snapshot(), before);
}

TEST(RepairTest, HelperBuiltFilesVerifyClean) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12, .extents = 3});
  fs.AddFile({.ino = 13, .extents = 7, .extent_block = true});
  VerifyReport r = Verify(*dev);
  EXPECT_TRUE(r.findings.empty()) << Describe(r);
  EXPECT_EQ(r.inodes_in_use, 4u);
}

TEST(RepairTest, LeakedBlockIsFreedInTheBitmap) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  const uint32_t leaked = static_cast<uint32_t>(fs.sb().front_end + 50);
  fs.SetBitmap(false, leaked, true);
  ExpectRepaired(*dev, "block bitmap differs");
  EXPECT_FALSE(fs.TestBitmap(false, leaked));
}

TEST(RepairTest, UsedBlockMarkedFreeIsMarkedAgain) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  std::vector<uint64_t> blocks = fs.AddFile({.ino = 12, .extents = 2});
  fs.SetBitmap(false, static_cast<uint32_t>(blocks[1]), false);
  ExpectRepaired(*dev, "block bitmap differs");
  EXPECT_TRUE(fs.TestBitmap(false, static_cast<uint32_t>(blocks[1])));
}

TEST(RepairTest, InodeBitClearedUnderANamedInodeIsSetAgain) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12});
  fs.SetBitmap(true, 12 - 1, false);
  ExpectRepaired(*dev, "the inode bitmap is wrong");
  EXPECT_TRUE(fs.TestBitmap(true, 12 - 1));
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "f12"), 12u);  // the name was kept
}

TEST(RepairTest, InodeBitSetOverANeverUsedRecordIsCleared) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.SetBitmap(true, 40 - 1, true);
  ExpectRepaired(*dev, "inode 40 is marked in use but invalid");
  EXPECT_FALSE(fs.TestBitmap(true, 40 - 1));
}

TEST(RepairTest, WrongDescriptorCountIsRecomputed) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  GroupDesc d = fs.ReadDesc();
  const uint32_t right = d.free_blocks;
  d.free_blocks -= 7;
  d.used_dirs = 9;
  fs.WriteDesc(d);
  ExpectRepaired(*dev, "group 0 descriptor: free_blocks");
  EXPECT_EQ(fs.ReadDesc().free_blocks, right);
  EXPECT_EQ(fs.ReadDesc().used_dirs, 2u);
}

TEST(RepairTest, WrongSuperblockFreeCountsAreRecomputed) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  Superblock sb = fs.ReadSb();
  const uint64_t blocks = sb.free_blocks_count, inodes = sb.free_inodes_count;
  sb.free_blocks_count += 100;
  sb.free_inodes_count -= 3;
  fs.WriteSb(sb);
  ExpectRepaired(*dev, "superblock: free_blocks_count");
  EXPECT_EQ(fs.ReadSb().free_blocks_count, blocks);
  EXPECT_EQ(fs.ReadSb().free_inodes_count, inodes);
}

TEST(RepairTest, WrongLinkCountIsSetToTheNamesCounted) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12, .nlink = 4});
  Inode lf = fs.ReadInode(kLostFoundIno);
  lf.nlink = 5;
  fs.WriteInode(lf);
  ExpectRepaired(*dev, "inode 11: link count 5, counted 2");
  EXPECT_EQ(fs.ReadInode(kLostFoundIno).nlink, 2u);
  EXPECT_EQ(fs.ReadInode(12).nlink, 1u);
}

TEST(RepairTest, EntryNamingAFreeInodeIsRemoved) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddEntry(fs.RootLeaf(), kRootIno, "ghost", 30, FileType::kRegular);
  ExpectRepaired(*dev, "names inode 30, which is not in use");
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "ghost"), 0u);
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "lost+found"), kLostFoundIno);
}

TEST(RepairTest, UnattachedLinkedInodeGoesToLostFound) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12, .extents = 2, .named = false});
  ExpectRepaired(*dev, "inode 12 is in use but unattached");
  EXPECT_EQ(fs.Lookup(fs.LostFoundLeaf(), kLostFoundIno, "#12"), 12u);
  EXPECT_EQ(fs.ReadInode(12).nlink, 1u);
}

TEST(RepairTest, UnattachedDirectoryGoesToLostFoundWithItsParentUpdated) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  // An empty directory made like mkfs's lost+found, its parent the root, unnamed.
  std::vector<uint64_t> blocks = fs.AddFile({.ino = 12, .extents = 1, .named = false});
  Inode dir = fs.ReadInode(12);
  dir.mode = 040755;
  dir.nlink = 2;
  dir.parent = kRootIno;
  fs.WriteInode(dir);
  fs.WriteLeaf(blocks[0], 12, DirLeaf{});
  fs.AdjustCounts(0, 0, 1);
  ExpectRepaired(*dev, "inode 12 is in use but unattached");
  EXPECT_EQ(fs.Lookup(fs.LostFoundLeaf(), kLostFoundIno, "#12"), 12u);
  EXPECT_EQ(fs.ReadInode(12).parent, kLostFoundIno);
  EXPECT_EQ(fs.ReadInode(kLostFoundIno).nlink, 3u);
}

TEST(RepairTest, UnattachedInodeWithNoLinksIsFreedWithItsBlocks) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  std::vector<uint64_t> blocks = fs.AddFile({.ino = 12, .extents = 2, .nlink = 0, .named = false});
  ExpectRepaired(*dev, "inode 12 is in use but unattached");
  EXPECT_FALSE(fs.TestBitmap(true, 12 - 1));
  for (uint64_t b : blocks) EXPECT_FALSE(fs.TestBitmap(false, static_cast<uint32_t>(b)));
}

TEST(RepairTest, InodeWithBadChecksumIsClearedAndItsEntryRemoved) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  std::vector<uint64_t> blocks = fs.AddFile({.ino = 12, .extents = 3});
  fs.FlipByte(fs.InodeOffset(12) + 300);  // inside the inline xattr area
  ExpectRepaired(*dev, "inode 12 is marked in use but invalid");
  EXPECT_TRUE(fs.InodeRecordZero(12));
  EXPECT_FALSE(fs.TestBitmap(true, 12 - 1));
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "f12"), 0u);
  for (uint64_t b : blocks) EXPECT_FALSE(fs.TestBitmap(false, static_cast<uint32_t>(b)));
}

TEST(RepairTest, InodeWithCorruptExtentNodeIsCleared) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  std::vector<uint64_t> blocks = fs.AddFile({.ino = 12, .extents = 6, .extent_block = true});
  fs.AddFile({.ino = 13, .extents = 2});   // an innocent neighbour
  fs.FlipByte(blocks.back() * kBs + 100);  // the extent block
  ExpectRepaired(*dev, "inode 12: extent node at block");
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "f12"), 0u);
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "f13"), 13u);
  for (uint64_t b : blocks) EXPECT_FALSE(fs.TestBitmap(false, static_cast<uint32_t>(b)));
}

TEST(RepairTest, UnlinkedOrphanIsFreed) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  std::vector<uint64_t> blocks =
      fs.AddFile({.ino = 12, .extents = 2, .nlink = 0, .flags = kInodeFlagOrphan, .named = false});
  Superblock sb = fs.ReadSb();
  sb.orphan_head = 12;
  fs.WriteSb(sb);
  // A listed orphan is legal (mount finishes it): the verifier warns; repair
  // finishes it as mount would.
  VerifyReport before = Verify(*dev);
  EXPECT_TRUE(before.clean()) << Describe(before);
  EXPECT_NE(Describe(before).find("the orphan list holds 1 inodes"), std::string::npos);
  RepairReport r = Repair(*dev, RepairMode::kPreen);
  EXPECT_TRUE(r.changed) << Describe(r);
  EXPECT_FALSE(r.unexpected) << Describe(r);
  EXPECT_TRUE(Verify(*dev).findings.empty()) << Describe(Verify(*dev));
  EXPECT_EQ(fs.ReadSb().orphan_head, 0u);
  EXPECT_TRUE(fs.InodeRecordZero(12));
  EXPECT_FALSE(fs.TestBitmap(true, 12 - 1));
  for (uint64_t b : blocks) EXPECT_FALSE(fs.TestBitmap(false, static_cast<uint32_t>(b)));
}

TEST(RepairTest, OrphanFlaggedButNotListedIsProcessed) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12, .extents = 1, .nlink = 0, .flags = kInodeFlagOrphan, .named = false});
  ExpectRepaired(*dev, "inode 12 has the ORPHAN flag but is not on the orphan list");
  EXPECT_TRUE(fs.InodeRecordZero(12));
}

TEST(RepairTest, LinkedOrphanIsTruncatedToItsSize) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  // 7 one-block extents at logical 0, 2, ..., 12 in an extent block; size 3 blocks.
  std::vector<uint64_t> blocks = fs.AddFile(
      {.ino = 12, .extents = 7, .extent_block = true, .flags = kInodeFlagOrphan, .size = 3 * kBs});
  // Orphan, but not listed: an error the orphan step fixes.
  ExpectRepaired(*dev, "ORPHAN flag but is not on the orphan list");
  Inode inode = fs.ReadInode(12);
  EXPECT_EQ(inode.flags & kInodeFlagOrphan, 0u);
  EXPECT_EQ(inode.size, 3u * kBs);
  EXPECT_EQ(inode.blocks, 2u);  // logical 0 and 2 remain, inline now
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "f12"), 12u);
  EXPECT_TRUE(fs.TestBitmap(false, static_cast<uint32_t>(blocks[0])));
  EXPECT_TRUE(fs.TestBitmap(false, static_cast<uint32_t>(blocks[1])));
  for (size_t i = 2; i < blocks.size(); ++i) {
    EXPECT_FALSE(fs.TestBitmap(false, static_cast<uint32_t>(blocks[i]))) << i;
  }
}

TEST(RepairTest, NotCleanStateIsMarkedCleanWithoutCountingAsARepair) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  Superblock sb = fs.ReadSb();
  sb.state = 0;
  fs.WriteSb(sb);
  RepairReport r = Repair(*dev);
  EXPECT_FALSE(r.changed);
  EXPECT_TRUE(r.marked_clean);
  EXPECT_EQ(fs.ReadSb().state, kStateClean);
  EXPECT_TRUE(Verify(*dev).findings.empty());
}

TEST(RepairTest, PreenFixesCountersAndBitmaps) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  Superblock sb = fs.ReadSb();
  sb.free_inodes_count += 1;
  fs.WriteSb(sb);
  fs.SetBitmap(false, static_cast<uint32_t>(fs.sb().front_end + 9), true);
  RepairReport r = Repair(*dev, RepairMode::kPreen);
  EXPECT_FALSE(r.unexpected) << Describe(r);
  EXPECT_TRUE(r.changed);
  EXPECT_TRUE(Verify(*dev).clean());
}

TEST(RepairTest, PreenRefusesAnEntryRepairAndWritesNothing) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddEntry(fs.RootLeaf(), kRootIno, "ghost", 30, FileType::kRegular);
  const auto before = dev->Snapshot();
  RepairReport r = Repair(*dev, RepairMode::kPreen);
  EXPECT_TRUE(r.unexpected);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(dev->Snapshot(), before);
}

TEST(RepairTest, DamagedPrimarySuperblockIsLeftAlone) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.FlipByte(200);
  const auto before = dev->Snapshot();
  RepairReport r = Repair(*dev);
  EXPECT_FALSE(r.changed);
  EXPECT_FALSE(r.final.clean());
  EXPECT_EQ(dev->Snapshot(), before);
}

TEST(RepairTest, CancelledBeforeTheFirstPassWritesNothing) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddEntry(fs.RootLeaf(), kRootIno, "ghost", 30, FileType::kRegular);
  const auto before = dev->Snapshot();
  RepairOptions o;
  o.cancelled = [] { return true; };
  auto r = RepairFilesystem(*dev, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cancelled);
  EXPECT_EQ(dev->Snapshot(), before);
}

TEST(RepairTest, SeveralDamagesAtOnceAreAllRepaired) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  std::vector<uint64_t> bad = fs.AddFile({.ino = 12, .extents = 5, .extent_block = true});
  fs.AddFile({.ino = 13, .extents = 2, .named = false});
  fs.AddFile({.ino = 14, .extents = 1, .nlink = 3});
  fs.AddEntry(fs.RootLeaf(), kRootIno, "ghost", 30, FileType::kRegular);
  fs.FlipByte(bad.back() * kBs + 64);
  fs.SetBitmap(false, static_cast<uint32_t>(fs.sb().front_end + 200), true);
  GroupDesc d = fs.ReadDesc();
  d.free_inodes += 2;
  fs.WriteDesc(d);
  ExpectRepaired(*dev, "inode 12");
  EXPECT_EQ(fs.Lookup(fs.LostFoundLeaf(), kLostFoundIno, "#13"), 13u);
  EXPECT_EQ(fs.ReadInode(14).nlink, 1u);
}

TEST(RepairTest, WrongFileTypeInAnEntryIsCorrected) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12, .named = false});
  fs.AddEntry(fs.RootLeaf(), kRootIno, "f12", 12, FileType::kSymlink);
  ExpectRepaired(*dev, "file type differs from the inode");
  for (const DirEntry& e : fs.ReadLeaf(fs.RootLeaf(), kRootIno).entries) {
    if (e.name == "f12") {
      EXPECT_EQ(e.type, FileType::kRegular);
    }
  }
}

TEST(RepairTest, EntryWithAWrongHashIsRemovedAndItsInodeReattached) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12, .named = false});
  DirLeaf leaf = fs.ReadLeaf(fs.RootLeaf(), kRootIno);
  leaf.entries.push_back(DirEntry{leaf.entries.back().hash + 1, 12, FileType::kRegular, "bad"});
  fs.WriteLeaf(fs.RootLeaf(), kRootIno, leaf);
  ExpectRepaired(*dev, "entry 'bad' has the wrong hash");
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "bad"), 0u);
  EXPECT_EQ(fs.Lookup(fs.LostFoundLeaf(), kLostFoundIno, "#12"), 12u);
}

TEST(RepairTest, WrongParentAndBlocksFieldsAreSet) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12, .extents = 3});
  Inode file = fs.ReadInode(12);
  file.blocks = 9;
  fs.WriteInode(file);
  Inode lf = fs.ReadInode(kLostFoundIno);
  lf.parent = 12;
  fs.WriteInode(lf);
  ExpectRepaired(*dev, "directory's parent field is 12");
  EXPECT_EQ(fs.ReadInode(12).blocks, 3u);
  EXPECT_EQ(fs.ReadInode(kLostFoundIno).parent, kRootIno);
}

TEST(RepairTest, DirectoryLeafWithOnlyABadChecksumIsResealed) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12});
  std::vector<uint8_t> leaf = fs.ReadBlock(fs.RootLeaf());
  leaf[20] ^= 0x40;  // inside the checksum field
  fs.WriteBlock(fs.RootLeaf(), leaf);
  ExpectRepaired(*dev, "salvageable");
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "f12"), 12u);
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "lost+found"), kLostFoundIno);
}

TEST(RepairTest, DestroyedRootIsRecreatedAndItsChildrenGoToLostFound) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12});
  std::vector<uint8_t> b = fs.ReadBlock(fs.InodeOffset(kRootIno) / kBs);
  std::fill_n(b.begin() + fs.InodeOffset(kRootIno) % kBs, kInodeSize, 0xAB);
  fs.WriteBlock(fs.InodeOffset(kRootIno) / kBs, b);
  ExpectRepaired(*dev, "root inode 2 is not an in-use directory");
  const Inode root = fs.ReadInode(kRootIno);
  EXPECT_EQ(root.nlink, 3u);
  ExtentNode ext = *DecodeExtentNode(root.i_block.data(), root.i_block.size());
  ASSERT_EQ(ext.extents.size(), 1u);
  EXPECT_EQ(fs.Lookup(ext.extents[0].physical, kRootIno, "lost+found"), kLostFoundIno);
  EXPECT_EQ(fs.Lookup(fs.LostFoundLeaf(), kLostFoundIno, "#12"), 12u);
}

TEST(RepairTest, DestroyedLostFoundIsRecreated) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12, .named = false});
  fs.FlipByte(fs.InodeOffset(kLostFoundIno) + 40);
  ExpectRepaired(*dev, "lost+found (inode 11) is not an in-use directory");
  const Inode lf = fs.ReadInode(kLostFoundIno);
  ExtentNode ext = *DecodeExtentNode(lf.i_block.data(), lf.i_block.size());
  ASSERT_EQ(ext.extents.size(), 1u);
  EXPECT_EQ(fs.Lookup(ext.extents[0].physical, kLostFoundIno, "#12"), 12u);
  EXPECT_EQ(fs.Lookup(fs.RootLeaf(), kRootIno, "lost+found"), kLostFoundIno);
}

// lost+found's leaf is never split: an inode that does not fit stays
// unattached, reported, and a second repair changes nothing.
TEST(RepairTest, FullLostFoundLeavesTheInodeUnattached) {
  auto dev = MakeTestFs();
  FsImage fs(*dev);
  fs.AddFile({.ino = 12, .named = false});
  fs.AddFile({.ino = 13, .named = false});
  DirLeaf leaf;
  size_t used = 0;
  for (int i = 0; used + DirEntrySize(5) <= DirLeafCapacity(kBs); ++i) {  // "x1000".. fill it
    const std::string name = "x" + std::to_string(1000 + i);
    const auto* bytes = reinterpret_cast<const uint8_t*>(name.data());
    leaf.entries.push_back(DirEntry{NameHash(fs.sb().hash_seed, std::span(bytes, name.size())), 12,
                                    FileType::kRegular, name});
    used += DirEntrySize(name.size());
  }
  std::sort(leaf.entries.begin(), leaf.entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.hash < b.hash; });
  fs.WriteLeaf(fs.LostFoundLeaf(), kLostFoundIno, leaf);
  Inode file = fs.ReadInode(12);
  file.nlink = static_cast<uint32_t>(leaf.entries.size());
  fs.WriteInode(file);
  EXPECT_TRUE(HasError(Verify(*dev), "inode 13 is in use but unattached"));
  RepairReport r = Repair(*dev);
  EXPECT_FALSE(r.final.clean());
  EXPECT_TRUE(HasError(r.final, "inode 13 is in use but unattached")) << Describe(r);
  EXPECT_EQ(r.final.errors(), 1u) << Describe(r);
  EXPECT_FALSE(Repair(*dev).changed);
}

// Random damage (byte flips, and garbage behind a valid checksum) in every
// kind of live metadata: repair never fails operationally, and it converges:
// a second repair finds nothing more to change.
TEST(RepairTest, RandomDamageIsRepairedToAFixedPoint) {
  std::mt19937_64 rng(20261124);
  int clean = 0;
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const uint32_t bs = round % 2 ? 1024 : 4096;
    auto dev = MakeTestFs(bs == 1024 ? 8ULL << 20 : 32ULL << 20, bs);
    FsImage fs(*dev);
    std::vector<uint64_t> ext = fs.AddFile({.ino = 12, .extents = 6, .extent_block = true});
    fs.AddFile({.ino = 13, .extents = 2});
    fs.AddFile({.ino = 14, .extents = 1, .nlink = 0, .flags = kInodeFlagOrphan, .named = false});
    const std::vector<uint64_t> blocks = {1,
                                          fs.sb().block_bitmap_start,
                                          fs.sb().inode_bitmap_start,
                                          fs.InodeOffset(12) / bs,
                                          fs.InodeOffset(2) / bs,
                                          fs.InodeOffset(11) / bs,
                                          fs.RootLeaf(),
                                          fs.LostFoundLeaf(),
                                          ext.back()};
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      const uint64_t b = blocks[rng() % blocks.size()];
      std::vector<uint8_t> block = fs.ReadBlock(b);
      block[32 + rng() % (bs - 32)] ^= static_cast<uint8_t>(1 + rng() % 255);
      if (rng() % 2) SealBlock(fs.seed(), block);
      fs.WriteBlock(b, block);
    }
    auto first = RepairFilesystem(*dev);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto second = RepairFilesystem(*dev);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_FALSE(second->changed) << "first:\n"
                                  << Describe(*first) << "second:\n"
                                  << Describe(*second);
    EXPECT_EQ(first->final.errors(), Verify(*dev).errors());
    if (first->final.clean()) ++clean;
  }
  std::printf("[repair] %d of %d randomly damaged images repaired to clean\n", clean, kRounds);
}

}  // namespace
}  // namespace foliofs::format
