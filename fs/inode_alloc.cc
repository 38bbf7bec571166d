// Block allocation and unwritten → written conversion for file data (I8):
// Begin(kIomapWrite) and fallocate allocate unwritten runs for holes;
// writeback completion converts them once the data I/O has completed.
#include <algorithm>

#include "fs/inode_data_internal.h"
#include "pagecache/base/log.h"

namespace foliofs::fs::inode_data {

namespace {

// map_mu held: where block `lblk`'s data should go — right after the physical
// block of lblk − 1 if that is mapped (sequential files stay contiguous), else
// the inode's group.
Result<uint64_t> GoalFor(Inode& inode, uint64_t lblk) {
  if (lblk > 0) {
    ASSIGN_OR_RETURN(ExtentLookup prev, inode.tree()->Lookup(lblk - 1));
    if (prev.extent) return prev.extent->physical + (lblk - 1 - prev.extent->logical) + 1;
  }
  return inode.fs().alloc->GoalForInode(inode.ino());
}

// map_mu held (shared): the first hole block in [from, last), or last.
Result<uint64_t> NextHole(Inode& inode, uint64_t from, uint64_t last) {
  while (from < last) {
    ASSIGN_OR_RETURN(ExtentLookup found, inode.tree()->Lookup(from));
    if (!found.extent) return from;
    from = found.extent->logical + found.extent->length;
  }
  return last;
}

// map_mu held: the first unwritten block in [from, last), or last.
Result<uint64_t> NextUnwritten(Inode& inode, uint64_t from, uint64_t last) {
  uint64_t next = last;
  RETURN_IF_ERROR(inode.tree()->ForEach(from, last, [&](const Extent& e) {
    if (!e.unwritten) return true;
    next = std::max(e.logical, from);
    return false;
  }));
  return next;
}

}  // namespace

Result<Iomap> AllocateAt(Inode& inode, TreeChange& tc, uint64_t lblk, uint64_t limit_blk) {
  FsContext& fs = inode.fs();
  ExtentTree* tree = inode.tree();
  const uint64_t bs = fs.block_size;
  limit_blk = std::min<uint64_t>(std::max(limit_blk, lblk + 1), format::kMaxLogicalBlocks);
  if (lblk >= limit_blk) return Status::Error(EFBIG, "block beyond the largest file");
  ASSIGN_OR_RETURN(ExtentLookup found, tree->Lookup(lblk));
  if (found.extent) return LookupIomap(inode, lblk * bs, limit_blk * bs);

  uint64_t want = std::min(found.next_mapped, limit_blk) - lblk;
  want = std::min<uint64_t>(want, format::kMaxExtentLength);
  ASSIGN_OR_RETURN(uint64_t goal, GoalFor(inode, lblk));
  ASSIGN_OR_RETURN(BlockRun run,
                   fs.alloc->AllocBlocks(*tc.handle, goal, 1, want, AllocKind::kData));
  const Extent e{lblk, run.start, static_cast<uint32_t>(run.length), /*unwritten=*/true};
  Status st = tree->Insert(*tc.handle, e);
  if (!st.ok()) {
    // The tree is unchanged: give the run back in the same handle.
    Status undo = fs.alloc->FreeBlocks(*tc.handle, run.start, run.length, AllocKind::kData);
    if (!undo.ok()) {
      GetLogger("fs")->error("inode {}: leaking blocks {}+{} after a failed insert: {}",
                             inode.ino(), run.start, run.length, undo.ToString());
    }
    return st;
  }
  RETURN_IF_ERROR(CommitTreeChange(inode, tc, static_cast<int64_t>(run.length)));
  Iomap map;
  map.offset = lblk * bs;
  map.length = run.length * bs;
  map.addr = run.start * bs;
  map.type = IomapType::kUnwritten;
  map.flags = kIomapFlagNew;
  map.seq = inode.seq();
  return map;
}

Result<Iomap> AllocateHole(Inode& inode, uint64_t lblk, uint64_t limit_blk, const char* what) {
  FsContext& fs = inode.fs();
  // Like ext4_should_retry_alloc: blocks freed by transactions that have not
  // committed yet are not allocatable; commit them (no handle is held here)
  // and try again before reporting ENOSPC.
  constexpr int kRetries = 3;
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(
        TreeChange tc,
        StartTreeChange(inode, 1, kAllocCredits + kAllocUndoCredits + kInodeCredits, what));
    Result<Iomap> map = AllocateAt(inode, tc, lblk, limit_blk);
    Status st = FinishTreeChange(tc, map.status());
    if (st.ok()) return map;
    if (st.err() != ENOSPC || attempt >= kRetries || fs.alloc->pending_free_blocks() == 0) {
      return st;
    }
    RETURN_IF_ERROR(fs.journal->ForceCommit(fs.journal->current_tid()));
  }
}

Status AllocateRange(Inode& inode, uint64_t first, uint64_t last) {
  const uint64_t bs = inode.fs().block_size;
  uint64_t pos = first;
  while (pos < last) {
    {
      // Skip what is mapped without a handle.
      std::shared_lock<std::shared_mutex> lock(inode.map_mu);
      ASSIGN_OR_RETURN(pos, NextHole(inode, pos, last));
    }
    if (pos >= last) break;
    ASSIGN_OR_RETURN(Iomap map, AllocateHole(inode, pos, last, "fallocate"));
    pos = map.end() / bs;
  }
  return Status::Ok();
}

Status ConvertToWritten(Inode& inode, uint64_t first, uint64_t last) {
  // One handle converts the leaves its credits cover (SetUnwritten fails with
  // ENOSPC before a further leaf, earlier ones converted); the next handle
  // continues at the first block still unwritten. No progress is an error.
  constexpr int kLeavesPerHandle = 4;
  while (first < last) {
    ASSIGN_OR_RETURN(TreeChange tc,
                     StartTreeChange(inode, kLeavesPerHandle, kInodeCredits, "end_writeback"));
    // SetUnwritten spends credits down to below one change's bound: join the
    // inode record first so the final WriteRecord needs no credit of its own.
    Status st = inode.WriteRecord(*tc.handle);
    if (st.ok()) st = inode.tree()->SetUnwritten(*tc.handle, first, last, false);
    Status commit = CommitTreeChange(inode, tc, 0);
    Result<uint64_t> next = last;
    if (st.err() == ENOSPC) next = NextUnwritten(inode, first, last);
    if (st.ok()) st = commit;
    if (st.err() == ENOSPC && next.ok() && *next > first && commit.ok()) {
      RETURN_IF_ERROR(FinishTreeChange(tc, Status::Ok()));
      first = *next;
      continue;
    }
    return FinishTreeChange(tc, st);
  }
  return Status::Ok();
}

}  // namespace foliofs::fs::inode_data
