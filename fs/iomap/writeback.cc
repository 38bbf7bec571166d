// Writeback (Linux iomap_writepages), exactly the protocol of
// pagecache/writeback.h:
//  1. gather dirty folios (FindDirtyRun; in sync mode also dirty folios under
//     writeback, whose writeback we wait out holding no folio lock), lock
//     them ascending, recheck mapping and dirtiness;
//  2. EOF rule (I6): folios wholly past i_size are cleaned, not written; the
//     EOF folio's bytes past i_size are zeroed in the cache first;
//  3. note the dirty block runs, StartWriteback, then ClearDirty (never a
//     moment where the folio is neither dirty nor under writeback: I2);
//  4. MapBlocks per run (split at extent boundaries), one device batch for
//     the whole gathering, submitted with the folio locks held;
//  5. unlock; inode.EndWriteback per mapped run (converts UNWRITTEN in the
//     filesystem's own handle); then Folio::EndWriteback per folio.
// i_size is read after the folios are locked: IomapWrite grows it under the
// folio lock (IomapInode::ExtendSize), so data a write put in a folio we
// hold is never taken for bytes past EOF.
#include <vector>

#include "fs/iomap/internal.h"
#include "fs/iomap/io_plan.h"
#include "pagecache/base/held_handles.h"

namespace foliofs {
namespace {

using iomap_internal::IoPlan;
using iomap_internal::RoundUp;

// A dirty piece of one folio, in file order.
struct Piece {
  Folio* folio;
  uint64_t off, len;
  uint64_t file_pos() const { return folio->pos() + off; }
};

// One mapped, device-contiguous part of a dirty run.
struct Extent {
  uint64_t pos, len;
  Iomap map;
  size_t first_req, last_req;  // requests of the plan carrying it
};

// In sync mode: the dirty folios of [pos, end), including those under
// writeback, whose writeback is waited for here with no folio lock held (I1
// is checked inside WaitWriteback). Returns where to continue.
uint64_t GatherSync(Mapping& mapping, uint64_t pos, uint64_t end, FolioBatch& batch) {
  FolioBatch found;
  const uint64_t next = mapping.FillDirtyFolios(pos, end, found);
  for (const FolioRef& f : found) {
    if (!f->dirty()) continue;
    if (f->writeback()) f->WaitWriteback();
    batch.Add(f);
  }
  return next;
}

// Locks the gathered folios ascending; keeps those still in the mapping,
// dirty and not under writeback. *retry: the first folio that was dirty but
// under writeback again (sync mode must come back for it).
std::vector<Folio*> LockGathered(Mapping& mapping, const FolioBatch& batch, uint64_t end,
                                 uint64_t* retry) {
  std::vector<Folio*> locked;
  for (const FolioRef& ref : batch) {
    Folio& f = *ref;
    if (f.pos() >= end) continue;
    f.Lock();
    if (f.mapping() != &mapping || !f.dirty()) {
      f.Unlock();
      continue;
    }
    if (f.writeback()) {  // another writeback started it after the gather
      *retry = std::min(*retry, f.pos());
      f.Unlock();
      continue;
    }
    locked.push_back(&f);
  }
  return locked;
}

// I6 under the folio lock: returns false when the folio is wholly past EOF
// (cleaned: never written); zeroes the tail past EOF of the EOF folio and
// cleans its blocks wholly past EOF.
bool HandleEof(Folio& f, uint64_t size) {
  if (f.pos() >= size) {
    f.ClearDirty();
    return false;
  }
  if (f.end() > size) {
    const uint64_t off = size - f.pos();
    f.ZeroRange(off, f.size() - off);
    const uint64_t past = RoundUp(size, f.block_size()) - f.pos();
    if (past < f.size()) f.ClearDirtyBlocksIn(past, f.size() - past);
  }
  return f.dirty();
}

// The dirty block pieces of a locked folio, coalesced per contiguous run.
void CollectPieces(Folio& f, std::vector<Piece>& pieces) {
  const uint32_t bs = f.block_size();
  for (uint32_t b = 0; b < f.nr_blocks(); b++) {
    if (!f.BlockDirty(b)) continue;
    const uint64_t off = uint64_t{b} * bs;
    if (!pieces.empty() && pieces.back().folio == &f &&
        pieces.back().off + pieces.back().len == off)
      pieces.back().len += bs;
    else
      pieces.push_back({&f, off, bs});
  }
}

// Maps the pieces (file order) and adds them to the plan: runs of
// file-contiguous pieces are mapped with MapBlocks and split at extent
// boundaries. Errors (a lookup failure, or a HOLE: dirty data without
// blocks) skip the affected bytes and are returned.
Status MapPieces(IomapInode& inode, const std::vector<Piece>& pieces, IoPlan& plan,
                 std::vector<Extent>& extents) {
  Status first;
  std::vector<uint64_t> run_end(pieces.size());
  for (size_t i = pieces.size(); i-- > 0;) {
    const uint64_t end = pieces[i].file_pos() + pieces[i].len;
    run_end[i] = (i + 1 < pieces.size() && pieces[i + 1].file_pos() == end) ? run_end[i + 1] : end;
  }
  Iomap map;
  bool have = false;
  for (size_t i = 0; i < pieces.size(); i++) {
    const Piece& pc = pieces[i];
    for (uint64_t q = pc.file_pos(), end = q + pc.len; q < end;) {
      if (!have || q < map.offset || q >= map.end()) {
        Result<Iomap> r = inode.MapBlocks(q, run_end[i] - q);
        have = r.ok() && r->offset <= q && q < r->end();
        if (!have) {
          if (first.ok())
            first = r.ok()
                        ? Status::Error(EIO, "iomap: MapBlocks did not cover " + std::to_string(q))
                        : r.status();
          break;  // skip the rest of this piece
        }
        map = *r;
      }
      const uint64_t n = std::min(end, map.end()) - q;
      if (map.type == IomapType::kHole) {
        if (first.ok())
          first = Status::Error(
              EIO, "iomap: writeback of dirty data over a hole at " + std::to_string(q));
        q += n;
        continue;
      }
      const size_t req = plan.Add(pc.folio->data() + (q - pc.folio->pos()), n, map.AddrOf(q));
      Extent* last = extents.empty() ? nullptr : &extents.back();
      if (last && last->pos + last->len == q && last->map.offset == map.offset &&
          last->map.addr == map.addr && last->map.type == map.type) {
        last->len += n;
        last->last_req = req;
      } else {
        extents.push_back({q, n, map, req, req});
      }
      q += n;
    }
  }
  return first;
}

// Writes one gathering of locked folios (ascending). Unlocks them all.
Status WriteLocked(IomapInode& inode, const std::vector<Folio*>& locked, WritebackControl& wbc) {
  const uint64_t size = inode.size();  // after the folio locks: see the file comment
  std::vector<Piece> pieces;
  std::vector<Folio*> started;
  for (Folio* f : locked) {
    if (!HandleEof(*f, size)) continue;
    CollectPieces(*f, pieces);
    // StartWriteback BEFORE ClearDirty: lock-free observers of the summary
    // flags (iomap_begin's FillDirtyFolios for zero range — I2 —, fsync's
    // gathering and WaitWritebackRange) rely on "dirty() || writeback()"
    // holding continuously until the data is on the device and converted.
    // The other order opens a window (widened by ClearDirty's dirty
    // accounting, which takes Mapping::mu_) where the folio looks clean and
    // idle while its data is only in the cache: zero range skipped it (the
    // flusher then wrote back the un-zeroed bytes) and fsync returned before
    // it was written.
    f->StartWriteback();
    f->ClearDirty();
    started.push_back(f);
  }
  IoPlan plan(IoOp::kWrite);
  std::vector<Extent> extents;
  Status first = MapPieces(inode, pieces, plan, extents);
  Status io = plan.Submit(inode.device());  // folio locks held (writeback.h step 3)
  for (const Extent& e : extents) wbc.written += e.len;
  for (Folio* f : locked) f->Unlock();
  for (const Extent& e : extents) {
    Status st;
    for (size_t r = e.first_req; r <= e.last_req && st.ok(); r++) st = plan.status(r);
    Status done = inode.EndWriteback(e.pos, e.len, e.map, st);
    if (first.ok()) first = !st.ok() ? st : done;
  }
  if (first.ok()) first = io;
  for (Folio* f : started) f->EndWriteback();
  return first;
}

}  // namespace

Status IomapWritepages(IomapInode& inode, WritebackControl& wbc) {
  Mapping& mapping = inode.page_mapping();
  Status first;
  uint64_t pos = wbc.start;
  while (pos < wbc.end) {
    if (!wbc.sync && wbc.written >= wbc.max_bytes) break;
    FolioBatch batch;
    const uint64_t next = wbc.sync ? GatherSync(mapping, pos, wbc.end, batch)
                                   : mapping.FindDirtyRun(pos, wbc.max_bytes - wbc.written, batch);
    uint64_t retry = UINT64_MAX;
    std::vector<Folio*> locked = LockGathered(mapping, batch, wbc.end, &retry);
    if (!locked.empty()) {
      Status st = WriteLocked(inode, locked, wbc);
      if (!st.ok()) {
        mapping.SetError(st);
        SPDLOG_LOGGER_DEBUG(&iomap_internal::Log(), "writeback error: {}", st.ToString());
        if (first.ok()) first = st;
      }
    }
    if (wbc.sync) {
      // The gathering may hold no dirty folio at all (a full batch of clean
      // folios under writeback): go on until the whole range was looked at.
      if (next >= wbc.end && retry == UINT64_MAX) break;
      pos = std::min(next, retry);
    } else {
      if (batch.empty() || next == UINT64_MAX) break;
      pos = next;
    }
  }
  return first;
}

Status IomapWriteAndWait(IomapInode& inode, uint64_t start, uint64_t end) {
  AssertNoJournalHandle("IomapWriteAndWait");
  return inode.page_mapping().WriteAndWait(start, end);
}

}  // namespace foliofs
