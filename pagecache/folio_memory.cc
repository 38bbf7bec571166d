// FolioMemory (folio_memory.h): size classes of slots carved from aligned
// mmap chunks; freed slots are reused by any thread, kept resident up to the
// retain limit, released to the kernel beyond it.
#include "pagecache/folio_memory.h"

#include <sys/mman.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace foliofs {
namespace {

constexpr uint64_t kPage = 4096;
constexpr unsigned kPageShift = 12;

uint64_t RoundUpPage(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }
bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Anonymous, private, zero-filled; nullptr when the kernel refuses.
uint8_t* MapAnon(uint64_t len) {
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
}

void Unmap(uint8_t* p, uint64_t len) { munmap(p, len); }

// Gives the pages back; the next touch faults in zero pages (private anon).
void ReleasePages(uint8_t* p, uint64_t len) { madvise(p, len, MADV_DONTNEED); }

}  // namespace

// One chunk of a size class. GUARDED_BY(SizeClass::mu). A slot is in exactly
// one of: used (counted in `used`), hot (resident free, dirty bytes), cold
// (free, known zero: never touched or released), or "in transit" (taken out
// by TrimClassOnce and counted in `used` meanwhile, so the chunk stays mapped).
struct FolioMemory::Chunk {
  uint8_t* base = nullptr;
  uint32_t used = 0;
  std::vector<uint32_t> hot;   // slot indices
  std::vector<uint32_t> cold;  // slot indices
};

struct FolioMemory::SizeClass {
  std::mutex mu;  // leaf
  uint64_t slot_size = 0;
  uint32_t slots_per_chunk = 0;
  // All chunks by base address; with_hot / with_cold: bases of chunks that
  // have such slots, lowest address first (allocation packs low chunks so
  // high ones empty out and get unmapped). GUARDED_BY(mu).
  std::map<uintptr_t, Chunk> chunks;
  std::set<uintptr_t> with_hot, with_cold;

  void Index(Chunk& ch) {
    const auto key = reinterpret_cast<uintptr_t>(ch.base);
    if (ch.hot.empty())
      with_hot.erase(key);
    else
      with_hot.insert(key);
    if (ch.cold.empty())
      with_cold.erase(key);
    else
      with_cold.insert(key);
  }
  // Removes an empty chunk with no hot slot from the class; the caller unmaps.
  uint8_t* Drop(Chunk& ch) {
    uint8_t* base = ch.base;
    const auto key = reinterpret_cast<uintptr_t>(base);
    with_hot.erase(key);
    with_cold.erase(key);
    chunks.erase(key);
    return base;
  }
};

// ---- FolioBuffer ------------------------------------------------------------

FolioBuffer& FolioBuffer::operator=(FolioBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    owner_ = std::exchange(other.owner_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void FolioBuffer::Reset() {
  if (data_ != nullptr) owner_->Free(data_, size_);
  owner_ = nullptr;
  data_ = nullptr;
  size_ = 0;
}

// ---- construction -----------------------------------------------------------

FolioMemory::FolioMemory(const FolioMemoryOptions& options)
    : opts_(options), retain_(options.retain_bytes) {
  nr_classes_ = std::countr_zero(opts_.max_pooled_size) - kPageShift + 1;
  classes_ = std::make_unique<SizeClass[]>(nr_classes_);
  for (size_t i = 0; i < nr_classes_; i++) {
    classes_[i].slot_size = kPage << i;
    classes_[i].slots_per_chunk = static_cast<uint32_t>(opts_.chunk_size >> (kPageShift + i));
  }
}

Result<std::unique_ptr<FolioMemory>> FolioMemory::Create(const FolioMemoryOptions& options) {
  if (!IsPowerOfTwo(options.chunk_size) || options.chunk_size < (64u << 10))
    return Status::Error(EINVAL, "folio memory: chunk size " + std::to_string(options.chunk_size) +
                                     " is not a power of two ≥ 64 KiB");
  if (!IsPowerOfTwo(options.max_pooled_size) || options.max_pooled_size < kPage ||
      options.max_pooled_size > options.chunk_size)
    return Status::Error(EINVAL, "folio memory: max pooled size " +
                                     std::to_string(options.max_pooled_size) +
                                     " is not a power of two in [4 KiB, chunk size]");
  return std::unique_ptr<FolioMemory>(new FolioMemory(options));
}

FolioMemory& FolioMemory::Default() {
  static FolioMemory* const memory = new FolioMemory(FolioMemoryOptions{});
  return *memory;
}

FolioMemory::~FolioMemory() {
  for (size_t i = 0; i < nr_classes_; i++)
    for (auto& [key, ch] : classes_[i].chunks) Unmap(ch.base, opts_.chunk_size);
}

FolioMemory::SizeClass& FolioMemory::ClassFor(uint64_t slot_size) {
  return classes_[std::countr_zero(slot_size) - kPageShift];
}

// ---- allocate ---------------------------------------------------------------

Result<FolioBuffer> FolioMemory::Allocate(uint64_t size) {
  if (size == 0) return Status::Error(EINVAL, "folio memory: zero-sized allocation");
  const uint64_t slot = std::max(kPage, std::bit_ceil(size));
  if (slot > opts_.max_pooled_size) {
    const uint64_t len = RoundUpPage(size);
    uint8_t* p = MapAnon(len);
    if (p == nullptr)
      return Status::Error(ENOMEM, "folio memory: cannot map " + std::to_string(len) + " bytes");
    mapped_bytes_.fetch_add(len, std::memory_order_relaxed);
    live_bytes_.fetch_add(len, std::memory_order_relaxed);
    direct_.fetch_add(1, std::memory_order_relaxed);
    allocations_.fetch_add(1, std::memory_order_relaxed);
    return FolioBuffer(this, p, size);
  }
  bool needs_zero = false;
  ASSIGN_OR_RETURN(uint8_t * p, AllocateSlot(ClassFor(slot), &needs_zero));
  if (needs_zero) std::memset(p, 0, slot);  // a hot slot holds an old folio's bytes
  live_bytes_.fetch_add(slot, std::memory_order_relaxed);
  allocations_.fetch_add(1, std::memory_order_relaxed);
  return FolioBuffer(this, p, size);
}

Result<uint8_t*> FolioMemory::AllocateSlot(SizeClass& c, bool* needs_zero) {
  {
    std::lock_guard lk(c.mu);
    for (auto* from : {&c.with_hot, &c.with_cold}) {
      if (from->empty()) continue;
      Chunk& ch = c.chunks.at(*from->begin());
      const bool hot = from == &c.with_hot;
      auto& list = hot ? ch.hot : ch.cold;
      const uint32_t index = list.back();
      list.pop_back();
      ch.used++;
      c.Index(ch);
      if (hot) {
        hot_bytes_.fetch_sub(c.slot_size, std::memory_order_relaxed);
        reused_.fetch_add(1, std::memory_order_relaxed);
      }
      *needs_zero = hot;
      return ch.base + uint64_t{index} * c.slot_size;
    }
  }
  // No free slot: map a chunk outside the lock, take its first slot.
  ASSIGN_OR_RETURN(uint8_t * base, MapChunk());
  std::lock_guard lk(c.mu);
  Chunk& ch = c.chunks[reinterpret_cast<uintptr_t>(base)];
  ch.base = base;
  ch.used = 1;
  ch.cold.reserve(c.slots_per_chunk - 1);
  for (uint32_t i = c.slots_per_chunk - 1; i >= 1; i--) ch.cold.push_back(i);  // pops 1, 2, …
  c.Index(ch);
  *needs_zero = false;
  return base;
}

// A chunk_size-aligned chunk (so a slot's chunk is its address rounded
// down): map twice the size and unmap the unaligned ends.
Result<uint8_t*> FolioMemory::MapChunk() {
  const uint64_t size = opts_.chunk_size;
  uint8_t* raw = MapAnon(2 * size);
  if (raw == nullptr)
    return Status::Error(ENOMEM,
                         "folio memory: cannot map a chunk of " + std::to_string(size) + " bytes");
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + size - 1) & ~(size - 1);
  if (aligned > start) Unmap(raw, aligned - start);
  const uintptr_t tail = aligned + size;
  if (tail < start + 2 * size) Unmap(reinterpret_cast<uint8_t*>(tail), start + 2 * size - tail);
  mapped_bytes_.fetch_add(size, std::memory_order_relaxed);
  chunks_.fetch_add(1, std::memory_order_relaxed);
  return reinterpret_cast<uint8_t*>(aligned);
}

// ---- free -------------------------------------------------------------------

void FolioMemory::Free(uint8_t* data, uint64_t size) {
  const uint64_t slot = std::max(kPage, std::bit_ceil(size));
  if (slot > opts_.max_pooled_size) {
    const uint64_t len = RoundUpPage(size);
    Unmap(data, len);
    mapped_bytes_.fetch_sub(len, std::memory_order_relaxed);
    live_bytes_.fetch_sub(len, std::memory_order_relaxed);
    released_bytes_.fetch_add(len, std::memory_order_relaxed);
    return;
  }
  FreeSlot(ClassFor(slot), data);
}

void FolioMemory::FreeSlot(SizeClass& c, uint8_t* slot) {
  // Reserve room in the hot budget (CAS: classes free concurrently).
  bool hot = false;
  const uint64_t limit = retain_.load(std::memory_order_relaxed);
  uint64_t cur = hot_bytes_.load(std::memory_order_relaxed);
  while (cur + c.slot_size <= limit) {
    if (hot_bytes_.compare_exchange_weak(cur, cur + c.slot_size, std::memory_order_relaxed)) {
      hot = true;
      break;
    }
  }
  if (!hot) {  // still ours (counted used): its chunk stays mapped meanwhile
    ReleasePages(slot, c.slot_size);
    released_bytes_.fetch_add(c.slot_size, std::memory_order_relaxed);
  }
  live_bytes_.fetch_sub(c.slot_size, std::memory_order_relaxed);
  const uintptr_t key = reinterpret_cast<uintptr_t>(slot) & ~(opts_.chunk_size - 1);
  uint8_t* unmap = nullptr;
  {
    std::lock_guard lk(c.mu);
    Chunk& ch = c.chunks.at(key);
    const auto index = static_cast<uint32_t>((slot - ch.base) / c.slot_size);
    (hot ? ch.hot : ch.cold).push_back(index);
    ch.used--;
    if (ch.used == 0 && ch.hot.empty())
      unmap = c.Drop(ch);
    else
      c.Index(ch);
  }
  if (unmap != nullptr) {
    Unmap(unmap, opts_.chunk_size);
    mapped_bytes_.fetch_sub(opts_.chunk_size, std::memory_order_relaxed);
    chunks_.fetch_sub(1, std::memory_order_relaxed);
  }
}

// ---- trimming ---------------------------------------------------------------

void FolioMemory::SetRetainLimit(uint64_t bytes) {
  retain_.store(bytes, std::memory_order_relaxed);
  TrimHot(bytes);
}

void FolioMemory::ReleaseFree() { TrimHot(0); }

void FolioMemory::TrimHot(uint64_t target) {
  for (size_t i = 0; i < nr_classes_; i++)
    while (hot_bytes_.load(std::memory_order_relaxed) > target &&
           TrimClassOnce(classes_[i], target)) {
    }
}

// Takes up to 64 hot slots of one class out (pinned by `used`), releases
// their pages with no lock held, then files them as cold and unmaps chunks
// left empty. False when the class had no hot slot.
bool FolioMemory::TrimClassOnce(SizeClass& c, uint64_t target) {
  std::vector<std::pair<uintptr_t, uint32_t>> batch;
  {
    std::lock_guard lk(c.mu);
    while (batch.size() < 64 && !c.with_hot.empty() &&
           hot_bytes_.load(std::memory_order_relaxed) > target) {
      Chunk& ch = c.chunks.at(*c.with_hot.begin());
      batch.emplace_back(reinterpret_cast<uintptr_t>(ch.base), ch.hot.back());
      ch.hot.pop_back();
      ch.used++;
      c.Index(ch);
      hot_bytes_.fetch_sub(c.slot_size, std::memory_order_relaxed);
    }
  }
  if (batch.empty()) return false;
  for (auto [key, index] : batch)
    ReleasePages(reinterpret_cast<uint8_t*>(key) + uint64_t{index} * c.slot_size, c.slot_size);
  released_bytes_.fetch_add(batch.size() * c.slot_size, std::memory_order_relaxed);
  std::vector<uint8_t*> unmap;
  {
    std::lock_guard lk(c.mu);
    for (auto [key, index] : batch) {
      Chunk& ch = c.chunks.at(key);
      ch.cold.push_back(index);
      ch.used--;
      if (ch.used == 0 && ch.hot.empty())
        unmap.push_back(c.Drop(ch));
      else
        c.Index(ch);
    }
  }
  for (uint8_t* base : unmap) Unmap(base, opts_.chunk_size);
  mapped_bytes_.fetch_sub(unmap.size() * opts_.chunk_size, std::memory_order_relaxed);
  chunks_.fetch_sub(unmap.size(), std::memory_order_relaxed);
  return true;
}

FolioMemory::Stats FolioMemory::stats() const {
  Stats s;
  s.live_bytes = live_bytes_.load(std::memory_order_relaxed);
  s.hot_bytes = hot_bytes_.load(std::memory_order_relaxed);
  s.mapped_bytes = mapped_bytes_.load(std::memory_order_relaxed);
  s.chunks = chunks_.load(std::memory_order_relaxed);
  s.allocations = allocations_.load(std::memory_order_relaxed);
  s.reused = reused_.load(std::memory_order_relaxed);
  s.released_bytes = released_bytes_.load(std::memory_order_relaxed);
  s.direct = direct_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace foliofs
