// Zero range and truncate-page (Linux iomap_zero_range / iomap_truncate_page
// with the seed thread's folio batch), I2–I5.
//
//  - MAPPED: the blocks hold data, so zero through the cache: get or create
//    each folio, read-modify-write partial blocks, zero, dirty.
//  - UNWRITTEN / HOLE: the blocks read as zeros, so only cached data matters,
//    and Begin batched exactly the folios that hold it (dirty or under
//    writeback) under the lock writeback completion takes (I2). Each is
//    locked, rechecked, revalidated, and exactly the intersection with the
//    step is zeroed (I5). Over UNWRITTEN, uptodate blocks of the
//    intersection become dirty, so the zeros reach the device whatever
//    writeback had in flight (its conversion would expose the old data).
//    Over a HOLE they stay clean: there is no block to write (dirty data
//    over a hole is a bug writeback reports) and zeros are its truth. Blocks
//    that are not uptodate are zeroed but left not uptodate and clean: their
//    truth is the extent's (zeros under UNWRITTEN/HOLE) and a later read
//    fills them from it — making them dirty would write and convert blocks
//    for nothing.
// Nothing here flushes or waits for writeback (writers never do: writeback.h),
// so it runs under a journal handle (I1). A full batch means Begin trimmed
// the mapping at the last batched folio; the next step continues there (I3).
#include "fs/iomap/internal.h"

namespace foliofs {
namespace {

using iomap_internal::LockInMapping;
using iomap_internal::RoundDown;
using iomap_internal::RoundUp;

// MAPPED step: zero [pos, pos+length) through the cache.
void ZeroMapped(IomapIter& iter, bool* did_zero) {
  iomap_internal::ForEachLockedFolio(iter, [&](Folio& f, uint64_t p, uint64_t n) {
    const uint64_t off = p - f.pos();
    RETURN_IF_ERROR(iomap_internal::PrepareWriteBlocks(iter.inode(), iter.srcmap(), f, off, n));
    f.ZeroRange(off, n);
    f.MarkUptodate(off, n);
    f.MarkDirty(off, n);
    *did_zero = true;
    return Status::Ok();
  });
}

// Zeroes the intersection [a, b) of a locked folio with an UNWRITTEN/HOLE
// step; over UNWRITTEN dirties its uptodate blocks (see the file comment).
void ZeroCachedPart(Folio& f, uint64_t a, uint64_t b, bool unwritten, bool* did_zero) {
  const uint32_t bs = f.block_size();
  f.ZeroRange(a - f.pos(), b - a);
  for (uint64_t q = RoundDown(a, bs); q < b; q += bs) {
    const uint64_t off = q - f.pos();
    if (!f.IsUptodate(off, bs)) continue;
    if (unwritten) f.MarkDirty(off, bs);
    *did_zero = true;
  }
}

// UNWRITTEN/HOLE step: zero exactly the batched folios.
void ZeroBatched(IomapIter& iter, bool* did_zero) {
  Mapping& mapping = iter.inode().page_mapping();
  const uint64_t s = iter.pos(), e = iter.pos() + iter.length();
  for (const FolioRef& ref : iter.batch()) {
    Folio& f = *ref;
    if (f.end() <= s || f.pos() >= e) continue;
    if (!LockInMapping(f, mapping)) continue;  // truncated: nothing cached to zero
    if (!iter.inode().IomapValid(iter)) {      // I7: remap from this folio on
      f.Unlock();
      iter.Advance(std::max(f.pos(), s) - s);
      return;
    }
    ZeroCachedPart(f, std::max(s, f.pos()), std::min(e, f.end()),
                   iter.srcmap().type == IomapType::kUnwritten, did_zero);
    f.Unlock();
  }
  iter.Advance(iter.length());
}

}  // namespace

Status IomapZeroRange(IomapInode& inode, uint64_t pos, uint64_t len, bool* did_zero) {
  bool zeroed = false;
  IomapIter iter(inode, pos, len, kIomapZero);
  while (iter.Next()) {
    if (iter.srcmap().type == IomapType::kMapped)
      ZeroMapped(iter, &zeroed);
    else
      ZeroBatched(iter, &zeroed);
  }
  if (did_zero != nullptr) *did_zero = zeroed;
  return iter.status();
}

Status IomapTruncatePage(IomapInode& inode, uint64_t pos) {
  const uint32_t bs = inode.page_mapping().block_size();
  if (pos % bs == 0) return Status::Ok();
  return IomapZeroRange(inode, pos, RoundUp(pos, bs) - pos);
}

}  // namespace foliofs
