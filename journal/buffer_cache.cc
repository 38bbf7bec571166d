#include "journal/buffer_cache.h"

#include <cstring>
#include <string>

namespace foliofs::journal {

Buffer::Buffer(uint64_t blocknr, uint32_t size)
    : blocknr_(blocknr), size_(size), data_(AllocateAligned(size, 4096)) {}

BufferCache::BufferCache(BlockDevice& dev, uint32_t block_size, size_t max_clean)
    : dev_(dev), block_size_(block_size), max_clean_(max_clean) {}

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
  BufferRef b(new Buffer(blocknr, block_size_));
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
