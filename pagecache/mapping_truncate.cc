// Mapping::TruncateRange / InvalidateRange (truncate_inode_pages_range).
//
// One folio at a time: find it under the leaf lock, take a reference, drop
// the leaf lock, lock the folio, recheck that it is still ours, wait for its
// writeback (I1-checked; writeback completion needs no folio lock, so waiting
// with it held cannot deadlock), then remove it or zero its covered part.
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
    const bool ours = folio->mapping() == this;
    if (ours) {
      folio->WaitWriteback();
      if (folio->pos() >= start && folio->end() <= end)
        RemoveFolio(*folio);
      else
        ZeroPartial(*folio, start, end, op);
    }
    folio->Unlock();
    if (ours) cur = std::max(cur, folio->end());
  }
}

void Mapping::RemoveFolio(Folio& folio) {
  std::lock_guard lk(mu_);
  auto it = folios_.find(folio.pos());
  if (it == folios_.end() || it->second.get() != &folio) return;
  if (folio.dirty()) AccountDirty(-1);
  folio.mapping_ = nullptr;  // folio lock and mu_ held
  folios_.erase(it);
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
