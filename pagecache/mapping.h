// Mapping: the page cache of one inode (the kernel's struct address_space):
// an ordered index of non-overlapping folios by file position, with lookup,
// creation of large folios, batched lookup of dirty/writeback folios for the
// iomap iterator (I2, I3), and truncate/invalidate of a range (I5, I6).
//
// Thread safety: every method may be called from any thread concurrently.
// The index is guarded by mu_, a short leaf lock: it is never held while
// waiting for a folio lock or for writeback, and nothing is called under it
// that takes another lock but the cache's leaf list lock. Methods that return folios return them
// referenced and NOT locked. A thread that locks a folio it got from here must
// check `folio.mapping() == &mapping` afterwards: a truncate may have removed
// it between the lookup and the lock (the kernel's folio->mapping recheck).
//
// Lock order (pagecache.h): folio lock → Mapping::mu_; Folio::state_mu_ is a
// separate leaf inside the folio's lock and writeback waits (ShrinkClean
// TryLocks folios under mu_: that never waits). A charged mapping (made by
// PageCache::NewMapping) reports to its cache with no mu_ held, except the
// lock-free byte counters and its entries in the cache's dirty list and
// cached set (PageCache::Impl::list_mu_, a leaf taken under mu_).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "pagecache/base/status.h"
#include "pagecache/folio.h"
#include "pagecache/folio_batch.h"
#include "pagecache/writeback.h"

namespace foliofs {

class PageCache;

class Mapping {
 public:
  // A standalone mapping: no memory limit, no flushers, no ops (tests of the
  // index itself). Filesystems use PageCache::NewMapping.
  // block_size: power of two in [1 KiB, 64 KiB]; max_folio_size: a power of
  // two ≥ block_size (default 256 KiB). EINVAL otherwise.
  static Result<std::unique_ptr<Mapping>> Create(uint32_t block_size,
                                                 uint64_t max_folio_size = kDefaultMaxFolioSize);
  // Precondition: no folio of this mapping is locked or under writeback and
  // no other thread uses the mapping (the owner has written back or truncated
  // what it wants kept). Unregisters from the cache, waiting for a flusher or
  // reclaimer that is using the mapping to let go; uncharges every folio.
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  uint32_t block_size() const { return block_size_; }
  uint32_t max_order() const { return max_order_; }

  // The folio containing `pos`, or nullptr.
  FolioRef Lookup(uint64_t pos) const;

  PageCache* cache() const { return cache_; }  // nullptr when standalone
  AddressSpaceOps* ops() const { return ops_; }

  // The folio containing `pos`; if none, creates one of the largest order
  // ≤ min(order_hint, max_order()) whose naturally aligned range contains pos
  // and overlaps no existing folio (order 0 always fits). New folios are
  // zero-filled, clean and not uptodate. ENOMEM when allocation fails.
  // For a charged mapping, creation may reclaim and may wait for writeback to
  // free memory (see page_cache.h: never on a thread holding a journal handle
  // or a folio lock — those overcommit). Lookup and GetOrCreate mark the
  // folio accessed (the CLOCK reference bit).
  Result<FolioRef> GetOrCreate(uint64_t pos, uint32_t order_hint);

  // Adds to `batch`, in position order, the folios overlapping [start, end)
  // that are dirty or under writeback, referenced and NOT locked (see
  // pagecache.h for why). Returns the position up to which it looked: `end`
  // when it examined the whole range, or the end of the last batched folio
  // when the batch became full before that (the caller trims its mapping
  // there, I3). Never waits, never allocates.
  uint64_t FillDirtyFolios(uint64_t start, uint64_t end, FolioBatch& batch) const;

  // True when a folio overlapping [start, end) is dirty or under writeback.
  bool RangeNeedsWriteback(uint64_t start, uint64_t end) const;

  // Writeback's iteration hook: from the first folio at or after `from`
  // (or containing it) that is dirty and not under writeback, adds that folio
  // and the following position-contiguous ones with the same property, up to
  // max_bytes in total (at least one folio) or a full batch. Referenced, not
  // locked. Returns the end of the last folio added, or UINT64_MAX when no
  // dirty folio starts at or after `from`.
  uint64_t FindDirtyRun(uint64_t from, uint64_t max_bytes, FolioBatch& batch) const;

  // fsync's data half (filemap_write_and_wait_range): writes back every folio
  // of [start, end) that is dirty when called — through ops()->Writepages with
  // wbc.sync, twice, waiting for writeback in between, so folios redirtied
  // while under writeback are written too — then waits for all writeback in
  // the range. Returns the first error of this call, or else the error
  // recorded by SetError since the last WriteAndWait/TakeError (and clears
  // it). I1-checked; the caller holds no folio lock. A mapping without ops
  // returns OK after waiting.
  Status WriteAndWait(uint64_t start, uint64_t end);

  // Waits until no folio overlapping [start, end) is under writeback. Holds no
  // folio lock while waiting. I1-checked.
  void WaitWritebackRange(uint64_t start, uint64_t end);

  // Writeback errors (mapping_set_error / errseq): the first error since the
  // last TakeError is kept; TakeError returns it and clears it.
  void SetError(const Status& error);
  Status TakeError();

  // When the mapping last went from no dirty folio to some (the flushers'
  // dirty age); time_point{} while clean.
  std::chrono::steady_clock::time_point dirtied_when() const;

  // Truncate or punch [start, end) (end = UINT64_MAX: to the end of the file).
  // Folios wholly inside are removed, dirty or not, after their writeback
  // ends (waited for with no folio lock held: lock, see writeback, unlock,
  // WaitWriteback, retry). Folios partly inside (after their writeback ends)
  // get exactly the
  // covered bytes zeroed (I5, I6); blocks wholly covered become uptodate and
  // clean (their zeros are the truth: a hole or past EOF), partly covered
  // blocks keep their states. Waits (I1-checked); the caller holds no folio
  // lock and keeps new folios out of the range (the filesystem's
  // invalidate lock).
  void TruncateRange(uint64_t start, uint64_t end);

  // Forget the cache of [start, end) after the device changed under it.
  // Folios wholly inside are removed as by TruncateRange. Folios partly inside
  // get the covered bytes zeroed; blocks wholly covered become not uptodate and
  // clean (a later read goes to the device), partly covered blocks keep their
  // states. Same waits and caller rules as TruncateRange.
  void InvalidateRange(uint64_t start, uint64_t end);

  // Folios whose dirty() is set / all folios. Exact when no folio changes
  // concurrently.
  size_t dirty_count() const {
    return static_cast<size_t>(dirty_folios_.load(std::memory_order_acquire));
  }
  size_t folio_count() const;
  uint64_t bytes() const;  // total size of the folios in the index

  // Reclaim hook for PageCache: drops up to `target` bytes of reclaimable
  // folios (clean, not under writeback, not locked, referenced only by the
  // index), advancing this mapping's CLOCK hand and clearing reference bits
  // of folios it passes over; a folio with its bit set survives one pass.
  // `all`: ignore reference bits (drop_caches). Returns the bytes dropped.
  uint64_t ShrinkClean(uint64_t target, bool all);

 private:
  friend class Folio;
  friend class PageCache;
  enum class RangeOp { kTruncate, kInvalidate };

  Mapping(uint32_t block_size, uint32_t max_order, PageCache* cache, AddressSpaceOps* ops);
  // Validates Create's geometry; returns log2(max_folio_size / block_size).
  static Result<uint32_t> MaxOrderFor(uint32_t block_size, uint64_t max_folio_size);
  // Called by Folio under the folio lock when dirty() flips (delta ±1, the
  // folio's size): keeps dirty_folios_, dirtied_when_ and the cache's dirty
  // bytes. Takes mu_. AccountDirtyLocked: mu_ already held.
  void AccountDirty(int delta, uint64_t bytes);
  void AccountDirtyLocked(int delta, uint64_t bytes);
  // Called by Folio::StartWriteback (folio lock held) / EndWriteback (no
  // folio lock; the folio cannot leave this mapping while writeback() is
  // set). EndFolioWriteback clears the folio's flag itself, under the
  // cache's lock for a charged mapping, so that a reclaimer or throttled
  // writer that sees the completion also sees the folio clean of writeback.
  void StartFolioWriteback(Folio& folio);
  void EndFolioWriteback(Folio& folio);

  // mu_ held: the folio containing pos, or end().
  std::map<uint64_t, FolioRef>::const_iterator FindLocked(uint64_t pos) const;
  // mu_ held: the first folio overlapping or after pos, or end().
  std::map<uint64_t, FolioRef>::const_iterator FirstFromLocked(uint64_t pos) const;
  // mu_ held: the largest order ≤ hint whose aligned range around pos is free.
  uint32_t FitOrderLocked(uint64_t pos, uint32_t hint) const;
  bool RangeFreeLocked(uint64_t start, uint64_t end) const;
  // The first folio overlapping [from, end), referenced; nullptr if none.
  FolioRef NextOverlapping(uint64_t from, uint64_t end) const;
  // The first folio overlapping [from, end) under writeback; nullptr if none.
  FolioRef NextUnderWriteback(uint64_t from, uint64_t end) const;
  void ShrinkRange(uint64_t start, uint64_t end, RangeOp op);
  // Folio locked, writeback ended: remove or zero it.
  void RemoveFolio(Folio& folio);
  void ZeroPartial(Folio& folio, uint64_t start, uint64_t end, RangeOp op);
  // mu_ held, folio locked and clean of writeback: unlinks it from the index
  // (detaches it, fixes the dirty and byte counts). The caller uncharges the
  // cache with the returned size after releasing mu_.
  uint64_t UnlinkLocked(std::map<uint64_t, FolioRef>::const_iterator it);
  // Returns `bytes` to the cache (no-op when standalone). No lock held.
  void Uncharge(uint64_t bytes);

  const uint32_t block_size_;
  const uint32_t max_order_;
  PageCache* const cache_;      // nullptr: standalone
  AddressSpaceOps* const ops_;  // may be nullptr
  uint64_t cache_id_ = 0;       // registry key in cache_; set once by NewMapping

  // Leaf lock: never held while waiting for a folio lock, for writeback or
  // for memory, nor while calling ops or PageCache (reclaim may TryLock a
  // folio under it, which never waits) — except the cache's list lock
  // (PageCache::Impl::list_mu_, a leaf), taken under it to keep the cache's
  // dirty list and cached set in step with the transitions below.
  mutable std::mutex mu_;
  std::map<uint64_t, FolioRef> folios_;   // guarded by mu_; key = folio pos
  uint64_t clock_hand_ = 0;               // guarded by mu_: ShrinkClean resumes here
  Status error_;                          // guarded by mu_: first unreported error
  // Written under mu_ (the 0 ↔ >0 transitions must be ordered with the
  // stamp); read lock-free. For a charged mapping with ops, the 0 → >0
  // transition lists (stamp, cache_id_) in the cache's dirty list and the
  // >0 → 0 transition unlists it, both under mu_.
  std::atomic<int64_t> dirty_folios_{0};
  std::atomic<int64_t> dirtied_when_ns_{0};  // steady_clock ns; 0 while clean
  // Written under mu_; read lock-free. For a charged mapping, 0 → >0 adds
  // cache_id_ to the cache's cached set (reclaim walks only those) and
  // >0 → 0 removes it, both under mu_.
  std::atomic<uint64_t> bytes_{0};
};

}  // namespace foliofs
