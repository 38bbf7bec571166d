#include "journal/buffer_cache.h"

#include <sys/mman.h>

#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace foliofs::journal {

// Buffer bytes outside malloc (buffer_cache.h, Memory): fixed-size,
// page-aligned slots carved in order from anonymous mmap chunks; a freed slot
// goes on a free list that any thread reuses first. Chunks are unmapped only
// with the arena, so the arena's size is the peak number of live slots
// (rounded up to a chunk); untouched slots are never resident. mu_ is a leaf
// (taken under BufferCache::mu_ when eviction frees a buffer).
class BufferArena {
 public:
  explicit BufferArena(uint32_t block_size)
      : slot_((uint64_t{block_size} + 4095) / 4096 * 4096),
        chunk_(std::max<uint64_t>(slot_, kChunkBytes) / slot_ * slot_) {}
  ~BufferArena() {
    for (uint8_t* c : chunks_) munmap(c, chunk_);
  }
  BufferArena(const BufferArena&) = delete;
  BufferArena& operator=(const BufferArena&) = delete;

  // A zero-filled slot. Throws std::bad_alloc when the kernel refuses a
  // chunk, as the aligned_alloc it replaces did.
  uint8_t* Allocate() {
    std::unique_lock lk(mu_);
    if (!free_.empty()) {
      uint8_t* p = free_.back();
      free_.pop_back();
      lk.unlock();
      std::memset(p, 0, slot_);  // holds an evicted block's bytes
      return p;
    }
    if (carve_left_ == 0) {
      void* c = mmap(nullptr, chunk_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (c == MAP_FAILED) throw std::bad_alloc();
      chunks_.push_back(static_cast<uint8_t*>(c));
      carve_ = static_cast<uint8_t*>(c);
      carve_left_ = chunk_;
    }
    uint8_t* p = carve_;  // never used: zero from mmap
    carve_ += slot_;
    carve_left_ -= slot_;
    return p;
  }
  void Free(uint8_t* p) {
    std::lock_guard lk(mu_);
    free_.push_back(p);
  }
  size_t mapped_bytes() {
    std::lock_guard lk(mu_);
    return chunks_.size() * chunk_;
  }

 private:
  static constexpr uint64_t kChunkBytes = 256 * 1024;
  const uint64_t slot_;
  const uint64_t chunk_;  // a multiple of slot_
  std::mutex mu_;
  std::vector<uint8_t*> chunks_;  // GUARDED_BY(mu_)
  std::vector<uint8_t*> free_;    // GUARDED_BY(mu_)
  uint8_t* carve_ = nullptr;      // GUARDED_BY(mu_): next never-used slot
  uint64_t carve_left_ = 0;       // GUARDED_BY(mu_)
};

Buffer::Buffer(uint64_t blocknr, uint32_t size, std::shared_ptr<BufferArena> arena)
    : blocknr_(blocknr), size_(size), arena_(std::move(arena)), data_(arena_->Allocate()) {}

Buffer::~Buffer() { arena_->Free(data_); }

BufferCache::BufferCache(BlockDevice& dev, uint32_t block_size, size_t max_clean)
    : dev_(dev),
      block_size_(block_size),
      max_clean_(max_clean),
      arena_(std::make_shared<BufferArena>(block_size)) {}

size_t BufferCache::arena_bytes() const { return arena_->mapped_bytes(); }

Result<std::unique_ptr<BufferCache>> BufferCache::Create(BlockDevice& dev, uint32_t block_size,
                                                         size_t max_clean) {
  if (block_size == 0 || block_size % dev.logical_block_size() != 0)
    return Status::Error(EINVAL, "buffer cache: block size " + std::to_string(block_size) +
                                     " is not a multiple of the device's logical block size");
  return std::unique_ptr<BufferCache>(new BufferCache(dev, block_size, max_clean));
}

Result<BufferRef> BufferCache::Lookup(uint64_t blocknr) {
  if ((blocknr + 1) * block_size_ > dev_.size_bytes())
    return Status::Error(EINVAL, "buffer cache: block " + std::to_string(blocknr) +
                                     " is beyond the end of " + dev_.name());
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(blocknr);
  if (it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);  // most recently used
    return *it->second;
  }
  BufferRef b(new Buffer(blocknr, block_size_, arena_));
  lru_.push_front(b);
  map_[blocknr] = lru_.begin();
  EvictLocked();
  return b;
}

// Evicts least recently used buffers that nobody references (use_count 1: only
// the cache) while more than max_clean_ of them are cached. A reference can only
// be created under mu_ (Lookup) or copied from an existing one, so use_count 1
// under mu_ is stable.
void BufferCache::EvictLocked() {
  if (lru_.size() <= max_clean_) return;
  size_t excess = lru_.size() - max_clean_;
  for (auto it = std::prev(lru_.end()); excess > 0;) {
    bool at_begin = it == lru_.begin();
    auto cur = it;
    if (!at_begin) --it;
    if (cur->use_count() == 1) {
      map_.erase((*cur)->blocknr());
      lru_.erase(cur);
      --excess;
    }
    if (at_begin) break;
  }
}

Result<BufferRef> BufferCache::Read(uint64_t blocknr) {
  ASSIGN_OR_RETURN(BufferRef b, Lookup(blocknr));
  if (b->uptodate()) return b;
  std::lock_guard<std::mutex> io(b->io_mu_);
  if (b->uptodate()) return b;  // another reader finished first
  Status st = dev_.Read(blocknr * block_size_, b->data(), block_size_);
  if (!st.ok()) return st.WithContext("reading metadata block " + std::to_string(blocknr));
  b->uptodate_.store(true, std::memory_order_release);
  return b;
}

Result<BufferRef> BufferCache::GetNew(uint64_t blocknr) {
  ASSIGN_OR_RETURN(BufferRef b, Lookup(blocknr));
  if (b->uptodate()) return b;
  std::lock_guard<std::mutex> io(b->io_mu_);
  if (!b->uptodate()) {
    std::memset(b->data(), 0, block_size_);
    b->uptodate_.store(true, std::memory_order_release);
  }
  return b;
}

BufferRef BufferCache::Peek(uint64_t blocknr) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(blocknr);
  return it == map_.end() ? nullptr : *it->second;
}

size_t BufferCache::cached_count() {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

}  // namespace foliofs::journal
