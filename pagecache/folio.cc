#include "pagecache/folio.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "pagecache/base/held_handles.h"
#include "pagecache/mapping.h"

namespace foliofs {
namespace {

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Folio locks held by this thread (Lock/TryLock increment, Unlock
// decrements): ThreadHoldsFolioLock(). Only its own thread touches it.
thread_local int t_folio_locks = 0;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "foliofs: pagecache: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

}  // namespace

Result<FolioRef> Folio::Create(uint64_t pos, uint32_t block_size, uint32_t order) {
  return Create(pos, block_size, order, FolioMemory::Default());
}

Result<FolioRef> Folio::Create(uint64_t pos, uint32_t block_size, uint32_t order,
                               FolioMemory& memory) {
  if (!IsPowerOfTwo(block_size) || block_size < kMinBlockSize || block_size > kMaxBlockSize)
    return Status::Error(EINVAL, "folio block size " + std::to_string(block_size) +
                                     " is not a power of two in [1 KiB, 64 KiB]");
  if (order > 16)
    return Status::Error(EINVAL, "folio order " + std::to_string(order) + " is too large");
  const uint64_t size = uint64_t{block_size} << order;
  if (pos % size != 0)
    return Status::Error(EINVAL, "folio position " + std::to_string(pos) +
                                     " is not aligned to its size " + std::to_string(size));
  Result<FolioBuffer> data = memory.Allocate(size);  // zero-filled, 4096-aligned
  if (!data.ok()) return data.status().WithContext("folio of " + std::to_string(size) + " bytes");
  return std::make_shared<Folio>(CreateKey(), pos, block_size, order, std::move(data).value());
}

Folio::Folio(CreateKey, uint64_t pos, uint32_t block_size, uint32_t order, FolioBuffer data)
    : pos_(pos),
      block_size_(block_size),
      order_(order),
      data_(std::move(data)),
      uptodate_bits_(1u << order),
      dirty_bits_(1u << order) {}

// ---- block bits -------------------------------------------------------------

FolioBlockBits::FolioBlockBits(uint32_t nbits) : nbits_(nbits) {
  if (nbits_ > 64) heap_ = std::make_unique<uint64_t[]>(nr_words());  // zeroed
}

void FolioBlockBits::Set(uint32_t i, bool value) {
  const uint64_t bit = uint64_t{1} << (i % 64);
  uint64_t& w = words()[i / 64];
  w = value ? (w | bit) : (w & ~bit);
}

void FolioBlockBits::Fill(bool value) {
  for (uint32_t w = 0; w < nr_words(); w++) words()[w] = value ? Mask(w) : 0;
}

uint64_t FolioBlockBits::Mask(uint32_t w) const {
  const uint32_t bits = std::min<uint32_t>(64, nbits_ - w * 64);
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

bool FolioBlockBits::Any() const {
  for (uint32_t w = 0; w < nr_words(); w++)
    if (words()[w] != 0) return true;
  return false;
}

bool FolioBlockBits::All() const {
  for (uint32_t w = 0; w < nr_words(); w++)
    if (words()[w] != Mask(w)) return false;
  return true;
}

// ---- lock -------------------------------------------------------------------

void Folio::Lock() {
  std::unique_lock lk(state_mu_);
  state_cv_.wait(lk, [&] { return !locked_.load(std::memory_order_relaxed); });
  locked_.store(true, std::memory_order_release);
  owner_ = std::this_thread::get_id();
  t_folio_locks++;
}

bool Folio::TryLock() {
  std::lock_guard lk(state_mu_);
  if (locked_.load(std::memory_order_relaxed)) return false;
  locked_.store(true, std::memory_order_release);
  owner_ = std::this_thread::get_id();
  t_folio_locks++;
  return true;
}

void Folio::Unlock() {
  {
    std::lock_guard lk(state_mu_);
#ifndef NDEBUG
    if (!locked_.load(std::memory_order_relaxed) || owner_ != std::this_thread::get_id())
      Die("folio unlocked by a thread that does not hold its lock");
#endif
    owner_ = std::thread::id();
    locked_.store(false, std::memory_order_release);
  }
  if (t_folio_locks > 0) t_folio_locks--;
  state_cv_.notify_all();
}

bool Folio::ThreadHoldsFolioLock() { return t_folio_locks > 0; }

bool Folio::IsLockedByMe() const {
  std::lock_guard lk(state_mu_);
  return locked_.load(std::memory_order_relaxed) && owner_ == std::this_thread::get_id();
}

void Folio::AssertLocked(const char* what) const {
#ifndef NDEBUG
  if (!IsLockedByMe()) {
    std::fprintf(stderr, "foliofs: pagecache: %s without the folio lock\n", what);
    std::fflush(stderr);
    std::abort();
  }
#else
  (void)what;
#endif
}

Mapping* Folio::mapping() const {
  AssertLocked("Folio::mapping");
  return mapping_;
}

// ---- block state ------------------------------------------------------------

void Folio::BlockSpan(uint64_t offset, uint64_t len, uint32_t* first, uint32_t* last) const {
  if (len == 0 || offset + len > size()) Die("folio range out of bounds or empty");
  *first = static_cast<uint32_t>(offset / block_size_);
  *last = static_cast<uint32_t>((offset + len - 1) / block_size_);
}

void Folio::WholeBlockSpan(uint64_t offset, uint64_t len, uint32_t* first,
                           uint32_t* last_excl) const {
  if (offset + len > size()) Die("folio range out of bounds");
  *first = static_cast<uint32_t>((offset + block_size_ - 1) / block_size_);
  *last_excl = static_cast<uint32_t>((offset + len) / block_size_);
  if (*last_excl < *first) *last_excl = *first;
}

void Folio::RefreshDirtySummary() {
  const bool any = dirty_bits_.Any();
  const bool was = dirty_.exchange(any, std::memory_order_acq_rel);
  if (was != any && mapping_ != nullptr) mapping_->AccountDirty(any ? +1 : -1, size());
}

void Folio::RefreshUptodateSummary() {
  const bool all = uptodate_bits_.All();
  uptodate_.store(all, std::memory_order_release);
}

void Folio::MarkUptodate(uint64_t offset, uint64_t len) {
  AssertLocked("Folio::MarkUptodate");
  if (len == 0) return;
  uint32_t first, last;
  BlockSpan(offset, len, &first, &last);
  for (uint32_t b = first; b <= last; b++) uptodate_bits_.Set(b, true);
  RefreshUptodateSummary();
}

void Folio::MarkDirty(uint64_t offset, uint64_t len) {
  AssertLocked("Folio::MarkDirty");
  if (len == 0) return;
  uint32_t first, last;
  BlockSpan(offset, len, &first, &last);
  for (uint32_t b = first; b <= last; b++) dirty_bits_.Set(b, true);
  RefreshDirtySummary();
}

void Folio::ClearDirty() {
  AssertLocked("Folio::ClearDirty");
  dirty_bits_.Fill(false);
  RefreshDirtySummary();
}

void Folio::ClearDirtyBlocksIn(uint64_t offset, uint64_t len) {
  AssertLocked("Folio::ClearDirtyBlocksIn");
  uint32_t first, last_excl;
  WholeBlockSpan(offset, len, &first, &last_excl);
  for (uint32_t b = first; b < last_excl; b++) dirty_bits_.Set(b, false);
  RefreshDirtySummary();
}

void Folio::ClearUptodateBlocksIn(uint64_t offset, uint64_t len) {
  AssertLocked("Folio::ClearUptodateBlocksIn");
  uint32_t first, last_excl;
  WholeBlockSpan(offset, len, &first, &last_excl);
  for (uint32_t b = first; b < last_excl; b++) uptodate_bits_.Set(b, false);
  RefreshUptodateSummary();
}

void Folio::ZeroRange(uint64_t offset, uint64_t len) {
  AssertLocked("Folio::ZeroRange");
  if (offset + len > size()) Die("Folio::ZeroRange out of bounds");
  std::memset(data_.get() + offset, 0, len);
}

bool Folio::IsUptodate(uint64_t offset, uint64_t len) const {
  if (len == 0) return true;
  uint32_t first, last;
  BlockSpan(offset, len, &first, &last);
  for (uint32_t b = first; b <= last; b++)
    if (!uptodate_bits_.Test(b)) return false;
  return true;
}

bool Folio::IsDirty(uint64_t offset, uint64_t len) const {
  if (len == 0) return false;
  uint32_t first, last;
  BlockSpan(offset, len, &first, &last);
  for (uint32_t b = first; b <= last; b++)
    if (dirty_bits_.Test(b)) return true;
  return false;
}

bool Folio::BlockUptodate(uint32_t block) const {
  if (block >= nr_blocks()) Die("Folio::BlockUptodate: block out of range");
  return uptodate_bits_.Test(block);
}
bool Folio::BlockDirty(uint32_t block) const {
  if (block >= nr_blocks()) Die("Folio::BlockDirty: block out of range");
  return dirty_bits_.Test(block);
}

// ---- writeback --------------------------------------------------------------

void Folio::StartWriteback() {
  AssertLocked("Folio::StartWriteback");
  {
    std::lock_guard lk(state_mu_);
    if (writeback_.load(std::memory_order_relaxed))
      Die("StartWriteback on a folio under writeback");
    writeback_.store(true, std::memory_order_release);
  }
  if (mapping_ != nullptr) mapping_->StartFolioWriteback(*this);
}

void Folio::ClearWritebackFlag() {
  std::lock_guard lk(state_mu_);
  if (!writeback_.load(std::memory_order_relaxed))
    Die("EndWriteback on a folio not under writeback");
  writeback_.store(false, std::memory_order_release);
}

// No folio lock: mapping_ is read without it because it cannot change while
// writeback() is set (truncate, invalidate and reclaim never remove a folio
// under writeback, and they see the flag clear only after this read).
void Folio::EndWriteback() {
  Mapping* m = mapping_;
  if (m != nullptr)
    m->EndFolioWriteback(*this);  // clears the flag
  else
    ClearWritebackFlag();
  state_cv_.notify_all();
}

void Folio::WaitWriteback() {
  AssertNoJournalHandle("folio writeback");
#ifndef NDEBUG
  if (ThreadHoldsFolioLock())
    Die("Folio::WaitWriteback with a folio lock held: nothing may wait for writeback while "
        "holding a folio lock (writeback.h; a journal-handle holder may be waiting for that "
        "lock, and writeback completion needs a handle)");
#endif
  if (!writeback()) return;
  std::unique_lock lk(state_mu_);
  state_cv_.wait(lk, [&] { return !writeback_.load(std::memory_order_relaxed); });
}

}  // namespace foliofs
