// Folio: one cached, naturally aligned piece of a file — block_size · 2^order
// bytes — with per-block uptodate and dirty state, a sleeping lock, a
// writeback flag and a reference count (Linux's struct folio plus iomap's
// struct iomap_folio_state, in one object).
//
// Thread safety (see pagecache.h for the whole layer's contract):
//  - pos/size/order/block_size never change: read them freely.
//  - The folio lock (Lock/TryLock/Unlock) guards the data bytes, the
//    per-block uptodate and dirty bitmaps and mapping(). Every mutator below
//    requires it (checked in debug builds: the owner must be the caller).
//  - The summary flags dirty() (any block dirty), uptodate() (every block
//    uptodate) and writeback() are atomics: any thread may read them without
//    the folio lock, as a snapshot that is stable only under the folio lock
//    (dirty/uptodate) — writeback ends without the folio lock.
//  - EndWriteback may be called by any thread (the I/O completion); it needs
//    no folio lock, like folio_end_writeback.
//  - References: FolioRef is a shared_ptr. A folio removed from its mapping
//    (truncate, invalidate) stays valid, with its bytes, while referenced;
//    mapping() is then nullptr, which is how a holder notices the removal
//    after taking the folio lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pagecache/base/status.h"
#include "pagecache/blockdev/block_device.h"
#include "pagecache/folio_memory.h"

namespace foliofs {

class Folio;
class Mapping;
using FolioRef = std::shared_ptr<Folio>;

inline constexpr uint32_t kMinBlockSize = 1024;
inline constexpr uint32_t kMaxBlockSize = 64 * 1024;
inline constexpr uint64_t kDefaultMaxFolioSize = 256 * 1024;

// Per-block bits of one folio (uptodate or dirty): inline for up to 64
// blocks (every folio up to 256 KiB with 4 KiB blocks), one heap array
// beyond — a std::vector<bool> cost 40 bytes plus a heap chunk per bitmap,
// per folio. No lock of its own: guarded like the state it holds.
class FolioBlockBits {
 public:
  explicit FolioBlockBits(uint32_t nbits);
  uint32_t size() const { return nbits_; }
  bool Test(uint32_t i) const { return (words()[i / 64] >> (i % 64)) & 1; }
  void Set(uint32_t i, bool value);
  void Fill(bool value);
  bool Any() const;
  bool All() const;

 private:
  uint32_t nr_words() const { return (nbits_ + 63) / 64; }
  const uint64_t* words() const { return nbits_ <= 64 ? &inline_ : heap_.get(); }
  uint64_t* words() { return nbits_ <= 64 ? &inline_ : heap_.get(); }
  // Bits of word w that stand for blocks (the last word may be partial).
  uint64_t Mask(uint32_t w) const;

  uint32_t nbits_;
  uint64_t inline_ = 0;
  std::unique_ptr<uint64_t[]> heap_;  // nbits_ > 64 only
};

class Folio {
  struct CreateKey {
    explicit CreateKey() = default;
  };

 public:
  // A zero-filled folio at file position `pos` of block_size << order bytes.
  // block_size: a power of two in [1 KiB, 64 KiB]; pos: a multiple of the
  // folio's size. The buffer is 4096-aligned (O_DIRECT-ready). EINVAL on a bad
  // argument, ENOMEM when the buffer cannot be allocated. The bytes come from
  // `memory` (FolioMemory::Default() for the first form): freed back to it
  // when the last reference goes, reusable by any thread, and given back to
  // the kernel beyond its retained reserve (folio_memory.h has the bound).
  // `memory` must outlive the folio.
  static Result<FolioRef> Create(uint64_t pos, uint32_t block_size, uint32_t order);
  static Result<FolioRef> Create(uint64_t pos, uint32_t block_size, uint32_t order,
                                 FolioMemory& memory);

  // For Create only (std::make_shared needs a public constructor: one
  // allocation holds the folio and its reference count).
  Folio(CreateKey, uint64_t pos, uint32_t block_size, uint32_t order, FolioBuffer data);
  Folio(const Folio&) = delete;
  Folio& operator=(const Folio&) = delete;

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return uint64_t{block_size_} << order_; }
  uint64_t end() const { return pos_ + size(); }
  uint32_t order() const { return order_; }
  uint32_t block_size() const { return block_size_; }
  uint32_t nr_blocks() const { return 1u << order_; }
  bool Contains(uint64_t file_pos) const { return file_pos >= pos_ && file_pos < end(); }

  // The bytes. Guarded by the folio lock (or by writeback: while writeback()
  // is set the I/O reads them, so writers wait for writeback first).
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }

  // --- Lock: a sleeping lock (folio_lock). Waits hold no other lock of this
  // folio's mapping. Unlock by a thread other than the owner aborts in debug.
  void Lock();
  bool TryLock();
  void Unlock();
  bool IsLocked() const { return locked_.load(std::memory_order_acquire); }
  // True when the calling thread holds the lock (debug checks, tests).
  bool IsLockedByMe() const;
  // True when the calling thread holds any folio lock (a thread-local count
  // kept by Lock/TryLock/Unlock): such a thread must not wait for memory or
  // for writeback (page_cache.h).
  static bool ThreadHoldsFolioLock();

  // CLOCK reference bit for reclaim: set on every lookup, cleared by the
  // reclaim hand as it passes. Atomic; no lock.
  void MarkAccessed() { accessed_.store(true, std::memory_order_relaxed); }
  bool TestAndClearAccessed() { return accessed_.exchange(false, std::memory_order_relaxed); }

  // The mapping this folio belongs to, nullptr once removed. Folio lock.
  Mapping* mapping() const;

  // --- Block state. Ranges are byte offsets inside the folio; a range must
  // lie inside [0, size()). Mutators require the folio lock.
  // Marks every block the range touches uptodate. The caller has made those
  // whole blocks valid (read them, or wrote/zeroed every byte of them).
  void MarkUptodate(uint64_t offset, uint64_t len);
  // Marks every block the range touches dirty (and the folio, in the mapping's
  // dirty count). Blocks made dirty must be uptodate or about to be: a dirty
  // block is written whole.
  void MarkDirty(uint64_t offset, uint64_t len);
  // Clears every block's dirty bit (folio_clear_dirty_for_io before writeback).
  void ClearDirty();
  // Clears the dirty bits of the blocks wholly inside the range only.
  void ClearDirtyBlocksIn(uint64_t offset, uint64_t len);
  // Clears the uptodate bits of the blocks wholly inside the range only.
  void ClearUptodateBlocksIn(uint64_t offset, uint64_t len);
  // I5: zeroes exactly bytes [offset, offset+len) of the folio, whatever the
  // block states; changes no state (the caller marks dirty/uptodate as fits).
  void ZeroRange(uint64_t offset, uint64_t len);

  // True when every block the range touches is uptodate / when any is dirty.
  // Folio lock (for a stable answer).
  bool IsUptodate(uint64_t offset, uint64_t len) const;
  bool IsDirty(uint64_t offset, uint64_t len) const;
  bool BlockUptodate(uint32_t block) const;
  bool BlockDirty(uint32_t block) const;

  // Lock-free snapshots (see the header comment).
  bool dirty() const { return dirty_.load(std::memory_order_acquire); }
  bool uptodate() const { return uptodate_.load(std::memory_order_acquire); }
  bool writeback() const { return writeback_.load(std::memory_order_acquire); }

  // --- Writeback (protocol in writeback.h). StartWriteback requires the
  // folio lock and a folio not already under writeback
  // (folio_start_writeback). EndWriteback: any thread, no folio lock, after
  // the filesystem's completion; wakes every waiter. Both update the owning
  // cache's writeback accounting; the folio cannot leave its mapping while
  // under writeback (truncate, invalidate and reclaim wait or skip).
  void StartWriteback();
  void EndWriteback();
  // Sleeps until writeback() is false. I1: calls AssertNoJournalHandle first,
  // so it aborts in debug builds when the thread holds a journal handle.
  // Callers hold no folio lock (writeback.h: a thread holding a journal
  // handle may be waiting for that lock, and writeback completion needs a
  // handle); debug builds abort otherwise.
  void WaitWriteback();

 private:
  friend class Mapping;

  // Aborts (debug builds) unless the calling thread holds the folio lock.
  void AssertLocked(const char* what) const;
  // First and last (inclusive) block touched by a non-empty range.
  void BlockSpan(uint64_t offset, uint64_t len, uint32_t* first, uint32_t* last) const;
  // Blocks wholly inside the range: [*first, *last_excl).
  void WholeBlockSpan(uint64_t offset, uint64_t len, uint32_t* first, uint32_t* last_excl) const;
  void RefreshDirtySummary();
  // Clears writeback_ under state_mu_ (aborts if it was not set); does not
  // notify. EndWriteback calls it, through the cache for charged mappings.
  void ClearWritebackFlag();
  void RefreshUptodateSummary();

  const uint64_t pos_;
  const uint32_t block_size_;
  const uint32_t order_;
  const FolioBuffer data_;  // from FolioMemory; freed with the folio

  // Guarded by the folio lock.
  FolioBlockBits uptodate_bits_;
  FolioBlockBits dirty_bits_;
  // Guarded by the folio lock; written by Mapping under the folio lock and the
  // mapping lock (insertion happens before the folio is published).
  Mapping* mapping_ = nullptr;

  // Summaries of the bitmaps; written under the folio lock, read by anyone.
  std::atomic<bool> dirty_{false};
  std::atomic<bool> uptodate_{false};

  // state_mu_ (leaf) guards the lock word, its owner and the writeback flag's
  // transitions, so that state_cv_ waits see every change. locked_ and
  // writeback_ are atomics so that readers need not take state_mu_.
  mutable std::mutex state_mu_;
  std::condition_variable state_cv_;
  std::atomic<bool> locked_{false};
  std::thread::id owner_;  // guarded by state_mu_
  std::atomic<bool> writeback_{false};
  std::atomic<bool> accessed_{false};
};

// RAII holder of a folio lock (folio_lock / folio_unlock on scope exit).
class FolioLockGuard {
 public:
  explicit FolioLockGuard(Folio& folio) : folio_(folio) { folio_.Lock(); }
  ~FolioLockGuard() { folio_.Unlock(); }
  FolioLockGuard(const FolioLockGuard&) = delete;
  FolioLockGuard& operator=(const FolioLockGuard&) = delete;

 private:
  Folio& folio_;
};

}  // namespace foliofs
