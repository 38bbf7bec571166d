// Mapping: the page cache of one inode (the kernel's struct address_space):
// an ordered index of non-overlapping folios by file position, with lookup,
// creation of large folios, batched lookup of dirty/writeback folios for the
// iomap iterator (I2, I3), and truncate/invalidate of a range (I5, I6).
//
// Thread safety: every method may be called from any thread concurrently.
// The index is guarded by mu_, a short leaf lock: it is never held while
// waiting for a folio lock or for writeback, and nothing is called under it
// that takes another lock. Methods that return folios return them
// referenced and NOT locked. A thread that locks a folio it got from here must
// check `folio.mapping() == &mapping` afterwards: a truncate may have removed
// it between the lookup and the lock (the kernel's folio->mapping recheck).
//
// Lock order (pagecache.h): folio lock → Mapping::mu_; Folio::state_mu_ is a
// separate leaf inside the folio's lock and writeback waits.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "pagecache/base/status.h"
#include "pagecache/folio.h"
#include "pagecache/folio_batch.h"

namespace foliofs {

class Mapping {
 public:
  // block_size: power of two in [1 KiB, 64 KiB]; max_folio_size: a power of
  // two ≥ block_size (default 256 KiB). EINVAL otherwise.
  static Result<std::unique_ptr<Mapping>> Create(uint32_t block_size,
                                                 uint64_t max_folio_size = kDefaultMaxFolioSize);
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  uint32_t block_size() const { return block_size_; }
  uint32_t max_order() const { return max_order_; }

  // The folio containing `pos`, or nullptr.
  FolioRef Lookup(uint64_t pos) const;

  // The folio containing `pos`; if none, creates one of the largest order
  // ≤ min(order_hint, max_order()) whose naturally aligned range contains pos
  // and overlaps no existing folio (order 0 always fits). New folios are
  // zero-filled, clean and not uptodate. ENOMEM when allocation fails.
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

  // Truncate or punch [start, end) (end = UINT64_MAX: to the end of the file).
  // Folios wholly inside are removed, dirty or not, after their writeback
  // ends. Folios partly inside (after their writeback ends) get exactly the
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

 private:
  friend class Folio;
  enum class RangeOp { kTruncate, kInvalidate };

  Mapping(uint32_t block_size, uint32_t max_order);
  // Called by Folio under the folio lock when dirty() flips.
  void AccountDirty(int delta) { dirty_folios_.fetch_add(delta, std::memory_order_acq_rel); }

  // mu_ held: the folio containing pos, or end().
  std::map<uint64_t, FolioRef>::const_iterator FindLocked(uint64_t pos) const;
  // mu_ held: the largest order ≤ hint whose aligned range around pos is free.
  uint32_t FitOrderLocked(uint64_t pos, uint32_t hint) const;
  bool RangeFreeLocked(uint64_t start, uint64_t end) const;
  // The first folio overlapping [from, end), referenced; nullptr if none.
  FolioRef NextOverlapping(uint64_t from, uint64_t end) const;
  void ShrinkRange(uint64_t start, uint64_t end, RangeOp op);
  // Folio locked, writeback ended: remove or zero it.
  void RemoveFolio(Folio& folio);
  void ZeroPartial(Folio& folio, uint64_t start, uint64_t end, RangeOp op);

  const uint32_t block_size_;
  const uint32_t max_order_;

  mutable std::mutex mu_;                 // leaf: guards folios_
  std::map<uint64_t, FolioRef> folios_;   // guarded by mu_; key = folio pos
  std::atomic<int64_t> dirty_folios_{0};  // changed under the changing folio's lock
};

}  // namespace foliofs
