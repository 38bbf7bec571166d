// Buffered write (Linux iomap_write_iter): per mapping, per folio — get or
// create (large when the write is), lock, recheck, revalidate (I7), prepare
// partial blocks, copy, mark uptodate and dirty, grow i_size, unlock.
//
// Writers never wait for writeback (writeback.h): while a folio is unlocked
// no I/O reads its bytes, so the folio lock alone makes the copy safe; a
// folio under writeback that we redirty is simply written again later.
#include <cstring>

#include "fs/iomap/internal.h"
#include "pagecache/page_cache.h"

namespace foliofs {
namespace {


// Copies data[0, n) into the locked folio at file position p. Folio locked.
Status CopyIntoFolio(IomapIter& iter, Folio& folio, uint64_t p, const uint8_t* data, uint64_t n) {
  const uint64_t off = p - folio.pos();
  RETURN_IF_ERROR(iomap_internal::PrepareWriteBlocks(iter.inode(), iter.srcmap(), folio, off, n));
  std::memcpy(folio.data() + off, data, n);
  folio.MarkUptodate(off, n);  // every touched block is now whole and valid
  folio.MarkDirty(off, n);
  // i_size grows while the folio is still locked, so writeback (which locks
  // the folio first) never sees this data as past EOF.
  if (p + n > iter.inode().size()) iter.inode().ExtendSize(p + n);
  return Status::Ok();
}

// One step: [iter.pos(), iter.pos() + iter.length()) of data starting at src.
void WriteStep(IomapIter& iter, const uint8_t* src) {
  const uint64_t step_pos = iter.pos();
  iomap_internal::ForEachLockedFolio(iter, [&](Folio& f, uint64_t p, uint64_t n) {
    return CopyIntoFolio(iter, f, p, src + (p - step_pos), n);
  });
}

}  // namespace

Result<size_t> IomapWrite(IomapInode& inode, uint64_t pos, std::span<const uint8_t> data) {
  IomapIter iter(inode, pos, data.size(), kIomapWrite);
  while (iter.Next()) WriteStep(iter, data.data() + (iter.pos() - pos));
  const uint64_t written = iter.pos() - pos;  // Next moved pos over every advanced byte
  // Throttle with no folio lock held (and no journal handle: callers hold
  // none here, so BalanceDirty may block).
  if (PageCache* cache = inode.page_mapping().cache()) cache->BalanceDirty();
  if (!iter.status().ok() && written == 0) return iter.status();
  return static_cast<size_t>(written);
}

}  // namespace foliofs
