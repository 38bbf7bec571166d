// Internal to fs/format: the repair passes behind RepairFilesystem (repair.h).
//
// A Repairer alternates a full verification (a fresh verify_internal::Checker,
// whose facts say what to fix) with one step of fixes, in a fixed order, so a
// step always sees the filesystem the previous one left:
//   1. clear damaged inodes; recreate a damaged root or lost+found (empty);
//      mark named-but-unmarked inodes in use
//   2. reseal salvageable directory blocks; entries (remove / retype),
//      parent fields, blocks fields
//   3. the orphan list
//   4. unattached inodes (lost+found or free)
//   5. link counts, bitmaps, descriptors, superblock counters
// A step that changed something ends the pass (flush, verify again). Every
// write is a whole block, re-sealed, written directly; the flush at the end of
// a pass is the durability point (fsck runs offline, after journal recovery).
//
// Thread safety: one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fs/format/repair.h"
#include "fs/format/verify_internal.h"

namespace foliofs::format::repair_internal {

using verify_internal::Checker;

class Repairer {
 public:
  Repairer(BlockDevice& dev, const RepairOptions& options, RepairReport* report)
      : dev_(dev), options_(options), report_(report) {}
  Status Run();

 private:
  Result<VerifyReport> Verify();
  bool Cancelled() const { return options_.cancelled && options_.cancelled(); }
  bool HasUnexpected() const;
  bool NeedsWork() const;  // preen: an error preen may not fix
  Result<bool> FixOnePass();
  Status MarkClean();

  // repair_inodes.cc
  Result<bool> ClearBadInodes();
  Result<bool> MarkNamedInodes();
  Result<bool> FixInodeFields();
  Result<bool> ProcessOrphans();
  Status FinishOrphan(uint64_t ino);
  Status TruncateToSize(Inode* inode);
  Result<bool> FixLinkCounts();
  Status FreeInode(uint64_t ino, const std::string& why);
  // repair_dirs.cc
  Result<bool> FixEntries();
  Result<bool> ResealDirBlocks();
  Result<bool> RebuildSpecialDirs();
  Result<uint64_t> AllocateBlock();
  Result<bool> ReattachUnattached();
  Result<bool> LinkIntoLostFound(uint64_t ino, const Inode& inode);
  Result<uint64_t> FindLeafFor(uint64_t dir_ino, uint64_t hash);
  // repair.cc: bitmaps and counters.
  Result<bool> RewriteBitmaps();
  Result<bool> RewriteDescriptors();
  Status WriteSuperblock(const Superblock& sb);

  // Block and inode I/O (repair.cc).
  Result<AlignedBuffer> ReadBlock(uint64_t blocknr);
  Status WriteBlock(uint64_t blocknr, const AlignedBuffer& buf);
  // The fs block holding inode `ino`'s record and the record's offset in it.
  std::pair<uint64_t, size_t> InodeLocation(uint64_t ino) const;
  Result<Inode> ReadInode(uint64_t ino);
  Status WriteInode(const Inode& inode);
  Status ZeroInode(uint64_t ino);
  Status SetInodeBit(uint64_t ino, bool used);
  void Action(std::string what);

  BlockDevice& dev_;
  const RepairOptions options_;
  RepairReport* report_;
  std::unique_ptr<Checker> checker_;  // the last verification's state
  VerifyReport last_;                 // its report
};

}  // namespace foliofs::format::repair_internal
