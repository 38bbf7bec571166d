// The bookkeeping around every extent-tree change of a file's data path:
// lookups in iomap units, handle-then-map_mu, and the commit of a change into
// the inode record (inode_data_internal.h).
#include <algorithm>
#include <string>

#include "fs/inode_data_internal.h"

namespace foliofs::fs::inode_data {

namespace {

Status NoTree(const Inode& inode) {
  return Status::Error(EIO, "inode " + std::to_string(inode.ino()) + ": no extent tree");
}

Iomap FromExtent(const Extent& e, uint64_t lblk, uint64_t limit_blk, uint64_t bs) {
  Iomap map;
  const uint64_t stop = std::min<uint64_t>(e.logical + e.length, limit_blk);
  map.offset = lblk * bs;
  map.length = (stop - lblk) * bs;
  map.addr = (e.physical + (lblk - e.logical)) * bs;
  map.type = e.unwritten ? IomapType::kUnwritten : IomapType::kMapped;
  return map;
}

}  // namespace

Result<Iomap> LookupIomap(Inode& inode, uint64_t pos, uint64_t end) {
  ExtentTree* tree = inode.tree();
  if (tree == nullptr) return NoTree(inode);
  const uint64_t bs = inode.fs().block_size;
  const uint64_t lblk = pos / bs;
  uint64_t limit_blk = std::max(lblk + 1, DivRoundUp(std::max(end, pos), bs));
  Iomap map;
  if (lblk >= format::kMaxLogicalBlocks) {
    // Past the largest file: nothing can be mapped there.
    map.offset = lblk * bs;
    map.length = (limit_blk - lblk) * bs;
  } else {
    limit_blk = std::min<uint64_t>(limit_blk, format::kMaxLogicalBlocks);
    ASSIGN_OR_RETURN(ExtentLookup found, tree->Lookup(lblk));
    if (found.extent) {
      map = FromExtent(*found.extent, lblk, limit_blk, bs);
    } else {
      const uint64_t stop = std::min(std::max(found.next_mapped, lblk + 1), limit_blk);
      map.offset = lblk * bs;
      map.length = (stop - lblk) * bs;
    }
  }
  map.seq = inode.seq();
  return map;
}

Result<TreeChange> StartTreeChange(Inode& inode, int changes, int extra, const char* what) {
  if (inode.tree() == nullptr) return NoTree(inode);
  FsContext& fs = inode.fs();
  for (;;) {
    uint32_t depth;
    {
      std::shared_lock<std::shared_mutex> lock(inode.map_mu);
      depth = inode.tree()->depth();
    }
    int credits = ExtentTree::CreditsPerChange(depth) * changes + extra;
    credits = std::min(credits, fs.journal->max_transaction_credits());
    ASSIGN_OR_RETURN(auto handle, fs.journal->Start(credits, what));
    std::unique_lock<std::shared_mutex> lock(inode.map_mu);
    if (inode.tree()->depth() <= depth) {
      TreeChange tc;
      tc.handle = std::move(handle);
      tc.lock = std::move(lock);
      tc.nodes_before = inode.tree()->node_blocks();
      return tc;
    }
    // A concurrent change (writeback conversion splitting a leaf) deepened
    // the tree: our credits may be short. Never start a handle under map_mu.
    lock.unlock();
    RETURN_IF_ERROR(handle->Stop());
  }
}

Status FinishTreeChange(TreeChange& tc, Status st) {
  if (tc.lock.owns_lock()) tc.lock.unlock();
  if (!tc.handle) return st;
  Status stop = tc.handle->Stop();
  tc.handle.reset();
  return st.ok() ? stop : st;
}

Status CommitTreeChange(Inode& inode, TreeChange& tc, int64_t data_delta) {
  ExtentTree* tree = inode.tree();
  bool record_changed = false;
  if (tree->root_dirty()) {
    inode.SyncRoot();
    tree->clear_root_dirty();
    record_changed = true;
  }
  const uint64_t nodes_now = tree->node_blocks();
  const int64_t delta =
      data_delta + static_cast<int64_t>(nodes_now) - static_cast<int64_t>(tc.nodes_before);
  tc.nodes_before = nodes_now;
  if (delta != 0) {
    std::lock_guard<std::mutex> meta(inode.meta_mu);
    format::Inode& rec = inode.rec();
    rec.blocks = static_cast<uint64_t>(static_cast<int64_t>(rec.blocks) + delta);
    record_changed = true;
  }
  inode.bump_seq();
  if (record_changed) return inode.WriteRecord(*tc.handle);
  // Nothing in the record changed, but fsync must still force this
  // transaction (e.g. an unwritten → written conversion inside a leaf).
  inode.NoteTid(tc.handle->tid());
  return Status::Ok();
}

Result<bool> HasBlocksFrom(Inode& inode, uint64_t from) {
  if (inode.tree() == nullptr || from >= format::kMaxLogicalBlocks) return false;
  std::shared_lock<std::shared_mutex> lock(inode.map_mu);
  ASSIGN_OR_RETURN(ExtentLookup found, inode.tree()->Lookup(from));
  return found.extent.has_value() || found.next_mapped < format::kMaxLogicalBlocks;
}

Status UpdateRecord(Inode& inode, bool mtime, bool ctime, const uint64_t* new_size) {
  FsContext& fs = inode.fs();
  ASSIGN_OR_RETURN(auto handle, fs.journal->Start(kInodeCredits, "inode: times/size"));
  {
    std::lock_guard<std::mutex> meta(inode.meta_mu);
    format::Inode& rec = inode.rec();
    const format::Timespec now = FsContext::Now();
    if (mtime) rec.mtime = now;
    if (ctime) rec.ctime = now;
    if (new_size != nullptr) rec.size = *new_size;
  }
  Status st = inode.WriteRecord(*handle);
  Status stop = handle->Stop();
  return st.ok() ? stop : st;
}

}  // namespace foliofs::fs::inode_data
