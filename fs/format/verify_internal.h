// Internal to fs/format: the state shared by the verifier passes.
//
// VerifyFilesystem runs the passes in order: superblock and geometry, backups,
// group descriptors, bitmaps, inode tables (with each inode's extent tree and
// xattrs), directories and link counts, the orphan list, and finally the
// comparison of the bitmaps against the blocks and inodes actually reached.
// Every pass reports corruption as a Finding and keeps going; only device
// I/O errors abort (as a Status).
//
// Besides the findings, a Checker records what a repair needs (repair.cc):
// the kind of every error (Problem) and the precise objects to fix (inodes to
// clear, directory entries to drop or retype, fields to set). The verifier
// itself never acts on them.
//
// Thread safety: a Checker is used by one thread.
#pragma once

#include <cstdint>
#include <map>
#include <set>
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

// What a repair would have to do about one error. Preen (fsck -p) fixes only
// the kinds PreenSafe() accepts; -y fixes all but kOther.
enum class Problem : uint8_t {
  kOther,        // no automatic repair (superblock, backups, journal, shared blocks, ...)
  kCounters,     // descriptor and superblock free counts, used_dirs, GDT checksum
  kDescriptor,   // descriptor locations (rewritten from the layout)
  kBlockBitmap,  // block bitmap vs blocks reached, padding, bitmap block checksum
  kInodeBitmap,  // inode bitmap vs in-use records, padding, bitmap block checksum
  kLinkCount,    // nlink vs names counted
  kOrphanList,   // the orphan list and ORPHAN flags
  kUnattached,   // in use without a name: reattach to lost+found or free
  kBadEntry,     // an entry to remove (free/damaged target, wrong hash or leaf, extra name)
  kEntryType,    // an entry's dtype differs from its inode
  kParent,       // a directory's parent field
  kBadInode,     // damaged record, extent tree or directory tree: clear the inode
  kRebuildDir,   // the root or lost+found is damaged: recreate it empty
  kSalvageBlock, // a directory block valid but for its checksum: reseal it
  kInodeBlocks,  // an inode's blocks field
};
inline bool PreenSafe(Problem p) {
  return p == Problem::kCounters || p == Problem::kBlockBitmap ||
         p == Problem::kInodeBitmap || p == Problem::kLinkCount || p == Problem::kOrphanList;
}

// A directory entry a repair must rewrite: the leaf holding it and the entry.
struct EntryFix {
  uint64_t dir = 0;
  uint64_t leaf_block = 0;  // physical block of the leaf
  DirEntry entry;
  bool remove = true;                   // else: set the dtype to `type`
  FileType type = FileType::kUnknown;
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
  void CheckDirEntry(uint64_t dir_ino, InodeInfo& dir, uint64_t leaf_block, const DirEntry& e);
  void DropEntry(uint64_t dir_ino, uint64_t leaf_block, const DirEntry& e, std::string message);
  void CheckLinkCounts();
  void CheckOrphanList();

  // Helpers.
  void Error(std::string message, Problem kind = Problem::kOther);
  void Warn(std::string message);
  // Reads `count` blocks from `first` (bounds-checked against the filesystem).
  Result<AlignedBuffer> ReadBlocks(uint64_t first, uint64_t count);
  // Marks [first, first+count) in use by `what`; reports out-of-range or
  // multiply-claimed blocks. Returns false if any block was bad.
  // `owner_ino` (0 for metadata) is the inode to clear when the range is out of bounds.
  bool MarkBlocks(uint64_t first, uint64_t count, const std::string& what,
                  uint64_t owner_ino = 0);
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

  // Facts for repair (see the header comment). Filled whatever the options.
  std::vector<Problem> problems_;         // the kind of every error, even past max_findings
  std::set<uint64_t> bad_inodes_;         // marked in use but damaged: clear them
  std::set<uint64_t> unmarked_valid_;     // bit clear, record valid with nlink > 0
  std::set<uint64_t> mark_inodes_;        // of those, the ones an entry names: set the bit
  std::vector<EntryFix> entry_fixes_;
  std::map<uint64_t, uint64_t> parent_fixes_;  // directory -> the directory naming it
  std::map<uint64_t, uint64_t> blocks_fixes_;  // inode -> blocks counted
  std::set<uint64_t> rebuild_dirs_;       // the root and/or lost+found, to recreate
  std::vector<std::pair<uint64_t, uint64_t>> salvage_blocks_;  // (block, directory) to reseal
  // Reports damage to an inode's record or extent tree: the inode is to be
  // cleared; the root and lost+found, which repair needs, are to be recreated.
  void InodeError(uint64_t ino, std::string message);
  // Reports damage to a directory's own structure; as InodeError (a cleared
  // directory's children then reattach to lost+found).
  void DirError(uint64_t dir_ino, std::string message);
  // A directory block that fails its check: when a copy with the checksum
  // recomputed decodes, reports it as salvageable, replaces `buf` with that
  // copy and returns true.
  bool SalvageDirBlock(uint64_t dir_ino, uint64_t block, const Status& why, AlignedBuffer& buf);
};

}  // namespace foliofs::format::verify_internal
