// Mapping::TruncateRange / InvalidateRange (truncate_inode_pages_range).
//
// One folio at a time: find it under the leaf lock, take a reference, drop
// the leaf lock, lock the folio, recheck that it is still ours. If it is
// under writeback, unlock it, wait for the writeback (I1-checked) and start
// over: writeback.h forbids waiting for writeback with a folio lock held (a
// thread holding a journal handle may be waiting for that lock while the
// writeback completion waits for a commit that waits for that handle).
// Writeback cannot start again while we hold the lock, so once a locked folio
// is seen clean of writeback it is removed or zeroed under that same lock.
#include <algorithm>

#include "pagecache/mapping.h"

namespace foliofs {

FolioRef Mapping::NextOverlapping(uint64_t from, uint64_t end) const {
  std::lock_guard lk(mu_);
  auto it = FindLocked(from);
  if (it == folios_.end()) it = folios_.lower_bound(from);
  if (it == folios_.end() || it->first >= end) return nullptr;
  return it->second;
}

void Mapping::TruncateRange(uint64_t start, uint64_t end) {
  ShrinkRange(start, end, RangeOp::kTruncate);
}

void Mapping::InvalidateRange(uint64_t start, uint64_t end) {
  ShrinkRange(start, end, RangeOp::kInvalidate);
}

void Mapping::ShrinkRange(uint64_t start, uint64_t end, RangeOp op) {
  uint64_t cur = start;
  while (cur < end) {
    FolioRef folio = NextOverlapping(cur, end);
    if (!folio) return;
    folio->Lock();
    // Removed by someone else between lookup and lock: look again from cur.
    if (folio->mapping() != this) {
      folio->Unlock();
      continue;
    }
    if (folio->writeback()) {
      folio->Unlock();
      folio->WaitWriteback();  // no folio lock held; I1-checked
      continue;                // relock and recheck everything
    }
    if (folio->pos() >= start && folio->end() <= end)
      RemoveFolio(*folio);
    else
      ZeroPartial(*folio, start, end, op);
    folio->Unlock();
    cur = std::max(cur, folio->end());
  }
}

void Mapping::RemoveFolio(Folio& folio) {
  uint64_t freed = 0;
  {
    std::lock_guard lk(mu_);
    auto it = folios_.find(folio.pos());
    if (it == folios_.end() || it->second.get() != &folio) return;
    freed = UnlinkLocked(it);
  }
  Uncharge(freed);
}

void Mapping::ZeroPartial(Folio& folio, uint64_t start, uint64_t end, RangeOp op) {
  const uint64_t from = std::max(start, folio.pos()) - folio.pos();
  const uint64_t to = std::min(end, folio.end()) - folio.pos();
  folio.ZeroRange(from, to - from);
  folio.ClearDirtyBlocksIn(from, to - from);
  if (op == RangeOp::kTruncate) {
    // Blocks wholly covered hold exactly their truth (zeros): uptodate.
    const uint64_t bs = folio.block_size();
    const uint64_t first = (from + bs - 1) / bs * bs, last = to / bs * bs;
    if (last > first) folio.MarkUptodate(first, last - first);
  } else {
    folio.ClearUptodateBlocksIn(from, to - from);
  }
}

}  // namespace foliofs
