// PageCache: options, the public facade, the mapping registry and memory
// (charge / reclaim). Flushers and throttling live in flusher.cc.
#include "pagecache/page_cache.h"

#include <algorithm>
#include <string>

#include "pagecache/base/held_handles.h"
#include "pagecache/page_cache_impl.h"

namespace foliofs {
namespace {

constexpr uint64_t kMinCacheSize = 1ull << 20;

Status ValidateOptions(const PageCacheOptions& o) {
  if (o.cache_size < kMinCacheSize)
    return Status::Error(EINVAL, "page cache size " + std::to_string(o.cache_size) +
                                     " is below the 1 MiB minimum");
  if (o.dirty_percent > 100 || o.dirty_percent <= o.dirty_background_percent)
    return Status::Error(EINVAL, "dirty_percent " + std::to_string(o.dirty_percent) +
                                     " must be in (dirty_background_percent " +
                                     std::to_string(o.dirty_background_percent) + ", 100]");
  if (o.flusher_threads == 0) return Status::Error(EINVAL, "flusher_threads must be at least 1");
  if (o.writeback_chunk == 0) return Status::Error(EINVAL, "writeback_chunk must be positive");
  if (o.flush_interval.count() <= 0)
    return Status::Error(EINVAL, "flush_interval must be positive");
  return Status::Ok();
}

}  // namespace

// ---- facade -----------------------------------------------------------------

Result<std::unique_ptr<PageCache>> PageCache::Create(const PageCacheOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<PageCache> cache(new PageCache(std::make_unique<Impl>(options)));
  cache->impl_->StartFlushers();
  return cache;
}

PageCache::PageCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PageCache::~PageCache() = default;

Result<std::unique_ptr<Mapping>> PageCache::NewMapping(uint32_t block_size, AddressSpaceOps* ops,
                                                       uint64_t max_folio_size) {
  ASSIGN_OR_RETURN(uint32_t max_order, Mapping::MaxOrderFor(block_size, max_folio_size));
  std::unique_ptr<Mapping> m(new Mapping(block_size, max_order, this, ops));
  m->cache_id_ = impl_->Register(m.get());
  return m;
}

void PageCache::BalanceDirty() { impl_->BalanceDirty(); }
void PageCache::WakeFlushers() { impl_->WakeFlushers(); }
Status PageCache::SyncAll() { return impl_->SyncAll(); }
uint64_t PageCache::DropClean() { return impl_->Reclaim(UINT64_MAX, /*all=*/true); }
uint64_t PageCache::bytes() const { return impl_->bytes(); }
uint64_t PageCache::dirty_bytes() const { return impl_->dirty_bytes(); }
uint64_t PageCache::writeback_bytes() const { return impl_->writeback_bytes(); }
PageCache::Stats PageCache::stats() const { return impl_->stats(); }
const PageCacheOptions& PageCache::options() const { return impl_->options(); }

// ---- Impl: registry -----------------------------------------------------------

PageCache::Impl::Impl(const PageCacheOptions& options) : opts_(options) {}

uint64_t PageCache::Impl::Register(Mapping* mapping) {
  std::lock_guard lk(mu_);
  const uint64_t id = next_id_++;
  entries_.emplace(id, Entry{mapping});
  return id;
}

void PageCache::Impl::Unregister(uint64_t id) {
  std::unique_lock lk(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  it->second.dead = true;
  pin_cv_.wait(lk, [&] { return it->second.pins == 0; });
  entries_.erase(it);
}

void PageCache::Impl::UnpinLocked(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (--it->second.pins == 0 && it->second.dead) pin_cv_.notify_all();
}

// ---- Impl: dirty list and cached set ---------------------------------------------

void PageCache::Impl::ListDirty(uint64_t id, int64_t when_ns) {
  std::lock_guard lk(list_mu_);
  dirty_.emplace(when_ns, id);
}

void PageCache::Impl::UnlistDirty(uint64_t id, int64_t when_ns) {
  std::lock_guard lk(list_mu_);
  dirty_.erase(DirtyKey{when_ns, id});
}

void PageCache::Impl::ListCached(uint64_t id) {
  std::lock_guard lk(list_mu_);
  cached_.insert(id);
}

void PageCache::Impl::UnlistCached(uint64_t id) {
  std::lock_guard lk(list_mu_);
  cached_.erase(id);
}

void PageCache::Impl::Forget(uint64_t id, int64_t when_ns) {
  std::lock_guard lk(list_mu_);
  if (when_ns != 0) dirty_.erase(DirtyKey{when_ns, id});
  cached_.erase(id);
}

std::vector<std::pair<uint64_t, Mapping*>> PageCache::Impl::PinAll() {
  std::lock_guard lk(mu_);
  std::vector<std::pair<uint64_t, Mapping*>> out;
  for (auto& [id, e] : entries_) {
    if (e.dead) continue;
    PinLocked(e);
    out.emplace_back(id, e.mapping);
  }
  return out;
}

// Every live mapping is pinned up front (none can be destroyed before it is
// synced) and unpinned as soon as it is done, so a mapping being destroyed
// waits only for its own WriteAndWait.
Status PageCache::Impl::SyncAll() {
  AssertNoJournalHandle("PageCache::SyncAll");
  Status first;
  for (const auto& [id, m] : PinAll()) {
    Status s = m->WriteAndWait(0, UINT64_MAX);
    if (!s.ok() && first.ok()) first = s;
    std::lock_guard lk(mu_);
    UnpinLocked(id);
  }
  return first;
}

// ---- Impl: memory -------------------------------------------------------------

bool PageCache::Impl::TryReserve(uint64_t bytes) {
  const int64_t want = static_cast<int64_t>(bytes);
  const int64_t limit = static_cast<int64_t>(opts_.cache_size);
  int64_t cur = bytes_.load(std::memory_order_relaxed);
  while (cur + want <= limit) {
    if (bytes_.compare_exchange_weak(cur, cur + want, std::memory_order_acq_rel)) return true;
  }
  return false;
}

uint64_t PageCache::Impl::NextCachedLocked() {
  std::lock_guard lk(list_mu_);
  for (;;) {
    auto it = cached_.upper_bound(reclaim_cursor_);
    if (it == cached_.end()) it = cached_.begin();
    if (it == cached_.end()) return 0;
    if (entries_.count(*it) != 0) return *it;
    cached_.erase(it);  // unregistered (ids are never reused): stale
  }
}

// Round-robin over cached_ only: mappings without folios cost nothing.
uint64_t PageCache::Impl::Reclaim(uint64_t target, bool all) {
  uint64_t freed = 0;
  // Two rounds: the first clears reference bits, the second drops what they
  // protected (CLOCK's second chance).
  for (int round = 0; round < 2 && freed < target; round++) {
    size_t live;
    {
      std::lock_guard lk(list_mu_);
      live = cached_.size();
    }
    for (size_t n = 0; n < live && freed < target; n++) {
      uint64_t id = 0;
      Mapping* m = nullptr;
      {
        std::lock_guard lk(mu_);
        id = NextCachedLocked();
        if (id == 0) break;
        reclaim_cursor_ = id;
        Entry& e = entries_.at(id);
        if (e.dead) continue;
        PinLocked(e);
        m = e.mapping;
      }
      freed += m->ShrinkClean(target - freed, all);
      std::lock_guard lk(mu_);
      UnpinLocked(id);
    }
  }
  if (freed > 0) {
    reclaimed_bytes_.fetch_add(freed, std::memory_order_relaxed);
    std::lock_guard lk(mu_);
    progress_gen_++;
    progress_cv_.notify_all();  // memory freed: waiting creators may proceed
  }
  return freed;
}

// page_cache.h's rules: reclaim; if nothing is reclaimable, wait for the
// flushers to clean folios — unless this thread holds a journal handle (I1)
// or a folio lock (reclaim may need that very folio written), or a full
// flusher pass made nothing reclaimable with no writeback in flight
// (everything pinned): then overcommit, and later creators reclaim it back.
void PageCache::Impl::Charge(uint64_t bytes) {
  const bool may_wait = !ThreadHoldsJournalHandle() && !Folio::ThreadHoldsFolioLock();
  bool waited = false, reserved = false;
  uint64_t mark_gen = UINT64_MAX, mark_pass = UINT64_MAX;
  for (;;) {
    if (TryReserve(bytes)) {
      reserved = true;
      break;
    }
    const int64_t over = bytes_.load() + static_cast<int64_t>(bytes) -
                         static_cast<int64_t>(opts_.cache_size);
    // Reclaim a little extra so that every creation does not scan.
    const uint64_t slack = std::min<uint64_t>(opts_.cache_size / 64, 1ull << 20);
    if (Reclaim(static_cast<uint64_t>(std::max<int64_t>(over, 0)) + slack, false) > 0) continue;
    std::unique_lock lk(mu_);
    if (!may_wait || stop_) break;
    if (!waited) {
      waited = true;
      reclaim_waits_.fetch_add(1, std::memory_order_relaxed);
      reclaim_waiters_++;  // flushers write even below the background threshold
    }
    if (StalledLocked(&mark_gen, &mark_pass)) break;  // nothing left to wait for
    wake_ = true;
    flush_cv_.notify_all();
    WaitProgressLocked(lk);
  }
  if (waited) {
    std::lock_guard lk(mu_);
    reclaim_waiters_--;
  }
  if (!reserved) {
    overcommits_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(static_cast<int64_t>(bytes), std::memory_order_acq_rel);
  }
}

bool PageCache::Impl::StalledLocked(uint64_t* mark_gen, uint64_t* mark_pass) const {
  if (*mark_gen != progress_gen_ || flushing_ > 0 || writeback_bytes_.load() > 0) {
    *mark_gen = progress_gen_;  // progress, or work under way: restart the clock
    *mark_pass = pass_gen_;
    return false;
  }
  return pass_gen_ >= *mark_pass + 2;
}

void PageCache::Impl::WaitProgressLocked(std::unique_lock<std::mutex>& lk) {
  const uint64_t gen = progress_gen_, pass = pass_gen_;
  // Timed: a completion that slipped in before we slept, or progress that is
  // not signalled (dirty bytes dropping by ClearDirty), is seen on the next
  // check; nothing can hang on a missed wakeup.
  progress_cv_.wait_for(lk, std::chrono::milliseconds(10),
                        [&] { return stop_ || progress_gen_ != gen || pass_gen_ != pass; });
}

uint64_t PageCache::Impl::dirty_bytes() const {
  return static_cast<uint64_t>(std::max<int64_t>(dirty_bytes_.load(), 0));
}
uint64_t PageCache::Impl::writeback_bytes() const {
  return static_cast<uint64_t>(std::max<int64_t>(writeback_bytes_.load(), 0));
}

PageCache::Stats PageCache::Impl::stats() const {
  Stats s;
  s.reclaimed_bytes = reclaimed_bytes_.load();
  s.reclaim_waits = reclaim_waits_.load();
  s.overcommits = overcommits_.load();
  s.throttle_waits = throttle_waits_.load();
  s.flusher_passes = flusher_passes_.load();
  s.flusher_errors = flusher_errors_.load();
  return s;
}

}  // namespace foliofs
