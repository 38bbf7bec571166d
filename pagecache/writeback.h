// Writeback hooks of the page cache: what a mapping's owner implements so the
// cache (flusher threads, fsync, reclaim) can write its dirty folios (the
// kernel's address_space_operations::writepages and writeback_control).
//
// The page cache never maps file positions to device blocks itself: the
// owner — the iomap layer on behalf of a filesystem inode (fs/iomap/iomap.h,
// IomapWritepages) — does, and submits the I/O.
//
// The writeback protocol every Writepages implementation follows. It is what
// makes DESIGN.md's I1 and I2 hold, so the rest of the cache relies on it:
//  1. Gather a run of dirty folios (Mapping::FindDirtyRun), lock them in
//     ascending position, recheck folio.mapping() == &mapping and dirtiness.
//  2. Under the folio locks: never write folios wholly past EOF (clear their
//     dirty bits; I6), zero the bytes past EOF of the EOF folio, note the
//     dirty blocks, StartWriteback, then ClearDirty — in that order, so that
//     a lock-free reader of dirty()/writeback() (FillDirtyFolios, fsync)
//     never sees the folio neither dirty nor under writeback while its data
//     is not yet on the device (I2).
//  3. Map the dirty blocks (a pure lookup under the filesystem's per-inode
//     mapping lock: no allocation, no journal handle — blocks were allocated,
//     unwritten, when the data was written: I8) and submit the device I/O as
//     batches, **with the folio locks held**, until the device completes it.
//  4. Unlock the folios. Only then run the completion (convert unwritten
//     extents inside the filesystem's own journal handle, under its mapping
//     lock), and only after the completion call Folio::EndWriteback.
// Consequences:
//  - While a folio is unlocked no I/O reads its bytes, so writers and zero
//    range modify a folio under its lock alone and NEVER wait for writeback
//    (no stable-page wait). A redirtied folio is written again later.
//  - A folio lock is held only across device I/O and the mapping lookup, never
//    across anything that needs a journal handle; so a thread holding a
//    handle may wait for a folio lock (I1) — and zero range may run under a
//    handle.
//  - writeback() stays set until the unwritten conversion is done, so the
//    filesystem's iomap_begin sees, under its mapping lock, either the folio
//    dirty/under writeback (and batches it) or its extent written (I2).
//  - Nothing waits for writeback() while holding a folio lock.
#pragma once

#include <cstdint>

#include "pagecache/base/status.h"

namespace foliofs {

class Mapping;

// One call's instructions and results (writeback_control).
struct WritebackControl {
  uint64_t start = 0;             // byte range to write back: [start, end)
  uint64_t end = UINT64_MAX;
  // false (WB_SYNC_NONE, background): skip folios already under writeback
  // and stop after about max_bytes. true (WB_SYNC_ALL, fsync): also write
  // folios that were redirtied while under writeback — wait for that
  // writeback to end first (without any folio lock; I1-checked) — and ignore
  // max_bytes.
  bool sync = false;
  uint64_t max_bytes = UINT64_MAX;
  uint64_t written = 0;           // out: bytes submitted by this call
};

// Implemented by a mapping's owner; see the protocol above. Called by flusher
// threads, by Mapping::WriteAndWait and by PageCache::SyncAll, concurrently
// from several threads for one mapping (each call writes the folios it locks).
// The caller holds no folio lock and no journal handle.
class AddressSpaceOps {
 public:
  virtual ~AddressSpaceOps() = default;
  // Writes back dirty folios of [wbc.start, wbc.end) of `mapping`, waiting for
  // the device and the completion before returning. An I/O error is recorded
  // with mapping.SetError (the folios stay clean: the data is lost, as in
  // Linux, and the next fsync reports it) and returned.
  virtual Status Writepages(Mapping& mapping, WritebackControl& wbc) = 0;
};

}  // namespace foliofs
