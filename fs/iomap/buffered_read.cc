// Buffered read (Linux filemap_read + iomap_readahead): copy what the cache
// has; at the first miss plan the readahead window, create its missing
// folios, lock them in ascending position, map the locked range and fill the
// blocks that are not uptodate — MAPPED from the device in one batch, HOLE
// and UNWRITTEN with zeros (I8) — then copy out and unlock.
//
// Why no revalidation (I7) here: the folios are locked BEFORE the range is
// mapped, and only non-uptodate blocks are filled. Anything that could make
// such a block's mapping stale while we hold the lock needs that folio lock
// first: a writer puts data in a block only under it (and a dirty or
// written-back block is uptodate, so we do not read it), writeback
// completion converts only blocks that were written (uptodate, skipped), and
// truncate/punch lock the folio to drop it (mapping() recheck) while the
// filesystem's invalidate lock keeps reads out of a range being punched.
#include <cstring>
#include <vector>

#include "fs/iomap/internal.h"
#include "fs/iomap/io_plan.h"

namespace foliofs {
namespace {

using iomap_internal::IoPlan;
using iomap_internal::LockInMapping;
using iomap_internal::RoundDown;
using iomap_internal::RoundUp;

// Bound on the bytes of folios one fill locks at a time.
constexpr uint64_t kMaxFillBytes = 8ull << 20;

// Copies cached, uptodate bytes from file position p into out, folio by
// folio (each under its lock: the bytes are guarded by it); stops at the
// first folio missing or not uptodate there. Returns the bytes copied.
uint64_t CopyCached(Mapping& mapping, uint64_t p, std::span<uint8_t> out) {
  uint64_t copied = 0;
  while (copied < out.size()) {
    const uint64_t q = p + copied;
    FolioRef f = mapping.Lookup(q);
    if (f == nullptr || !LockInMapping(*f, mapping)) break;
    const uint64_t off = q - f->pos();
    const uint64_t n = std::min(f->end() - q, out.size() - copied);
    const bool ok = f->IsUptodate(off, n);
    if (ok) std::memcpy(out.data() + copied, f->data() + off, n);
    f->Unlock();
    if (!ok) break;
    copied += n;
  }
  return copied;
}

// Plans the fill of every non-uptodate block of the locked folios (ascending)
// over one mapping step; HOLE/UNWRITTEN blocks are zeroed here.
void PlanStep(IomapIter& iter, const std::vector<Folio*>& folios, IoPlan& plan) {
  const Iomap& map = iter.srcmap();
  const uint64_t s = iter.pos(), e = iter.pos() + iter.length();
  for (Folio* f : folios) {
    if (f->end() <= s || f->pos() >= e) continue;
    const uint32_t bs = f->block_size();
    for (uint64_t q = std::max(s, f->pos()); q < std::min(e, f->end()); q += bs) {
      const uint64_t off = q - f->pos();
      if (f->IsUptodate(off, bs)) continue;
      if (map.type == IomapType::kMapped) {
        plan.Add(f->data() + off, bs, map.AddrOf(q));
      } else {
        f->ZeroRange(off, bs);
        f->MarkUptodate(off, bs);
      }
    }
  }
  iter.Advance(iter.length());
}

// Fills every block of the locked folios that is not uptodate.
Status FillLocked(IomapInode& inode, const std::vector<Folio*>& folios) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (Folio* f : folios) {
    if (f->uptodate()) continue;
    lo = std::min(lo, f->pos());
    hi = std::max(hi, f->end());
  }
  if (lo >= hi) return Status::Ok();
  const uint32_t bs = folios.front()->block_size();
  const uint64_t eof = RoundUp(inode.size(), bs);
  IoPlan plan(IoOp::kRead);
  if (lo < eof) {
    IomapIter iter(inode, lo, std::min(hi, eof) - lo, kIomapRead);
    while (iter.Next()) PlanStep(iter, folios, plan);
    RETURN_IF_ERROR(iter.status());
  }
  // Blocks wholly past EOF read as zeros.
  for (Folio* f : folios)
    if (f->end() > eof && !f->uptodate()) {
      const uint64_t from = std::max(eof, f->pos()) - f->pos();
      f->ZeroRange(from, f->size() - from);
      f->MarkUptodate(from, f->size() - from);
    }
  RETURN_IF_ERROR(plan.Submit(inode.device()));
  // The plan's blocks are read: mark them (the plan only knows memory).
  for (Folio* f : folios)
    if (!f->uptodate()) f->MarkUptodate(0, f->size());
  return Status::Ok();
}

// Creates the folios of [start, end) (order_hint for missing ones), locks
// them, fills them and copies out from file position p. Returns the bytes
// copied from p.
Result<uint64_t> FillAndCopy(IomapInode& inode, uint64_t start, uint64_t end, uint32_t order,
                             uint64_t p, std::span<uint8_t> out) {
  Mapping& mapping = inode.page_mapping();
  // Create them all first: creation may wait for memory, which a thread
  // holding a folio lock must not do.
  std::vector<FolioRef> refs;
  for (uint64_t q = start; q < end;) {
    ASSIGN_OR_RETURN(FolioRef f, mapping.GetOrCreate(q, order));
    q = f->end();
    refs.push_back(std::move(f));
  }
  std::vector<Folio*> locked;  // ascending position, as the lock order demands
  for (const FolioRef& f : refs)
    if (LockInMapping(*f, mapping)) locked.push_back(f.get());
  Status st = locked.empty() ? Status::Ok() : FillLocked(inode, locked);
  uint64_t copied = 0;
  for (Folio* f : locked) {
    const uint64_t q = p + copied;
    if (!st.ok() || copied == out.size() || f->end() <= q || !f->Contains(q)) continue;
    const uint64_t n = std::min(f->end() - q, out.size() - copied);
    std::memcpy(out.data() + copied, f->data() + (q - f->pos()), n);
    copied += n;
  }
  for (Folio* f : locked) f->Unlock();
  RETURN_IF_ERROR(st);
  return copied;
}

}  // namespace

Result<size_t> IomapRead(IomapInode& inode, ReadaheadState* ra, uint64_t pos,
                         std::span<uint8_t> out) {
  const uint64_t size = inode.size();
  if (pos >= size || out.empty()) return size_t{0};
  const uint64_t len = std::min<uint64_t>(out.size(), size - pos);
  Mapping& mapping = inode.page_mapping();
  const uint32_t bs = mapping.block_size();
  uint64_t copied = CopyCached(mapping, pos, out.subspan(0, len));
  const bool missed = copied < len;
  ReadaheadState::Window w;
  if (ra != nullptr) {
    w = ra->Plan(pos, len, missed, bs, mapping.max_order(), RoundUp(size, bs));
  } else {
    w.start = RoundDown(pos, bs);
    w.end = RoundUp(pos + len, bs);
    w.order_hint = iomap_internal::OrderFor(0, w.end - w.start, bs, mapping.max_order());
  }
  int fruitless = 0;  // fills that copied nothing (a racing truncate)
  while (copied < len) {
    const uint64_t p = pos + copied;
    if (p >= inode.size()) break;  // truncated under us: a short read
    const uint64_t start = RoundDown(p, bs);
    uint64_t end = std::max(w.end, RoundUp(pos + len, bs));
    end = std::min(end, start + kMaxFillBytes);
    ASSIGN_OR_RETURN(uint64_t got, FillAndCopy(inode, start, end, w.order_hint, p,
                                               out.subspan(copied, len - copied)));
    copied += got;
    if (got == 0 && ++fruitless > 16)
      return Status::Error(EIO, "iomap: read at " + std::to_string(p) + " makes no progress");
    if (copied < len)
      copied += CopyCached(mapping, pos + copied, out.subspan(copied, len - copied));
  }
  return static_cast<size_t>(copied);
}

}  // namespace foliofs
