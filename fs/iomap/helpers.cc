// Helpers shared by the iomap clients: folio order choice, folio locking with
// the mapping recheck, read-modify-write preparation of partial blocks.
#include <algorithm>
#include <vector>

#include "fs/iomap/internal.h"

namespace foliofs::iomap_internal {

uint32_t OrderFor(uint64_t pos, uint64_t len, uint32_t block_size, uint32_t max_order) {
  uint32_t order = 0;
  while (order < max_order) {
    const uint64_t next = uint64_t{block_size} << (order + 1);
    if (next > len || pos % next != 0) break;
    order++;
  }
  return order;
}

bool LockInMapping(Folio& folio, const Mapping& mapping) {
  folio.Lock();
  if (folio.mapping() == &mapping) return true;
  folio.Unlock();
  return false;
}

void ForEachLockedFolio(IomapIter& iter, const FolioPieceFn& fn) {
  Mapping& mapping = iter.inode().page_mapping();
  const uint64_t len = iter.length();
  uint64_t done = 0;
  while (done < len) {
    const uint64_t p = iter.pos() + done;
    const uint32_t order = OrderFor(p, len - done, mapping.block_size(), mapping.max_order());
    Result<FolioRef> folio = mapping.GetOrCreate(p, order);
    if (!folio.ok()) {
      iter.Advance(done);
      iter.SetError(folio.status());
      return;
    }
    Folio& f = **folio;
    if (!LockInMapping(f, mapping)) continue;  // truncated since the lookup: look again
    if (!iter.inode().IomapValid(iter)) {      // I7: the extent map changed
      f.Unlock();
      break;  // advance over what is done; Next() remaps from there
    }
    const uint64_t n = std::min(f.end() - p, len - done);
    Status st = fn(f, p, n);
    f.Unlock();
    if (!st.ok()) {
      iter.Advance(done);
      iter.SetError(st);
      return;
    }
    done += n;
  }
  iter.Advance(done);
}

// The first and last block touched by [off, off+len) are the only ones a
// partial write leaves partly old; every block strictly inside is overwritten.
Status PrepareWriteBlocks(IomapInode& inode, const Iomap& src, Folio& folio, uint64_t off,
                          uint64_t len) {
  const uint32_t bs = folio.block_size();
  const uint64_t size = inode.size();
  std::vector<uint64_t> blocks;  // folio offsets of blocks to prepare
  const uint64_t first = RoundDown(off, bs), last = RoundDown(off + len - 1, bs);
  if (off != first) blocks.push_back(first);
  if ((off + len) % bs != 0 && (blocks.empty() || last != first)) blocks.push_back(last);

  iovec iov[2];
  IoRequest reqs[2];
  size_t n = 0;
  for (uint64_t b : blocks) {
    if (folio.IsUptodate(b, bs)) continue;
    const uint64_t file_pos = folio.pos() + b;
    const bool from_device = src.type == IomapType::kMapped && !(src.flags & kIomapFlagNew) &&
                             file_pos < size && src.offset <= file_pos &&
                             file_pos + bs <= src.end();
    if (!from_device) {
      folio.ZeroRange(b, bs);  // HOLE/UNWRITTEN/new/past EOF: the truth is zeros
      folio.MarkUptodate(b, bs);
      continue;
    }
    iov[n] = {folio.data() + b, bs};
    reqs[n].op = IoOp::kRead;
    reqs[n].offset = src.AddrOf(file_pos);
    reqs[n].iov = std::span<const iovec>(&iov[n], 1);
    n++;
  }
  if (n == 0) return Status::Ok();
  RETURN_IF_ERROR(inode.device().Submit(std::span<IoRequest>(reqs, n)));
  for (size_t i = 0; i < n; i++)
    folio.MarkUptodate(static_cast<uint8_t*>(iov[i].iov_base) - folio.data(), bs);
  return Status::Ok();
}

}  // namespace foliofs::iomap_internal
