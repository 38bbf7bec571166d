// SEEK_DATA / SEEK_HOLE (Linux fs/iomap/seek.c): MAPPED is data; HOLE and
// UNWRITTEN are holes except where the cache holds data for them — dirty
// blocks, or any block of a folio under writeback (its data is on the way to
// the extent). Block granularity; answers clipped to i_size; EOF is a hole.
#include "fs/iomap/internal.h"

namespace foliofs {
namespace {

using iomap_internal::LockInMapping;

// Whether the cached block at file position q of folio f holds data.
bool BlockHasData(Folio& f, uint64_t q) {
  return f.writeback() || f.IsDirty(q - f.pos(), f.block_size());
}

// Calls visit(q, has_data) for each block of the cached folios (dirty or
// under writeback) in [s, e), in order, until visit returns true; returns
// that block's position or UINT64_MAX. The folio lock makes the block
// states stable while they are read.
template <typename Visit>
uint64_t ScanCache(Mapping& mapping, uint64_t s, uint64_t e, Visit visit) {
  const uint32_t bs = mapping.block_size();
  while (s < e) {
    FolioBatch batch;
    const uint64_t next = mapping.FillDirtyFolios(s, e, batch);
    for (const FolioRef& ref : batch) {
      Folio& f = *ref;
      if (!LockInMapping(f, mapping)) continue;
      uint64_t found = UINT64_MAX;
      for (uint64_t q = std::max(s, f.pos()) / bs * bs; q < std::min(e, f.end()); q += bs)
        if (visit(q, BlockHasData(f, q))) {
          found = q;
          break;
        }
      f.Unlock();
      if (found != UINT64_MAX) return found;
    }
    if (next <= s) break;
    s = next;
  }
  return UINT64_MAX;
}

// First data position in an UNWRITTEN/HOLE step, or UINT64_MAX.
uint64_t DataInStep(Mapping& mapping, uint64_t s, uint64_t e) {
  return ScanCache(mapping, s, e, [](uint64_t, bool data) { return data; });
}

// First hole position in an UNWRITTEN/HOLE step, or UINT64_MAX: the first
// block not covered by cached data.
uint64_t HoleInStep(Mapping& mapping, uint64_t s, uint64_t e) {
  const uint32_t bs = mapping.block_size();
  uint64_t cur = s / bs * bs;  // next block not yet known to be data
  const uint64_t hit = ScanCache(mapping, s, e, [&](uint64_t q, bool data) {
    if (q > cur || !data) return true;  // a gap before this block, or a clean block
    cur = q + bs;
    return false;
  });
  if (hit != UINT64_MAX) return std::max(s, std::min(hit, cur));
  return cur < e ? std::max(s, cur) : UINT64_MAX;
}

}  // namespace

Result<uint64_t> IomapSeekData(IomapInode& inode, uint64_t pos) {
  const uint64_t size = inode.size();
  if (pos >= size) return Status::Error(ENXIO, "seek data at or past EOF");
  IomapIter iter(inode, pos, size - pos, kIomapReport);
  while (iter.Next()) {
    const uint64_t s = iter.pos(), e = s + iter.length();
    const uint64_t found =
        iter.iomap().type == IomapType::kMapped ? s : DataInStep(inode.page_mapping(), s, e);
    if (found != UINT64_MAX) return std::max(pos, found);
    iter.Advance(iter.length());
  }
  RETURN_IF_ERROR(iter.status());
  return Status::Error(ENXIO, "no data after " + std::to_string(pos));
}

Result<uint64_t> IomapSeekHole(IomapInode& inode, uint64_t pos) {
  const uint64_t size = inode.size();
  if (pos >= size) return Status::Error(ENXIO, "seek hole at or past EOF");
  IomapIter iter(inode, pos, size - pos, kIomapReport);
  while (iter.Next()) {
    const uint64_t s = iter.pos(), e = s + iter.length();
    if (iter.iomap().type != IomapType::kMapped) {
      const uint64_t found = HoleInStep(inode.page_mapping(), s, e);
      if (found != UINT64_MAX) return std::min(std::max(pos, found), size);
    }
    iter.Advance(iter.length());
  }
  RETURN_IF_ERROR(iter.status());
  return size;  // EOF is a hole
}

}  // namespace foliofs
