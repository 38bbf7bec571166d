// Helpers shared by the fs/iomap clients (not part of the contract).
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "fs/iomap/iomap.h"

namespace foliofs::iomap_internal {

spdlog::logger& Log();

inline uint64_t RoundDown(uint64_t v, uint64_t a) { return v / a * a; }
inline uint64_t RoundUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// Folio order for a piece of I/O at `pos` with `len` bytes left: the largest
// order ≤ max_order whose folio fits in len and to which pos is aligned, so a
// big aligned write or read gets the mapping's largest folios and a small or
// unaligned one gets small folios (the kernel's fgf_set_order + alignment).
uint32_t OrderFor(uint64_t pos, uint64_t len, uint32_t block_size, uint32_t max_order);

// Makes the blocks of `folio` touched by [off, off+len) but not wholly inside
// it valid before a partial overwrite (read-modify-write): blocks not
// uptodate are read from the device when `src` is MAPPED (and not new) and
// the block lies below EOF, and zero-filled otherwise. Folio locked.
// The blocks lie inside `src` (mappings are block aligned and cover the step).
Status PrepareWriteBlocks(IomapInode& inode, const Iomap& src, Folio& folio, uint64_t off,
                          uint64_t len);

// Locks `folio` and checks it still belongs to `mapping`; false (unlocked)
// when a truncate removed it after the lookup.
bool LockInMapping(Folio& folio, const Mapping& mapping);

// The per-folio walk of a write-like step (buffered write, zero range over
// MAPPED): for each piece [p, p+n) of [iter.pos(), iter.pos()+iter.length())
// gets or creates its folio (order from the bytes left), locks it, rechecks
// the mapping, revalidates the iomap (I7) and calls fn under the folio lock.
// Advances over the pieces done; stops early (so Next() remaps) when the
// iomap went stale, and on an error from fn or the cache (set on iter).
using FolioPieceFn = std::function<Status(Folio& folio, uint64_t p, uint64_t n)>;
void ForEachLockedFolio(IomapIter& iter, const FolioPieceFn& fn);

}  // namespace foliofs::iomap_internal
