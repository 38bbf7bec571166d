// Internal to fs/format: the state shared by the verifier passes.
//
// VerifyFilesystem runs the passes in order: superblock and geometry, backups,
// group descriptors, bitmaps, inode tables (with each inode's extent tree and
// xattrs), directories and link counts, the orphan list, and finally the
// comparison of the bitmaps against the blocks and inodes actually reached.
// Every pass reports corruption as a Finding and keeps going; only device
// I/O errors abort (as a Status).
//
// Thread safety: a Checker is used by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/format/format.h"

namespace foliofs::format::verify_internal {

struct InodeInfo {
  uint16_t mode = 0;
  uint32_t nlink = 0;
  uint32_t flags = 0;
  uint64_t parent = 0;
  uint64_t size = 0;
  uint64_t orphan_next = 0;
  uint32_t refs = 0;     // directory entries naming this inode
  uint32_t subdirs = 0;  // directories: entries that are directories
  std::map<uint64_t, Extent> extents;  // directories only: logical -> extent
};

// A directory leaf reached by the tree walk: its logical block and next_leaf.
struct LeafLink {
  uint32_t lblk = 0;
  uint32_t next = 0;
};

class Checker {
 public:
  Checker(BlockDevice& dev, const VerifyOptions& options, VerifyReport* report)
      : dev_(dev), options_(options), report_(report) {}

  Status Run();

  // Passes (verify.cc).
  Status CheckSuperblock(bool* usable);
  Status CheckBackups();
  Result<uint64_t> FindTailBackup();  // byte offset of a valid tail copy, or 0
  bool BackupDescsAgree(const AlignedBuffer& copy);
  Status CheckGroupDescriptors();
  Status CheckBitmapBlocks();
  void CompareBlockBitmaps();
  void CompareInodeBitmaps();
  Status CheckJournalRegion();
  // Passes (verify_inodes.cc).
  Status CheckInodeTables();
  Status CheckInodeSlot(uint32_t group, uint32_t slot, const uint8_t* record);
  Status CheckExtentTree(uint64_t ino, const Inode& inode, InodeInfo* info, uint64_t* nblocks);
  Status CheckExtentNode(uint64_t ino, const ExtentNode& node, int expect_depth,
                         uint64_t lo, uint64_t hi, InodeInfo* info, uint64_t* nblocks);
  Status CheckXattrs(uint64_t ino, const Inode& inode, uint64_t* nblocks);
  // Passes (verify_dirs.cc).
  Status CheckDirectories();
  Status CheckDirectory(uint64_t ino, InodeInfo& dir);
  Status CheckDirNode(uint64_t ino, InodeInfo& dir, uint32_t lblk, int expect_depth,
                      uint64_t lo, uint64_t hi, std::vector<LeafLink>* leaves,
                      std::vector<bool>* seen);
  Result<uint64_t> DirBlock(uint64_t ino, const InodeInfo& dir, uint32_t lblk);
  void CheckDirEntry(uint64_t dir_ino, InodeInfo& dir, const DirEntry& e);
  void CheckLinkCounts();
  void CheckOrphanList();

  // Helpers.
  void Error(std::string message);
  void Warn(std::string message);
  // Reads `count` blocks from `first` (bounds-checked against the filesystem).
  Result<AlignedBuffer> ReadBlocks(uint64_t first, uint64_t count);
  // Marks [first, first+count) in use by `what`; reports out-of-range or
  // multiply-claimed blocks. Returns false if any block was bad.
  bool MarkBlocks(uint64_t first, uint64_t count, const std::string& what);
  bool InodeInUse(uint64_t ino) const { return inodes_.count(ino) != 0; }
  std::span<const uint8_t> Block(const AlignedBuffer& buf, uint64_t i) const {
    return std::span<const uint8_t>(buf.get() + i * block_size_, block_size_);
  }

  BlockDevice& dev_;
  const VerifyOptions options_;
  VerifyReport* report_;
  Superblock sb_;
  Layout layout_;
  uint32_t block_size_ = 0;
  uint32_t seed_ = 0;
  std::vector<GroupDesc> descs_;
  AlignedBuffer block_bitmaps_;   // group_count blocks
  AlignedBuffer inode_bitmaps_;   // group_count blocks
  std::vector<bool> bitmaps_ok_;  // per group: both bitmap blocks verified
  std::vector<bool> block_used_;  // computed usage, one bit per block
  std::unordered_map<uint64_t, InodeInfo> inodes_;  // in-use inodes
  uint64_t lost_found_seen_ = 0;  // inode named "lost+found" in the root
};

}  // namespace foliofs::format::verify_internal
