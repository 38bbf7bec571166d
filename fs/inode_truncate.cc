// Truncate (XFS order, I6) and the block-freeing loop shared with the deletion
// of unlinked inodes. A truncate that frees blocks keeps the inode on the
// orphan list (FORMAT.md §11) from the handle that sets the new size until
// the last block is freed, so mount finishes it after a crash.
#include <algorithm>
#include <string>
#include <vector>

#include "fs/inode.h"
#include "fs/inode_data_internal.h"
#include "pagecache/base/log.h"

namespace foliofs::fs {

using inode_data::CommitTreeChange;
using inode_data::DivRoundUp;
using inode_data::FinishTreeChange;
using inode_data::HasBlocksFrom;
using inode_data::MaxFileBytes;
using inode_data::RoundUp;
using inode_data::StartTreeChange;
using inode_data::TreeChange;
using inode_data::UpdateRecord;

namespace {

// Slack for frees of runs that cross a group boundary.
constexpr int kFreeSlack = 8;

// Records per Remove and the handle credits for them: each record may cost a
// tree change and a free (2 buffers in one group), within the journal's limit.
struct TruncateBudget {
  size_t records = 1;
  int credits = 0;
};
TruncateBudget BudgetFor(Inode& inode) {
  uint32_t depth;
  {
    std::shared_lock<std::shared_mutex> lock(inode.map_mu);
    depth = inode.tree()->depth();
  }
  const int per = ExtentTree::CreditsPerChange(depth) + Allocator::kCreditsPerGroup;
  const int limit = std::min(inode.fs().journal->max_transaction_credits(), 512);
  TruncateBudget b;
  const int fit = (limit - kFreeSlack - kInodeCredits) / per - 1;
  b.records = static_cast<size_t>(std::clamp(fit, 1, 64));
  b.credits = static_cast<int>(b.records + 1) * per + kFreeSlack + kInodeCredits;
  return b;
}

// Frees the physical runs `removed` lists, in *handle, moving on to a new
// handle (after writing the record) when one runs out of credits; splits a
// run that needs more than a handle can take. rec.blocks follows each free.
Status FreeRemoved(Inode& inode, std::unique_ptr<journal::Handle>& handle,
                   const std::vector<Extent>& removed, int credits) {
  FsContext& fs = inode.fs();
  // Directory and symlink blocks were written through the journal: their
  // frees are revoked (kMetadata) so replay never writes over a new owner.
  const AllocKind kind = inode.is_reg() ? AllocKind::kData : AllocKind::kMetadata;
  for (const Extent& e : removed) {
    uint64_t start = e.physical, left = e.length;
    while (left > 0) {
      uint64_t chunk = left;
      const int room = handle->credits_left() - kInodeCredits;
      while (chunk > 1 && fs.alloc->FreeCredits(start, chunk, kind) > room) chunk /= 2;
      if (fs.alloc->FreeCredits(start, chunk, kind) > room) {
        if (handle->credits_left() >= credits) {
          return Status::Error(ENOSPC, "truncate: a free does not fit in a fresh handle");
        }
        RETURN_IF_ERROR(inode.WriteRecord(*handle));
        RETURN_IF_ERROR(handle->Stop());
        ASSIGN_OR_RETURN(handle, fs.journal->Start(credits, "truncate (frees)"));
        continue;
      }
      RETURN_IF_ERROR(fs.alloc->FreeBlocks(*handle, start, chunk, kind));
      {
        std::lock_guard<std::mutex> meta(inode.meta_mu);
        inode.rec().blocks -= std::min<uint64_t>(inode.rec().blocks, chunk);
      }
      start += chunk;
      left -= chunk;
    }
  }
  return Status::Ok();
}

// One handle's worth of TruncateBlocks: unmaps up to budget.records records
// from `from`, then frees them. Returns where the range is now unmapped from.
Result<uint64_t> TruncateStep(Inode& inode, uint64_t from) {
  const TruncateBudget budget = BudgetFor(inode);
  ASSIGN_OR_RETURN(TreeChange tc, StartTreeChange(inode, 0, budget.credits, "truncate"));
  // Remove spends credits down to below one change's bound: join the inode
  // record first so the record writes below need no credit of their own.
  Status st = inode.WriteRecord(*tc.handle);
  std::vector<Extent> removed;
  Result<uint64_t> done = from;
  if (st.ok()) {
    done =
        inode.tree()->Remove(*tc.handle, from, format::kMaxLogicalBlocks, budget.records, &removed);
    st = CommitTreeChange(inode, tc, 0);
    if (!done.ok()) st = done.status();
  }
  tc.lock.unlock();  // frees need no map_mu; a handle may roll over below
  Status freed = FreeRemoved(inode, tc.handle, removed, budget.credits);
  if (st.ok()) st = freed;
  Status rec = inode.WriteRecord(*tc.handle);
  if (st.ok()) st = rec;
  RETURN_IF_ERROR(FinishTreeChange(tc, st));
  return *done;
}

Status TruncateDown(Inode& inode, uint64_t new_size) {
  const uint64_t bs = inode.fs().block_size;
  // XFS order: zero the new EOF block's tail while it is still inside EOF,
  // publish the size (writeback now skips and zeroes what lies past it), drop
  // the cache past the new EOF block (waiting for its writeback, so no I/O is
  // in flight to blocks about to be freed), then free the blocks.
  RETURN_IF_ERROR(IomapTruncatePage(inode, new_size));
  inode.set_size(new_size);
  inode.mapping()->TruncateRange(RoundUp(new_size, bs), UINT64_MAX);
  const uint64_t from = DivRoundUp(new_size, bs);
  ASSIGN_OR_RETURN(bool has_blocks, HasBlocksFrom(inode, from));
  if (!has_blocks) return UpdateRecord(inode, true, true, &new_size);

  FsContext& fs = inode.fs();
  bool listed;
  {
    std::lock_guard<std::mutex> meta(inode.meta_mu);
    listed = (inode.rec().flags & format::kInodeFlagOrphan) != 0;  // e.g. unlinked, open
    inode.rec().size = new_size;
    inode.rec().mtime = inode.rec().ctime = FsContext::Now();
  }
  {
    ASSIGN_OR_RETURN(auto handle,
                     fs.journal->Start(kOrphanCredits + kInodeCredits, "truncate (orphan add)"));
    Status st = fs.OrphanAdd(*handle, inode);
    if (st.ok()) st = inode.WriteRecord(*handle);
    Status stop = handle->Stop();
    RETURN_IF_ERROR(st);
    RETURN_IF_ERROR(stop);
  }
  RETURN_IF_ERROR(inode.TruncateBlocks(from));
  if (listed) return Status::Ok();  // its owner (deletion) removes it
  ASSIGN_OR_RETURN(auto handle, fs.journal->Start(kOrphanCredits, "truncate (orphan remove)"));
  Status st = fs.OrphanRemove(*handle, inode);
  Status stop = handle->Stop();
  return st.ok() ? stop : st;
}

}  // namespace

Status Inode::Truncate(uint64_t new_size) {
  if (!is_reg() || mapping_ == nullptr) {
    return Status::Error(is_dir() ? EISDIR : EINVAL,
                         "truncate: inode " + std::to_string(ino_) + " is not a regular file");
  }
  RETURN_IF_ERROR(fs_.CheckWritable());
  if (new_size > MaxFileBytes(fs_)) {
    return Status::Error(EFBIG,
                         "truncate to " + std::to_string(new_size) + " past the largest file");
  }
  const uint64_t old = size();
  if (new_size < old) return TruncateDown(*this, new_size);
  if (new_size > old) {
    // I6: the old EOF block's tail is zeroed before the new size is visible.
    RETURN_IF_ERROR(IomapTruncatePage(*this, old));
    set_size(new_size);
  }
  return UpdateRecord(*this, true, true, &new_size);
}

Status Inode::TruncateBlocks(uint64_t from_block) {
  if (tree_ == nullptr) return Status::Ok();
  while (from_block < format::kMaxLogicalBlocks) {
    ASSIGN_OR_RETURN(bool has_blocks, HasBlocksFrom(*this, from_block));
    if (!has_blocks) break;
    ASSIGN_OR_RETURN(uint64_t done, TruncateStep(*this, from_block));
    if (done <= from_block) {
      return Status::Error(EIO, "truncate of inode " + std::to_string(ino_) +
                                    ": no progress at block " + std::to_string(from_block));
    }
    from_block = done;
  }
  return Status::Ok();
}

}  // namespace foliofs::fs
