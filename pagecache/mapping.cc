#include "pagecache/mapping.h"

#include <algorithm>
#include <string>
#include <vector>

#include "pagecache/page_cache_impl.h"

namespace foliofs {
namespace {

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

uint32_t Log2(uint64_t v) {
  uint32_t r = 0;
  while (v > 1) {
    v >>= 1;
    r++;
  }
  return r;
}

}  // namespace

Result<uint32_t> Mapping::MaxOrderFor(uint32_t block_size, uint64_t max_folio_size) {
  if (!IsPowerOfTwo(block_size) || block_size < kMinBlockSize || block_size > kMaxBlockSize)
    return Status::Error(EINVAL, "mapping block size " + std::to_string(block_size) +
                                     " is not a power of two in [1 KiB, 64 KiB]");
  if (!IsPowerOfTwo(max_folio_size) || max_folio_size < block_size ||
      max_folio_size > (uint64_t{block_size} << 16))
    return Status::Error(EINVAL, "max folio size " + std::to_string(max_folio_size) +
                                     " is not a power of two ≥ the block size");
  return Log2(max_folio_size / block_size);
}

Result<std::unique_ptr<Mapping>> Mapping::Create(uint32_t block_size, uint64_t max_folio_size) {
  ASSIGN_OR_RETURN(uint32_t max_order, MaxOrderFor(block_size, max_folio_size));
  return std::unique_ptr<Mapping>(new Mapping(block_size, max_order, nullptr, nullptr));
}

Mapping::Mapping(uint32_t block_size, uint32_t max_order, PageCache* cache, AddressSpaceOps* ops)
    : block_size_(block_size), max_order_(max_order), cache_(cache), ops_(ops) {}

// Precondition: no other thread uses the mapping or its folios (inode
// eviction). First unregisters from the cache, waiting out any flusher or
// reclaimer that pinned this mapping. Folios still referenced elsewhere
// outlive it, detached (mapping() == nullptr), so that no folio points at a
// dead mapping. The folio lock is not taken: with no other user it protects
// nothing here, and a folio left locked (a failed test) must not hang the
// destructor.
Mapping::~Mapping() {
  if (cache_ != nullptr) {
    cache_->impl_->Unregister(cache_id_);
    // Unregistered: nobody else touches this mapping now, so the stamp is final.
    cache_->impl_->Forget(cache_id_, dirtied_when_ns_.load(std::memory_order_acquire));
  }
  uint64_t total = 0, dirty = 0;
  for (auto& [pos, folio] : folios_) {
    total += folio->size();
    if (folio->dirty()) dirty += folio->size();
    folio->mapping_ = nullptr;
  }
  if (cache_ != nullptr) {
    cache_->impl_->AddDirty(-static_cast<int64_t>(dirty));
    cache_->impl_->Uncharge(total);
  }
}

void Mapping::AccountDirty(int delta, uint64_t bytes) {
  std::lock_guard lk(mu_);
  AccountDirtyLocked(delta, bytes);
}

void Mapping::AccountDirtyLocked(int delta, uint64_t bytes) {
  const int64_t before = dirty_folios_.fetch_add(delta, std::memory_order_acq_rel);
  // The cache's dirty list follows the stamp, under mu_ like the stamp itself
  // (Mapping::mu_ → the cache's leaf list lock), so both always agree.
  const bool listed = cache_ != nullptr && ops_ != nullptr;
  if (before == 0 && delta > 0) {
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    const int64_t stamp = std::max<int64_t>(now, 1);
    dirtied_when_ns_.store(stamp, std::memory_order_release);
    if (listed) cache_->impl_->ListDirty(cache_id_, stamp);
  } else if (before + delta == 0) {
    const int64_t stamp = dirtied_when_ns_.exchange(0, std::memory_order_acq_rel);
    if (listed && stamp != 0) cache_->impl_->UnlistDirty(cache_id_, stamp);
  }
  if (cache_ != nullptr)
    cache_->impl_->AddDirty(delta > 0 ? static_cast<int64_t>(bytes) : -static_cast<int64_t>(bytes));
}

std::chrono::steady_clock::time_point Mapping::dirtied_when() const {
  const int64_t ns = dirtied_when_ns_.load(std::memory_order_acquire);
  if (ns == 0) return {};
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(ns)));
}

void Mapping::StartFolioWriteback(Folio& folio) {
  if (cache_ != nullptr) cache_->impl_->AddWriteback(static_cast<int64_t>(folio.size()));
}

void Mapping::EndFolioWriteback(Folio& folio) {
  if (cache_ == nullptr) {
    folio.ClearWritebackFlag();
    return;
  }
  cache_->impl_->EndWriteback(folio.size(), [&] { folio.ClearWritebackFlag(); });
}

void Mapping::Uncharge(uint64_t bytes) {
  if (cache_ != nullptr && bytes > 0) cache_->impl_->Uncharge(bytes);
}

std::map<uint64_t, FolioRef>::const_iterator Mapping::FindLocked(uint64_t pos) const {
  auto it = folios_.upper_bound(pos);  // first folio starting after pos
  if (it == folios_.begin()) return folios_.end();
  --it;
  return it->second->Contains(pos) ? it : folios_.end();
}

std::map<uint64_t, FolioRef>::const_iterator Mapping::FirstFromLocked(uint64_t pos) const {
  auto it = FindLocked(pos);
  return it != folios_.end() ? it : folios_.lower_bound(pos);
}

FolioRef Mapping::Lookup(uint64_t pos) const {
  std::lock_guard lk(mu_);
  auto it = FindLocked(pos);
  if (it == folios_.end()) return nullptr;
  it->second->MarkAccessed();
  return it->second;
}

bool Mapping::RangeFreeLocked(uint64_t start, uint64_t end) const {
  auto it = folios_.lower_bound(start);
  if (it != folios_.end() && it->first < end) return false;  // starts inside
  if (it == folios_.begin()) return true;
  --it;
  return it->second->end() <= start;  // the predecessor ends before start
}

uint32_t Mapping::FitOrderLocked(uint64_t pos, uint32_t hint) const {
  for (uint32_t order = std::min(hint, max_order_);; order--) {
    const uint64_t size = uint64_t{block_size_} << order;
    const uint64_t start = pos / size * size;
    if (order == 0 || RangeFreeLocked(start, start + size)) return order;
  }
}

Result<FolioRef> Mapping::GetOrCreate(uint64_t pos, uint32_t order_hint) {
  for (;;) {
    uint32_t order;
    {
      std::lock_guard lk(mu_);
      auto it = FindLocked(pos);
      if (it != folios_.end()) {
        it->second->MarkAccessed();
        return it->second;
      }
      order = FitOrderLocked(pos, order_hint);
    }
    // Charge (may reclaim or wait for writeback: no lock held here), then
    // allocate (and zero) outside the leaf lock, then insert if the range is
    // still free; otherwise someone raced us: give the charge back and look
    // again.
    const uint64_t size = uint64_t{block_size_} << order;
    if (cache_ != nullptr) cache_->impl_->Charge(size);
    Result<FolioRef> created = Folio::Create(pos / size * size, block_size_, order);
    if (!created.ok()) {
      Uncharge(size);
      return created.status();
    }
    FolioRef folio = std::move(created).value();
    {
      std::lock_guard lk(mu_);
      if (RangeFreeLocked(folio->pos(), folio->end())) {
        folio->mapping_ = this;  // not yet published: no folio lock needed
        folio->MarkAccessed();
        folios_.emplace(folio->pos(), folio);
        if (bytes_.fetch_add(size, std::memory_order_relaxed) == 0 && cache_ != nullptr)
          cache_->impl_->ListCached(cache_id_);  // under mu_, like the count
        return folio;
      }
    }
    Uncharge(size);
  }
}

uint64_t Mapping::FillDirtyFolios(uint64_t start, uint64_t end, FolioBatch& batch) const {
  if (start >= end) return end;
  std::lock_guard lk(mu_);
  auto it = FindLocked(start);
  if (it == folios_.end()) it = folios_.lower_bound(start);
  for (; it != folios_.end() && it->first < end; ++it) {
    const Folio& f = *it->second;
    if (!f.dirty() && !f.writeback()) continue;
    if (!batch.Add(it->second)) return std::max(it->first, start);  // full on entry
    if (batch.full()) return std::min(f.end(), end);
  }
  return end;
}

bool Mapping::RangeNeedsWriteback(uint64_t start, uint64_t end) const {
  if (start >= end) return false;
  std::lock_guard lk(mu_);
  auto it = FindLocked(start);
  if (it == folios_.end()) it = folios_.lower_bound(start);
  for (; it != folios_.end() && it->first < end; ++it)
    if (it->second->dirty() || it->second->writeback()) return true;
  return false;
}

uint64_t Mapping::FindDirtyRun(uint64_t from, uint64_t max_bytes, FolioBatch& batch) const {
  auto eligible = [](const Folio& f) { return f.dirty() && !f.writeback(); };
  std::lock_guard lk(mu_);
  auto it = FindLocked(from);
  if (it == folios_.end()) it = folios_.lower_bound(from);
  while (it != folios_.end() && !eligible(*it->second)) ++it;
  if (it == folios_.end() || batch.full()) return UINT64_MAX;
  uint64_t next = it->first, total = 0;
  for (; it != folios_.end() && it->first == next && eligible(*it->second); ++it) {
    if (total > 0 && total + it->second->size() > max_bytes) break;
    if (!batch.Add(it->second)) break;
    total += it->second->size();
    next = it->second->end();
  }
  return next;
}

size_t Mapping::folio_count() const {
  std::lock_guard lk(mu_);
  return folios_.size();
}

uint64_t Mapping::bytes() const { return bytes_.load(std::memory_order_relaxed); }

uint64_t Mapping::UnlinkLocked(std::map<uint64_t, FolioRef>::const_iterator it) {
  Folio& folio = *it->second;
  const uint64_t size = folio.size();
  if (folio.dirty()) AccountDirtyLocked(-1, size);
  folio.mapping_ = nullptr;  // folio lock and mu_ held
  folios_.erase(it);
  if (bytes_.fetch_sub(size, std::memory_order_relaxed) == size && cache_ != nullptr)
    cache_->impl_->UnlistCached(cache_id_);  // under mu_, like the count
  return size;
}

}  // namespace foliofs
