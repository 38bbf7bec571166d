// BufferCache: the metadata buffer cache (the journal layer's buffer heads).
//
// Every metadata block the filesystem reads goes through this cache: buffers
// are fs-block-sized, keyed by fs block number, refcounted (BufferRef) and read
// through the BlockDevice on first use. The cache never writes a buffer: dirty
// metadata reaches its home location only through the journal's checkpoint,
// after its transaction has committed (journal.h).
//
// Bounded: at most `max_clean` buffers beyond those in use are kept; a buffer is
// evicted (least recently used first) only when nobody else holds a reference —
// the journal holds one while the buffer is part of a transaction or waits for
// checkpoint, so dirty buffers are never evicted.
//
// Memory. Buffer bytes come from the cache's own arena (BufferArena below),
// not from malloc: page-aligned slots carved from anonymous mmap chunks and
// reused by every thread. A 4 KiB aligned_alloc per buffer fragmented glibc's
// arenas (each left a sub-page hole that small objects then pinned): a
// 100,000-file create/stat run kept ~200 MiB of freed heap for ~80 MiB in
// use. The arena's size is at most the peak number of live buffers (≤
// max_clean + the buffers pinned by the journal) times the slot size
// (block_size rounded up to 4 KiB); arena_bytes() reports it. The mount sizes
// max_clean from cache_size (fs/mount.cc), so clean metadata counts toward
// the daemon's cache budget.
//
// Thread safety: all methods may be called concurrently. Buffer contents are
// protected by the filesystem's own locks; the journal state inside a Buffer by
// Buffer::jmu_ (see journal.h for the lock order). BufferCache::mu_ is a leaf.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>

#include "pagecache/blockdev/block_device.h"

namespace foliofs::journal {

struct Transaction;
class Journal;
class Handle;
class BufferCache;
class BufferArena;  // buffer_cache.cc

// One cached metadata block. Modify data() only between a handle's
// GetWriteAccess() and DirtyMetadata() (journal.h).
class Buffer : public std::enable_shared_from_this<Buffer> {
 public:
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  uint64_t blocknr() const { return blocknr_; }
  uint32_t size() const { return size_; }
  ~Buffer();  // gives data_ back to the arena
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  std::span<uint8_t> bytes() { return {data_, size_}; }
  bool uptodate() const { return uptodate_.load(std::memory_order_acquire); }
  // A reader's note that the bytes passed its checks (checksum, structure)
  // for `tag` (the reader's own encoding of what it checked, e.g. block type
  // and owner; 0 = unchecked). Handle::GetWriteAccess resets it, so bytes
  // are checked again after every change: hot metadata is checksummed once
  // per change instead of on every read. The reader's locks order the tag
  // against writers of the bytes, as they order the bytes themselves.
  uint64_t verified_tag() const { return verified_tag_.load(std::memory_order_acquire); }
  void set_verified_tag(uint64_t tag) { verified_tag_.store(tag, std::memory_order_release); }

 private:
  friend class BufferCache;
  friend class Journal;
  friend class Handle;
  Buffer(uint64_t blocknr, uint32_t size, std::shared_ptr<BufferArena> arena);

  const uint64_t blocknr_;
  const uint32_t size_;
  const std::shared_ptr<BufferArena> arena_;  // owns data_; may outlive the cache
  uint8_t* const data_;                       // contents; see the class comment for who may write
  std::atomic<bool> uptodate_{false};         // set once data_ holds the block (release/acquire)
  std::mutex io_mu_;                          // held across the read that makes the buffer uptodate
  std::atomic<uint64_t> verified_tag_{0};     // see verified_tag()

  // Journal state (jbd2's journal_head). All GUARDED_BY(jmu_).
  std::mutex jmu_;
  Transaction* transaction_ = nullptr;       // running or committing owner of the newest changes
  bool dirty_ = false;                       // DirtyMetadata() called in transaction_
  Transaction* next_transaction_ = nullptr;  // running tx that took write access while
                                             // transaction_ was committing
  bool next_dirty_ = false;                  // DirtyMetadata() called in next_transaction_
  AlignedBuffer frozen_;                     // copy the committing transaction logs (b_frozen_data)
};
using BufferRef = std::shared_ptr<Buffer>;

class BufferCache {
 public:
  static Result<std::unique_ptr<BufferCache>> Create(BlockDevice& dev, uint32_t block_size,
                                                     size_t max_clean);
  BufferCache(const BufferCache&) = delete;
  BufferCache& operator=(const BufferCache&) = delete;

  // bread: the buffer for `blocknr`, read from the device if not cached.
  // EINVAL beyond the device end; the device's error if the read fails.
  Result<BufferRef> Read(uint64_t blocknr);
  // getblk for a newly allocated block: a cached buffer as it is, else a
  // zero-filled uptodate buffer (no read). The caller overwrites it under a handle.
  Result<BufferRef> GetNew(uint64_t blocknr);
  // The cached buffer or nullptr; never does I/O.
  BufferRef Peek(uint64_t blocknr);

  uint32_t block_size() const { return block_size_; }
  size_t cached_count();
  size_t max_clean() const { return max_clean_; }
  // Bytes mapped for buffer contents (see Memory above).
  size_t arena_bytes() const;

 private:
  BufferCache(BlockDevice& dev, uint32_t block_size, size_t max_clean);
  Result<BufferRef> Lookup(uint64_t blocknr);  // find or insert; no I/O
  void EvictLocked();

  BlockDevice& dev_;
  const uint32_t block_size_;
  const size_t max_clean_;
  const std::shared_ptr<BufferArena> arena_;
  std::mutex mu_;  // leaf lock
  // LRU order, most recent at the front. GUARDED_BY(mu_)
  std::list<BufferRef> lru_;
  std::unordered_map<uint64_t, std::list<BufferRef>::iterator> map_;  // GUARDED_BY(mu_)
};

}  // namespace foliofs::journal
