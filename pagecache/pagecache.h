// The page cache layer of foliofs: the one header that layers above include.
//
// What it promises (issue 3):
//  - Folio (folio.h): a naturally aligned, power-of-two number of blocks
//    (block_size 1–64 KiB, up to the mapping's max folio size, 256 KiB by
//    default) in an O_DIRECT-ready zero-filled buffer, with per-block uptodate
//    and dirty bits (iomap_folio_state), a sleeping lock, a writeback flag, a
//    CLOCK reference bit and a reference count (FolioRef = shared_ptr). A
//    folio removed from its mapping stays valid while referenced; mapping()
//    becomes nullptr.
//  - FolioBatch (folio_batch.h): 31 references in a std::array; Add never
//    allocates and never fails except by reporting "full" (I3).
//  - Mapping (mapping.h): one inode's folios, non-overlapping, ordered by
//    position: Lookup, GetOrCreate (largest aligned order that fits),
//    FillDirtyFolios (for zero range, I2/I3), RangeNeedsWriteback,
//    FindDirtyRun (for writeback), TruncateRange/InvalidateRange (I5/I6),
//    WriteAndWait/WaitWritebackRange (fsync), the writeback error record,
//    and ShrinkClean (reclaim).
//  - Writeback protocol (writeback.h): a mapping's owner writes its folios
//    through AddressSpaceOps::Writepages, doing the device I/O with the
//    folio locks held and ending writeback after unlocking. Hence writers
//    never wait for writeback, and NOTHING waits for writeback while holding
//    a folio lock (debug builds abort in Folio::WaitWriteback).
//  - PageCache (page_cache.h): a memory budget over charged mappings with
//    CLOCK reclaim of clean folios, dirty and writeback accounting, flusher
//    threads (expiry and background threshold), writer throttling
//    (BalanceDirty), SyncAll and DropClean.
//  - ReadaheadState (readahead.h): the per-open-file sequential window.
//  - I1: every wait on folio writeback (Folio::WaitWriteback,
//    WaitWritebackRange, WriteAndWait, SyncAll, the waits inside
//    TruncateRange/InvalidateRange) calls AssertNoJournalHandle first; debug
//    builds abort when the waiting thread holds a journal handle. Waits that
//    are optional — GetOrCreate waiting for memory, BalanceDirty waiting for
//    the flushers — are skipped (overcommit / return at once) on a thread
//    holding a journal handle or a folio lock.
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
// Thread safety: all Mapping, PageCache and ReadaheadState methods are safe
// from any thread. A folio's bytes, bitmaps and mapping() are guarded by its
// folio lock; its summary flags dirty()/uptodate()/writeback() are atomics
// readable without it.
//
// Lock order (also in fs/LOCKING.md):
//
//   filesystem inode / invalidate locks (later issues)
//     → folio lock (sleeping; at most one per thread unless taken in
//                   ascending position, as the iterator and writeback do)
//       → filesystem per-inode mapping (extent) lock: writeback maps blocks
//         under it with a folio locked, and iomap_begin calls
//         FillDirtyFolios under it — which is why that locks no folio
//         → Mapping::mu_        (leaf for waits: the index, the CLOCK hand,
//                                the error record and the dirty stamp;
//                                reclaim TryLocks a folio under it, which
//                                never waits)
//       → PageCache::Impl::mu_  (the mapping registry, flusher control and
//                                progress counters; taken by EndWriteback and
//                                by GetOrCreate's memory charge; never held
//                                while calling ops, taking Mapping::mu_ or a
//                                folio lock)
//         → PageCache::Impl::list_mu_ (leaf: the dirty list the flushers
//                                pick from and the set of mappings holding
//                                folios that reclaim walks; also taken under
//                                Mapping::mu_ at a mapping's clean↔dirty and
//                                empty↔non-empty transitions)
//   Folio::state_mu_            (leaf inside one folio's lock and writeback
//                                waits, held only for a few instructions;
//                                taken under PageCache::Impl::mu_ when
//                                EndWriteback clears the flag)
//   journal locks come after every page-cache lock (journal/journal.h).
//
// Waits:
//  - Folio::Lock sleeps for the folio lock; writeback holds folio locks
//    across device I/O only (writeback.h).
//  - WaitWriteback, WaitWritebackRange, WriteAndWait, SyncAll and
//    Truncate/InvalidateRange sleep for writeback holding no folio lock and
//    no page-cache lock (I1-checked).
//  - GetOrCreate on a charged mapping may wait for the flushers to clean
//    memory (no page-cache lock held; skipped under a journal handle or a
//    folio lock). Callers must not hold the filesystem's per-inode mapping
//    lock (writeback takes it) when creating folios.
//  - BalanceDirty may wait for the flushers (no lock; skipped likewise).
//  - Mapping::~Mapping waits until no flusher or reclaimer uses the mapping.
//  - Flushers call Writepages holding no lock.
#pragma once

#include "pagecache/folio.h"        // IWYU pragma: export
#include "pagecache/folio_batch.h"  // IWYU pragma: export
#include "pagecache/mapping.h"      // IWYU pragma: export
#include "pagecache/page_cache.h"   // IWYU pragma: export
#include "pagecache/readahead.h"    // IWYU pragma: export
#include "pagecache/writeback.h"    // IWYU pragma: export
