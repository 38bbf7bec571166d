// PageCache: the memory budget, dirty accounting, flusher threads, writer
// throttling and reclaim shared by every Mapping created from it (the
// kernel's bdi writeback + vmscan, for one daemon).
//
// Memory. Every folio of a charged mapping counts its size against
// cache_size. Creating a folio that would exceed it first reclaims clean
// folios (CLOCK: a folio touched since the hand last passed gets a second
// chance). A folio is reclaimable when it is clean, not under writeback, not
// locked and referenced by nobody but its mapping. When nothing is
// reclaimable the creator wakes the flushers and waits for writeback to make
// folios clean — unless waiting could deadlock: a thread that holds a journal
// handle (I1) or a folio lock never waits; it overcommits (counted in
// stats().overcommits) and the next creator reclaims the excess. A creator
// also overcommits rather than wait forever when no writeback is in flight
// and nothing became reclaimable for a full flusher pass (everything pinned).
//
// Dirty data. dirty_bytes() is the size of folios with any dirty block.
//  - Above dirty_background_percent of cache_size the flushers write back,
//    oldest-dirtied mapping first, until below it.
//  - A mapping dirty for longer than dirty_expire is written back whole by the
//    next flusher pass (every flush_interval).
//  - Above dirty_percent, BalanceDirty (called by writers after dirtying,
//    balance_dirty_pages) blocks the writer until writeback brings dirty
//    bytes back under the limit — except on a thread holding a journal handle
//    or a folio lock, which returns at once.
//
// Threads: `flusher_threads` background threads, started by Create and joined
// by the destructor. They call AddressSpaceOps::Writepages of registered
// mappings with no lock held.
//
// Thread safety: every method may be called from any thread.
// Locks (fs/LOCKING.md): PageCache::mu_ guards the mapping registry, the
// flusher queue and the wait conditions; it is a leaf with respect to the
// page cache — taken after (never while waiting for) a folio lock, never held
// while calling into a mapping's ops or taking Mapping::mu_... except that
// reclaim takes one Mapping::mu_ at a time with mu_ released.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "pagecache/base/status.h"
#include "pagecache/folio.h"
#include "pagecache/writeback.h"

namespace foliofs {

class Mapping;

struct PageCacheOptions {
  uint64_t cache_size = 256ull << 20;      // bytes of folio memory (≥ 1 MiB)
  uint32_t dirty_background_percent = 10;  // flushers start above this
  uint32_t dirty_percent = 40;             // writers throttle above this (> background)
  std::chrono::milliseconds dirty_expire{3000};
  std::chrono::milliseconds flush_interval{500};
  uint32_t flusher_threads = 2;            // ≥ 1
  uint64_t writeback_chunk = 16ull << 20;  // bytes per background Writepages call
};

class PageCache {
 public:
  struct Stats {
    uint64_t reclaimed_bytes = 0;   // clean folios dropped by reclaim
    uint64_t reclaim_waits = 0;     // creators that waited for writeback
    uint64_t overcommits = 0;       // creators that went over cache_size instead of waiting
    uint64_t throttle_waits = 0;    // BalanceDirty calls that blocked
    uint64_t flusher_passes = 0;    // background Writepages calls
    uint64_t flusher_errors = 0;    // background Writepages calls that failed
  };

  // EINVAL for bad options (cache_size < 1 MiB, dirty_percent ≤
  // dirty_background_percent or > 100, flusher_threads == 0).
  static Result<std::unique_ptr<PageCache>> Create(const PageCacheOptions& options);
  // Stops and joins the flushers. Precondition: every mapping created from
  // this cache has been destroyed.
  ~PageCache();
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // A new mapping charged to this cache and registered with the flushers.
  // `ops` (may be nullptr: the mapping's dirty folios are then never written
  // back by the cache) must outlive the mapping. block_size and
  // max_folio_size as for Mapping::Create.
  Result<std::unique_ptr<Mapping>> NewMapping(uint32_t block_size, AddressSpaceOps* ops,
                                              uint64_t max_folio_size = kDefaultMaxFolioSize);

  // Writer throttling; see the header comment. Call with no folio lock held.
  void BalanceDirty();
  // Asks the flushers for a background pass now.
  void WakeFlushers();
  // sync(2): writes back every registered mapping (WritebackControl::sync)
  // and waits for all of it. Returns the first error. I1-checked.
  Status SyncAll();
  // drop_caches: drops every reclaimable folio of every mapping; returns the
  // bytes freed.
  uint64_t DropClean();

  uint64_t bytes() const;            // folio memory charged now
  uint64_t dirty_bytes() const;
  uint64_t writeback_bytes() const;  // folios with writeback() set
  Stats stats() const;
  const PageCacheOptions& options() const;

  class Impl;  // page_cache.cc; Mapping and Folio report to it

 private:
  explicit PageCache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class Mapping;
};

}  // namespace foliofs
