// The orphan list (FORMAT.md §11; fs_context.h): inodes unlinked while still
// in use, or being truncated, chained from the superblock through
// orphan_next. Pushes at the head; removal rewrites the predecessor.
#include <algorithm>

#include "fs/fs_context.h"
#include "fs/inode.h"
#include "fs/inode_cache.h"

namespace foliofs::fs {

Status FsContext::OrphanAdd(journal::Handle& handle, Inode& inode) {
  std::lock_guard<std::mutex> lock(orphan_mu);
  {
    std::lock_guard<std::mutex> meta(inode.meta_mu);
    if ((inode.rec().flags & format::kInodeFlagOrphan) != 0) return Status::Ok();
    inode.rec().flags |= format::kInodeFlagOrphan;
    inode.rec().orphan_next = orphans.empty() ? 0 : orphans.front();
  }
  RETURN_IF_ERROR(inode.WriteRecord(handle));
  {
    std::lock_guard<std::mutex> sblock(sb_mu);
    sb.orphan_head = inode.ino();
    RETURN_IF_ERROR(WriteSuperblockLocked(handle));
  }
  orphans.push_front(inode.ino());
  return Status::Ok();
}

Status FsContext::OrphanRemove(journal::Handle& handle, Inode& inode) {
  std::lock_guard<std::mutex> lock(orphan_mu);
  uint64_t next = 0;
  {
    std::lock_guard<std::mutex> meta(inode.meta_mu);
    if ((inode.rec().flags & format::kInodeFlagOrphan) == 0) return Status::Ok();
    next = inode.rec().orphan_next;
  }
  auto it = std::find(orphans.begin(), orphans.end(), inode.ino());
  if (it == orphans.begin() || it == orphans.end()) {
    std::lock_guard<std::mutex> sblock(sb_mu);
    sb.orphan_head = next;
    RETURN_IF_ERROR(WriteSuperblockLocked(handle));
  } else {
    ASSIGN_OR_RETURN(std::shared_ptr<Inode> pred, icache->Get(*std::prev(it)));
    {
      std::lock_guard<std::mutex> meta(pred->meta_mu);
      pred->rec().orphan_next = next;
    }
    RETURN_IF_ERROR(pred->WriteRecord(handle));
  }
  {
    std::lock_guard<std::mutex> meta(inode.meta_mu);
    inode.rec().flags &= ~format::kInodeFlagOrphan;
    inode.rec().orphan_next = 0;
  }
  RETURN_IF_ERROR(inode.WriteRecord(handle));
  if (it != orphans.end()) orphans.erase(it);
  return Status::Ok();
}

}  // namespace foliofs::fs
