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
#include <algorithm>
#include <vector>

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

uint64_t PageCache::Impl::PickFlushTargetLocked(bool expired_only, Clock::time_point now,
                                                const std::vector<uint64_t>& skip) {
  uint64_t best = 0;
  Clock::time_point best_when = Clock::time_point::max();
  for (auto& [id, e] : entries_) {
    if (e.dead || e.flushing || e.mapping->ops() == nullptr) continue;
    if (std::find(skip.begin(), skip.end(), id) != skip.end()) continue;
    const Clock::time_point when = e.mapping->dirtied_when();  // atomic: no Mapping::mu_
    if (when == Clock::time_point{}) continue;
    if (expired_only && now - when < opts_.dirty_expire) continue;
    if (when < best_when) {
      best = id;
      best_when = when;
    }
  }
  return best;
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

void PageCache::Impl::FlushPass() {
  // Mappings already handled in this pass (expired ones: written whole;
  // background ones: made no progress), so that a pass always ends.
  std::vector<uint64_t> done;
  for (int phase = 0; phase < 2; phase++) {
    const bool expired = phase == 0;
    if (!expired) done.clear();
    for (;;) {
      uint64_t id;
      Mapping* m;
      {
        std::lock_guard lk(mu_);
        if (stop_) return;
        if (!expired && dirty_bytes() <= background_limit() && reclaim_waiters_ == 0) break;
        id = PickFlushTargetLocked(expired, Clock::now(), done);
        if (id == 0) break;
        Entry& e = entries_.at(id);
        e.flushing = true;
        flushing_++;
        PinLocked(e);
        m = e.mapping;
      }
      const bool progress = FlushOne(*m, expired ? UINT64_MAX : opts_.writeback_chunk);
      if (expired || !progress) done.push_back(id);
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
