// PageCache::Impl: the state behind PageCache (page_cache.h). Internal to
// pagecache/: Folio and Mapping report to it (charges, dirty and writeback
// bytes, writeback completions); nothing outside this directory includes it.
//
// Locks:
//  - mu_ guards the registry (entries_ and their pins/flags), the reclaim
//    cursor, the flusher control flags and the progress generations. It is
//    taken after a folio lock (EndWriteback has none, Charge may run with
//    one held) and before Folio::state_mu_ (EndFolioWriteback clears the
//    flag under it). It is NEVER held while calling AddressSpaceOps, taking
//    Mapping::mu_ or a folio lock, or waiting on anything but its own
//    condition variables.
//  - list_mu_ guards the dirty list (dirty_) and the cached set (cached_).
//    It is a leaf: taken by Mapping under its mu_ (the 0 ↔ non-zero dirty
//    and folio transitions, so a list always agrees with the mapping's own
//    counters) and by the flushers and reclaim under mu_; nothing is taken,
//    called or waited for under it.
//  - Byte counters and stats are atomics, read lock-free.
//
// Why lists: the daemon keeps one mapping per cached inode, most of them
// clean and many empty. The flushers and reclaim walk only dirty_ and
// cached_, so a pick costs O(log n) plus the entries it passes over (being
// flushed by another flusher or being destroyed), not a scan of entries_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <thread>
#include <vector>

#include "pagecache/mapping.h"
#include "pagecache/page_cache.h"

namespace foliofs {

class PageCache::Impl {
 public:
  explicit Impl(const PageCacheOptions& options);
  ~Impl();  // stops and joins the flushers

  void StartFlushers();

  const PageCacheOptions& options() const { return opts_; }

  // ---- registry (Mapping construction / destruction) ----
  uint64_t Register(Mapping* mapping);
  // Marks the entry dead (no new pins) and waits until nobody pins it.
  void Unregister(uint64_t id);

  // ---- dirty list and cached set (list_mu_; called by Mapping under its mu_) ----
  // A mapping with ops went clean → dirty with stamp when_ns (its new
  // dirtied_when) / dirty → clean, when_ns being the stamp it had.
  void ListDirty(uint64_t id, int64_t when_ns);
  void UnlistDirty(uint64_t id, int64_t when_ns);
  // A mapping's folio index went empty → non-empty / non-empty → empty.
  void ListCached(uint64_t id);
  void UnlistCached(uint64_t id);
  // ~Mapping, after Unregister: drops whatever is still listed for `id`
  // (when_ns: its final dirty stamp, 0 if clean).
  void Forget(uint64_t id, int64_t when_ns);

  // ---- memory ----
  // Makes room for and charges `bytes` of a new folio: reclaims clean
  // folios, waits for writeback when allowed, overcommits otherwise.
  void Charge(uint64_t bytes);
  void Uncharge(uint64_t bytes) { bytes_.fetch_sub(bytes, std::memory_order_acq_rel); }
  // Reclaims up to `target` bytes round-robin over the mappings that hold
  // folios (cached_; two rounds, so referenced folios get their second
  // chance). No lock held on entry.
  uint64_t Reclaim(uint64_t target, bool all);

  // ---- dirty / writeback accounting (atomics; no lock) ----
  void AddDirty(int64_t delta) { dirty_bytes_.fetch_add(delta, std::memory_order_acq_rel); }
  void AddWriteback(int64_t delta) {
    writeback_bytes_.fetch_add(delta, std::memory_order_acq_rel);
  }
  // Writeback of `bytes` ended: runs clear_flag under mu_, then wakes the
  // waiters of progress_cv_ (notified under mu_ so the cache may be
  // destroyed right after the last completion returns).
  template <typename F>
  void EndWriteback(uint64_t bytes, F&& clear_flag) {
    std::lock_guard lk(mu_);
    AddWriteback(-static_cast<int64_t>(bytes));
    clear_flag();
    progress_gen_++;
    progress_cv_.notify_all();
  }

  // ---- flushers and throttling ----
  void BalanceDirty();
  void WakeFlushers();
  Status SyncAll();

  uint64_t bytes() const { return static_cast<uint64_t>(bytes_.load()); }
  uint64_t dirty_bytes() const;
  uint64_t writeback_bytes() const;
  PageCache::Stats stats() const;

 private:
  struct Entry {
    Mapping* mapping;
    int pins = 0;          // flushers/reclaimers/SyncAll using it with mu_ released
    bool dead = false;     // being destroyed: no new pins
    bool flushing = false; // a flusher is writing it back (others skip it)
  };
  using Clock = std::chrono::steady_clock;

  // mu_ held: pins an entry's mapping (its destructor waits until every pin
  // is released); UnpinLocked (mu_ held) releases one pin.
  void PinLocked(Entry& e) { e.pins++; }
  void UnpinLocked(uint64_t id);
  // All live mappings, each pinned (takes mu_).
  std::vector<std::pair<uint64_t, Mapping*>> PinAll();

  void FlusherLoop();
  void FlushPass();
  // Writes back one pinned mapping (mu_ not held); true if bytes were written.
  bool FlushOne(Mapping& m, uint64_t max_bytes);
  // A position in dirty_: (dirtied_when ns, id).
  using DirtyKey = std::pair<int64_t, uint64_t>;
  // mu_ held (takes list_mu_): the id of the first dirty_ entry at or after
  // *cursor (strictly after when !include_cursor) that is dirtied at or before
  // cutoff_ns, live and not being written by a flusher; *cursor becomes its
  // key. 0 when none. Drops entries of unregistered ids on the way.
  uint64_t PickFlushTargetLocked(DirtyKey* cursor, bool include_cursor, int64_t cutoff_ns);
  // mu_ held (takes list_mu_): the first id of cached_ after reclaim_cursor_,
  // wrapping around; 0 when cached_ is empty.
  uint64_t NextCachedLocked();
  uint64_t background_limit() const;
  uint64_t dirty_limit() const;
  // Waits (mu_ held via lk) for progress or a short timeout.
  void WaitProgressLocked(std::unique_lock<std::mutex>& lk);
  // mu_ held. Tracks whether waiting can still help: returns true once two
  // flusher passes have ended since the last progress (a writeback
  // completion or a reclaim, counted by progress_gen_) while no flusher is
  // writing and no writeback is in flight. *mark_gen / *mark_pass: the
  // caller's state, initialised to UINT64_MAX.
  bool StalledLocked(uint64_t* mark_gen, uint64_t* mark_pass) const;
  // Reserves bytes if they fit under cache_size (CAS; no lock).
  bool TryReserve(uint64_t bytes);

  const PageCacheOptions opts_;

  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> dirty_bytes_{0};
  std::atomic<int64_t> writeback_bytes_{0};

  std::atomic<uint64_t> reclaimed_bytes_{0}, reclaim_waits_{0}, overcommits_{0},
      throttle_waits_{0}, flusher_passes_{0}, flusher_errors_{0};

  mutable std::mutex mu_;
  std::condition_variable flush_cv_;     // flushers sleep here (wake_, stop_)
  std::condition_variable progress_cv_;  // writeback ended / a flusher pass ended
  std::condition_variable pin_cv_;       // an entry's pins dropped to 0
  std::map<uint64_t, Entry> entries_;    // guarded by mu_; key = registration id
  uint64_t next_id_ = 1;                 // guarded by mu_
  uint64_t reclaim_cursor_ = 0;          // guarded by mu_: last cached_ id reclaim visited
  bool wake_ = false;                    // guarded by mu_: a pass was requested
  bool stop_ = false;                    // guarded by mu_
  int reclaim_waiters_ = 0;              // guarded by mu_: creators waiting for memory
  int flushing_ = 0;                     // guarded by mu_: entries with flushing set
  uint64_t progress_gen_ = 0;            // guarded by mu_: writeback completions, reclaims
  uint64_t pass_gen_ = 0;                // guarded by mu_: completed flusher passes
  std::atomic<int> active_flushers_{0};  // flushers inside a pass
  std::vector<std::thread> flushers_;    // written by StartFlushers / ~Impl only

  std::mutex list_mu_;  // leaf; see the header comment
  // Guarded by list_mu_. dirty_: one key per registered mapping with ops and
  // dirty folios, ordered oldest-dirtied first (the kernel's b_dirty list);
  // the key's stamp equals the mapping's dirtied_when. cached_: the ids of
  // registered mappings with at least one folio. ~Mapping removes its own
  // entries after Unregister; the pickers also drop ids no longer in entries_
  // (ids are never reused, so such an entry is stale).
  std::set<DirtyKey> dirty_;
  std::set<uint64_t> cached_;
};

}  // namespace foliofs
