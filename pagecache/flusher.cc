// PageCache flusher threads and writer throttling (the kernel's wb_workfn
// and balance_dirty_pages, simplified).
//
// A flusher sleeps on flush_cv_ for flush_interval or until woken, then runs
// one pass: first every mapping dirty for longer than dirty_expire is written
// back whole, then, while dirty bytes exceed the background threshold, the
// oldest-dirtied mappings in writeback_chunk pieces. A mapping being written
// by one flusher is marked `flushing` so the others pick different ones; it
// is pinned so its destructor waits for the flusher. Writepages runs with no
// lock held.
//
// Targets come from the dirty list (dirty_, ordered by dirtied_when), never
// from a scan of every registered mapping: a pass walks the list once with a
// cursor, so its cost follows the dirty mappings, whatever the number of
// clean ones.
#include <algorithm>
#include <climits>

#include "pagecache/base/held_handles.h"
#include "pagecache/page_cache_impl.h"

namespace foliofs {

void PageCache::Impl::StartFlushers() {
  for (uint32_t i = 0; i < opts_.flusher_threads; i++)
    flushers_.emplace_back([this] { FlusherLoop(); });
}

PageCache::Impl::~Impl() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    flush_cv_.notify_all();
    progress_cv_.notify_all();
  }
  for (auto& t : flushers_) t.join();
}

uint64_t PageCache::Impl::background_limit() const {
  return opts_.cache_size / 100 * opts_.dirty_background_percent;
}
uint64_t PageCache::Impl::dirty_limit() const {
  return opts_.cache_size / 100 * opts_.dirty_percent;
}

void PageCache::Impl::WakeFlushers() {
  std::lock_guard lk(mu_);
  wake_ = true;
  flush_cv_.notify_all();
}

void PageCache::Impl::FlusherLoop() {
  std::unique_lock lk(mu_);
  for (;;) {
    flush_cv_.wait_for(lk, opts_.flush_interval, [&] { return stop_ || wake_; });
    if (stop_) return;
    wake_ = false;
    active_flushers_++;
    lk.unlock();
    FlushPass();
    lk.lock();
    active_flushers_--;
    pass_gen_++;
    progress_cv_.notify_all();
  }
}

uint64_t PageCache::Impl::PickFlushTargetLocked(DirtyKey* cursor, bool include_cursor,
                                                int64_t cutoff_ns) {
  std::lock_guard lk(list_mu_);
  auto it = include_cursor ? dirty_.lower_bound(*cursor) : dirty_.upper_bound(*cursor);
  while (it != dirty_.end() && it->first <= cutoff_ns) {
    auto e = entries_.find(it->second);
    if (e == entries_.end()) {
      it = dirty_.erase(it);  // unregistered (ids are never reused): stale
      continue;
    }
    if (e->second.dead || e->second.flushing) {
      ++it;  // being destroyed, or another flusher has it
      continue;
    }
    *cursor = *it;
    return it->second;
  }
  return 0;
}

bool PageCache::Impl::FlushOne(Mapping& m, uint64_t max_bytes) {
  WritebackControl wbc;
  wbc.sync = false;
  wbc.max_bytes = max_bytes;
  Status s = m.ops()->Writepages(m, wbc);
  flusher_passes_.fetch_add(1, std::memory_order_relaxed);
  if (!s.ok()) flusher_errors_.fetch_add(1, std::memory_order_relaxed);
  return wbc.written > 0;
}

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Each phase walks dirty_ once, oldest first, with a cursor, so a pass always
// ends and never returns to a mapping it wrote (expired) or passed:
//  - expired: every mapping dirtied at or before (pass start − dirty_expire),
//    written whole; the cursor moves past each one. A mapping that goes clean
//    and is redirtied meanwhile gets a newer stamp, beyond the cutoff.
//  - background: while over the threshold (or creators wait for memory), the
//    mapping at the cursor is written a chunk at a time; while a chunk makes
//    progress the same mapping (same key: still dirty since the same stamp)
//    is picked again, and one that made none is passed.
// Mappings being written by another flusher (or being destroyed) are passed
// over — that flusher handles them — though each pick looks past them again,
// so a pick costs O(log n) plus at most flusher_threads such entries (and
// the few mappings being destroyed).
void PageCache::Impl::FlushPass() {
  const int64_t expire_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(opts_.dirty_expire).count();
  const int64_t expired_cutoff = NowNs() - expire_ns;
  for (int phase = 0; phase < 2; phase++) {
    const bool expired = phase == 0;
    DirtyKey cursor{INT64_MIN, 0};
    bool include_cursor = true;
    for (;;) {
      uint64_t id;
      Mapping* m;
      {
        std::lock_guard lk(mu_);
        if (stop_) return;
        if (!expired && dirty_bytes() <= background_limit() && reclaim_waiters_ == 0) break;
        id = PickFlushTargetLocked(&cursor, include_cursor, expired ? expired_cutoff : INT64_MAX);
        if (id == 0) break;
        Entry& e = entries_.at(id);
        e.flushing = true;
        flushing_++;
        PinLocked(e);
        m = e.mapping;
      }
      const bool progress = FlushOne(*m, expired ? UINT64_MAX : opts_.writeback_chunk);
      include_cursor = !expired && progress;
      std::lock_guard lk(mu_);
      entries_.at(id).flushing = false;
      flushing_--;
      UnpinLocked(id);
    }
  }
}

// balance_dirty_pages: a thread that cannot wait safely (journal handle: I1;
// folio lock: the flusher may need it) returns at once. Otherwise it waits
// for the flushers until dirty bytes are under the limit, or until a whole
// flusher pass ran with no progress and no writeback in flight (dirty data
// nobody can write, e.g. mappings without ops): waiting longer would hang.
void PageCache::Impl::BalanceDirty() {
  const uint64_t dirty = dirty_bytes();
  if (dirty > background_limit() && active_flushers_.load() == 0) WakeFlushers();
  if (dirty <= dirty_limit()) return;
  if (ThreadHoldsJournalHandle() || Folio::ThreadHoldsFolioLock()) return;
  throttle_waits_.fetch_add(1, std::memory_order_relaxed);
  std::unique_lock lk(mu_);
  uint64_t mark_gen = UINT64_MAX, mark_pass = UINT64_MAX;
  while (!stop_ && dirty_bytes() > dirty_limit() && !StalledLocked(&mark_gen, &mark_pass)) {
    wake_ = true;
    flush_cv_.notify_all();
    WaitProgressLocked(lk);
  }
}

}  // namespace foliofs
