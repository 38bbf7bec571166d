// Test helpers for fsck repair: build the metadata mkfs does not (files with
// extent trees, orphans) straight from the format codecs, and damage it.
//
// FsImage works on any BlockDevice holding a filesystem made by MakeFilesystem
// with one group's worth of blocks (the test sizes); it allocates data blocks
// upwards from front_end + 2 (after mkfs's two directory leaves) and keeps the
// bitmaps, descriptor and superblock counts right, so a helper-built file
// verifies clean until a test damages it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fs/format/format.h"

namespace foliofs::format::testing {

class FsImage {
 public:
  explicit FsImage(BlockDevice& dev) : dev_(dev) {
    auto sb = ReadSuperblock(dev);
    EXPECT_TRUE(sb.ok()) << sb.status().ToString();
    sb_ = *sb;
    bs_ = sb_.block_size();
    next_free_ = sb_.front_end + 2;
  }

  const Superblock& sb() const { return sb_; }
  uint32_t bs() const { return bs_; }
  uint32_t seed() const { return sb_.checksum_seed; }

  std::vector<uint8_t> ReadBlock(uint64_t b) {
    AlignedBuffer buf = AllocateAligned(bs_, 4096);
    EXPECT_TRUE(dev_.Read(b * bs_, buf.get(), bs_).ok());
    return std::vector<uint8_t>(buf.get(), buf.get() + bs_);
  }
  void WriteBlock(uint64_t b, const std::vector<uint8_t>& data) {
    AlignedBuffer buf = AllocateAligned(bs_, 4096);
    std::memcpy(buf.get(), data.data(), bs_);
    EXPECT_TRUE(dev_.Write(b * bs_, buf.get(), bs_).ok());
  }
  void FlipByte(uint64_t offset, uint8_t mask = 0x01) {
    std::vector<uint8_t> b = ReadBlock(offset / bs_);
    b[offset % bs_] ^= mask;
    WriteBlock(offset / bs_, b);
  }

  // ---- Inodes (group 0 only) ----
  uint64_t InodeOffset(uint64_t ino) const {
    return sb_.inode_table_start * bs_ + (ino - 1) * kInodeSize;
  }
  Inode ReadInode(uint64_t ino) {
    std::vector<uint8_t> b = ReadBlock(InodeOffset(ino) / bs_);
    auto inode = Inode::Decode(b.data() + InodeOffset(ino) % bs_, seed(), ino);
    EXPECT_TRUE(inode.ok()) << inode.status().ToString();
    return inode.ok() ? *inode : Inode{};
  }
  bool InodeRecordZero(uint64_t ino) {
    std::vector<uint8_t> b = ReadBlock(InodeOffset(ino) / bs_);
    return InodeRecordIsZero(b.data() + InodeOffset(ino) % bs_);
  }
  void WriteInode(const Inode& inode) {
    std::vector<uint8_t> b = ReadBlock(InodeOffset(inode.ino) / bs_);
    inode.Encode(seed(), b.data() + InodeOffset(inode.ino) % bs_);
    WriteBlock(InodeOffset(inode.ino) / bs_, b);
  }

  // ---- Bitmaps (group 0), resealed ----
  bool TestBitmap(bool inode_map, uint32_t bit) {
    std::vector<uint8_t> b = ReadBlock(inode_map ? sb_.inode_bitmap_start : sb_.block_bitmap_start);
    return TestBit(b, bit);
  }
  void SetBitmap(bool inode_map, uint32_t bit, bool value) {
    const uint64_t at = inode_map ? sb_.inode_bitmap_start : sb_.block_bitmap_start;
    std::vector<uint8_t> b = ReadBlock(at);
    b[kBlockHeaderSize + bit / 8] &= static_cast<uint8_t>(~(1U << (bit % 8)));
    if (value) SetBit(b, bit);
    SealBlock(seed(), b);
    WriteBlock(at, b);
  }

  // ---- Counters ----
  GroupDesc ReadDesc() {
    std::vector<uint8_t> b = ReadBlock(1);
    return GroupDesc::Decode(b.data() + kBlockHeaderSize);
  }
  void WriteDesc(const GroupDesc& d) {
    std::vector<uint8_t> b = ReadBlock(1);
    d.Encode(b.data() + kBlockHeaderSize);
    SealBlock(seed(), b);
    WriteBlock(1, b);
  }
  Superblock ReadSb() {
    auto sb = ReadSuperblock(dev_);
    EXPECT_TRUE(sb.ok()) << sb.status().ToString();
    return sb.ok() ? *sb : Superblock{};
  }
  void WriteSb(const Superblock& sb) {
    std::vector<uint8_t> b = ReadBlock(0);
    sb.Encode(b.data());
    WriteBlock(0, b);
    sb_ = sb;
  }
  // Adds (negative: removes) used blocks, used inodes and directories.
  void AdjustCounts(int64_t blocks, int64_t inodes, int64_t dirs) {
    GroupDesc d = ReadDesc();
    d.free_blocks = static_cast<uint32_t>(d.free_blocks - blocks);
    d.free_inodes = static_cast<uint32_t>(d.free_inodes - inodes);
    d.used_dirs = static_cast<uint32_t>(d.used_dirs + dirs);
    WriteDesc(d);
    Superblock sb = ReadSb();
    sb.free_blocks_count -= blocks;
    sb.free_inodes_count -= inodes;
    WriteSb(sb);
  }

  // ---- Directories (single-leaf ones, as mkfs makes them) ----
  uint64_t RootLeaf() const { return sb_.front_end; }
  uint64_t LostFoundLeaf() const { return sb_.front_end + 1; }
  DirLeaf ReadLeaf(uint64_t at, uint64_t dir) {
    std::vector<uint8_t> b = ReadBlock(at);
    auto leaf = DecodeDirLeaf(b, at, dir, seed());
    EXPECT_TRUE(leaf.ok()) << leaf.status().ToString();
    return leaf.ok() ? *leaf : DirLeaf{};
  }
  void WriteLeaf(uint64_t at, uint64_t dir, const DirLeaf& leaf) {
    std::vector<uint8_t> b(bs_);
    ASSERT_TRUE(EncodeDirLeaf(leaf, at, dir, seed(), b).ok());
    WriteBlock(at, b);
  }
  void AddEntry(uint64_t at, uint64_t dir, const std::string& name, uint64_t ino, FileType type) {
    DirLeaf leaf = ReadLeaf(at, dir);
    DirEntry e;
    e.name = name;
    e.hash = NameHash(
        sb_.hash_seed,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
    e.ino = ino;
    e.type = type;
    leaf.entries.push_back(e);
    std::sort(leaf.entries.begin(), leaf.entries.end(), [](const DirEntry& a, const DirEntry& b) {
      return a.hash != b.hash ? a.hash < b.hash : a.name < b.name;
    });
    WriteLeaf(at, dir, leaf);
  }
  // The inode a directory entry `name` names, or 0.
  uint64_t Lookup(uint64_t at, uint64_t dir, const std::string& name) {
    for (const DirEntry& e : ReadLeaf(at, dir).entries) {
      if (e.name == name) return e.ino;
    }
    return 0;
  }

  // ---- Files ----
  struct FileSpec {
    uint64_t ino = 0;
    int extents = 1;            // one-block extents, one free block apart
    bool extent_block = false;  // depth-1 tree with one extent block (else inline, <= 4)
    uint32_t nlink = 1;
    uint32_t flags = 0;
    uint64_t size = 0;  // default: extents * block size
    bool named = true;  // an entry "f<ino>" in the root
  };
  // Writes a regular file that verifies clean (bitmaps and counts included).
  // Returns the blocks it uses (data, then the extent block if any).
  std::vector<uint64_t> AddFile(const FileSpec& spec) {
    Inode inode;
    inode.ino = spec.ino;
    inode.mode = 0100644;
    inode.nlink = spec.nlink;
    inode.flags = spec.flags;
    inode.size = spec.size ? spec.size : uint64_t(spec.extents) * bs_;
    ExtentNode leaf;
    std::vector<uint64_t> used;
    for (int i = 0; i < spec.extents; ++i) {
      const uint64_t b = next_free_;
      next_free_ += 2;
      leaf.extents.push_back(Extent{uint64_t(i) * 2, b, 1, false});
      used.push_back(b);
    }
    ExtentNode root;
    root.header.max = kInodeExtentRootMax;
    if (spec.extent_block) {
      const uint64_t node_at = next_free_++;
      leaf.header.max = ExtentBlockMax(bs_);
      std::vector<uint8_t> b(bs_);
      EXPECT_TRUE(EncodeExtentBlock(leaf, node_at, spec.ino, seed(), b).ok());
      WriteBlock(node_at, b);
      root.header.depth = 1;
      root.indexes.push_back(ExtentIndex{0, node_at});
      used.push_back(node_at);
    } else {
      root.extents = leaf.extents;
    }
    EXPECT_TRUE(EncodeExtentNode(root, inode.i_block.data(), inode.i_block.size()).ok());
    inode.blocks = used.size();
    WriteInode(inode);
    SetBitmap(true, static_cast<uint32_t>(spec.ino - 1), true);
    for (uint64_t b : used) SetBitmap(false, static_cast<uint32_t>(b), true);
    AdjustCounts(static_cast<int64_t>(used.size()), 1, 0);
    if (spec.named) AddEntry(RootLeaf(), kRootIno, Name(spec.ino), spec.ino, FileType::kRegular);
    return used;
  }
  static std::string Name(uint64_t ino) { return "f" + std::to_string(ino); }

 private:
  BlockDevice& dev_;
  Superblock sb_;
  uint32_t bs_ = 0;
  uint64_t next_free_ = 0;
};

}  // namespace foliofs::format::testing
