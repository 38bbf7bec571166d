// Repair steps on inodes: clearing damaged ones, bitmap bits of named ones,
// parent and blocks fields, the orphan list (free or truncate), link counts.
#include <sys/stat.h>

#include <algorithm>
#include <unordered_set>

#include "fs/format/repair_internal.h"

namespace foliofs::format::repair_internal {

namespace {
std::string Ino(uint64_t ino) { return "inode " + std::to_string(ino); }
}  // namespace

// Zeroes the record and clears the bit. The inode's blocks are no longer
// reached, so the next bitmap rebuild frees them; entries naming it are
// removed by the next pass.
Status Repairer::FreeInode(uint64_t ino, const std::string& why) {
  RETURN_IF_ERROR(ZeroInode(ino));
  RETURN_IF_ERROR(SetInodeBit(ino, false));
  Action(Ino(ino) + ": " + why);
  return Status::Ok();
}

Result<bool> Repairer::ClearBadInodes() {
  for (uint64_t ino : checker_->bad_inodes_) {
    RETURN_IF_ERROR(FreeInode(ino, "damaged, cleared"));
  }
  return !checker_->bad_inodes_.empty();
}

Result<bool> Repairer::MarkNamedInodes() {
  for (uint64_t ino : checker_->mark_inodes_) {
    RETURN_IF_ERROR(SetInodeBit(ino, true));
    Action(Ino(ino) + ": named and valid, marked in use in the inode bitmap");
  }
  return !checker_->mark_inodes_.empty();
}

// Parent fields of directories and blocks fields, as the verifier counted them.
Result<bool> Repairer::FixInodeFields() {
  bool changed = false;
  for (const auto& [ino, parent] : checker_->parent_fixes_) {
    ASSIGN_OR_RETURN(Inode inode, ReadInode(ino));
    inode.parent = parent;
    RETURN_IF_ERROR(WriteInode(inode));
    Action(Ino(ino) + ": parent set to " + std::to_string(parent));
    changed = true;
  }
  for (const auto& [ino, blocks] : checker_->blocks_fixes_) {
    ASSIGN_OR_RETURN(Inode inode, ReadInode(ino));
    inode.blocks = blocks;
    RETURN_IF_ERROR(WriteInode(inode));
    Action(Ino(ino) + ": blocks set to " + std::to_string(blocks));
    changed = true;
  }
  return changed;
}

// Every inode the list reaches (up to a free inode or a cycle) and every
// flagged one, then an empty list. Mount would do the same (FORMAT.md §11).
Result<bool> Repairer::ProcessOrphans() {
  const Checker& c = *checker_;
  std::vector<uint64_t> todo;
  std::unordered_set<uint64_t> seen;
  for (uint64_t cur = c.sb_.orphan_head; cur != 0 && c.InodeInUse(cur);) {
    if (!seen.insert(cur).second) break;
    todo.push_back(cur);
    cur = c.inodes_.at(cur).orphan_next;
  }
  for (const auto& [ino, info] : c.inodes_) {
    if ((info.flags & kInodeFlagOrphan) && !seen.count(ino)) todo.push_back(ino);
  }
  if (todo.empty() && c.sb_.orphan_head == 0) return false;
  for (uint64_t ino : todo) RETURN_IF_ERROR(FinishOrphan(ino));
  Superblock sb = c.sb_;
  sb.orphan_head = 0;
  RETURN_IF_ERROR(WriteSuperblock(sb));
  Action("orphan list emptied (" + std::to_string(todo.size()) + " inodes processed)");
  return true;
}

// An unlinked orphan (nlink 0, no name) is freed; any other is truncated to
// its size and taken off the list.
Status Repairer::FinishOrphan(uint64_t ino) {
  const auto& info = checker_->inodes_.at(ino);
  const bool special = ino == checker_->sb_.root_ino || ino == checker_->sb_.lost_found_ino;
  if (info.nlink == 0 && info.refs == 0 && !special) {
    return FreeInode(ino, "unlinked orphan, freed");
  }
  ASSIGN_OR_RETURN(Inode inode, ReadInode(ino));
  if ((S_ISREG(inode.mode) || S_ISLNK(inode.mode)) && !(inode.flags & kInodeFlagInlineData)) {
    RETURN_IF_ERROR(TruncateToSize(&inode));
  }
  inode.flags &= ~kInodeFlagOrphan;
  inode.orphan_next = 0;
  RETURN_IF_ERROR(WriteInode(inode));
  Action(Ino(ino) + ": orphan truncated to its size and taken off the list");
  return Status::Ok();
}

// nlink := names counted (files) or 2 + subdirectories (directories). Inodes
// without a name are the orphan and unattached steps' business.
Result<bool> Repairer::FixLinkCounts() {
  const Checker& c = *checker_;
  bool changed = false;
  for (const auto& [ino, info] : c.inodes_) {
    const bool dir = S_ISDIR(info.mode);
    const bool orphan = (info.flags & kInodeFlagOrphan) != 0;
    if (info.refs == 0 && ino != c.sb_.root_ino) continue;
    const uint32_t expect = dir ? 2 + info.subdirs : info.refs;
    if (info.nlink == expect || (orphan && info.nlink == 0)) continue;
    ASSIGN_OR_RETURN(Inode inode, ReadInode(ino));
    inode.nlink = expect;
    RETURN_IF_ERROR(WriteInode(inode));
    Action(Ino(ino) + ": link count " + std::to_string(info.nlink) + " set to " +
           std::to_string(expect));
    changed = true;
  }
  return changed;
}

}  // namespace foliofs::format::repair_internal
