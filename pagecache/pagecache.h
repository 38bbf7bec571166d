// The page cache layer of foliofs: the one header that layers above include.
//
// What it promises (this part of issue 3; writeback threads, reclaim and
// readahead come later):
//  - Folio (folio.h): a naturally aligned, power-of-two number of blocks
//    (block_size 1–64 KiB, up to the mapping's max folio size, 256 KiB by
//    default) in an O_DIRECT-ready zero-filled buffer, with per-block uptodate
//    and dirty bits (iomap_folio_state), a sleeping lock, a writeback flag and
//    a reference count (FolioRef = shared_ptr). A folio removed from its
//    mapping stays valid while referenced; mapping() becomes nullptr.
//  - FolioBatch (folio_batch.h): 31 references in a std::array; Add never
//    allocates and never fails except by reporting "full" (I3).
//  - Mapping (mapping.h): one inode's folios, non-overlapping, ordered by
//    position: Lookup, GetOrCreate (largest aligned order that fits),
//    FillDirtyFolios (for zero range, I2/I3), RangeNeedsWriteback,
//    FindDirtyRun (for writeback), TruncateRange/InvalidateRange (I5/I6).
//  - I1: every wait on folio writeback (Folio::WaitWriteback, and the waits
//    inside TruncateRange/InvalidateRange) calls AssertNoJournalHandle first;
//    debug builds abort when the waiting thread holds a journal handle.
//
// Batched folios are referenced, NOT locked. FillDirtyFolios is called by the
// filesystem's iomap_begin under its per-inode mapping lock (I2), the lock
// writeback completion takes to convert unwritten extents; writeback
// submission locks a folio and then maps blocks under that same lock. Locking
// folios inside FillDirtyFolios would therefore take a folio lock under the
// filesystem lock — the reverse order — and could deadlock. The kernel's
// iomap_fill_dirty_folios makes the same choice: the iterator locks each
// batched folio when it reaches it, after iomap_begin has returned, and then
// rechecks folio.mapping() == &mapping and revalidates its iomap (I7).
//
// Thread safety: all Mapping methods are safe from any thread. A folio's
// bytes, bitmaps and mapping() are guarded by its folio lock; its summary
// flags dirty()/uptodate()/writeback() are atomics readable without it.
//
// Lock order (also in fs/LOCKING.md):
//
//   filesystem inode / invalidate locks (later issues)
//     → folio lock (sleeping; at most one per thread unless taken in
//                   ascending position, as the iterator and writeback do)
//       → filesystem per-inode mapping (extent) lock: writeback maps blocks
//         under it with a folio locked, and iomap_begin calls
//         FillDirtyFolios under it — which is why that locks no folio
//         → Mapping::mu_        (leaf: the index; never held across a wait)
//   Folio::state_mu_            (leaf inside one folio's lock and writeback
//                                waits; held only for a few instructions)
//   journal locks come after every page-cache lock (journal/journal.h).
//
// Waits: Folio::Lock sleeps for the folio lock; WaitWriteback (and
// Truncate/InvalidateRange) sleep for writeback with the folio lock held and
// no mapping lock, which is safe because EndWriteback takes no folio lock.
#pragma once

#include "pagecache/folio.h"        // IWYU pragma: export
#include "pagecache/folio_batch.h"  // IWYU pragma: export
#include "pagecache/mapping.h"      // IWYU pragma: export
