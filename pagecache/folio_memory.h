// FolioMemory: where folio bytes live. A slab allocator of 4096-aligned,
// zero-filled buffers, one size class per power of two from 4 KiB to
// max_pooled_size, carved out of chunk_size-aligned anonymous mmap chunks;
// larger buffers are mapped and unmapped directly.
//
// Why not malloc. A folio is allocated by whichever thread faults it in
// (any FUSE worker, readahead, a flusher) and freed by whichever thread
// reclaims or truncates it. With glibc, each freed buffer goes back to the
// arena of the thread that allocated it, where only threads of that arena can
// reuse it, and arena memory below the top is never returned to the OS: with
// cache_size=256M the daemon peaked at 513 MiB (bench/peers.sh), most of it
// freed folio memory parked in a dozen arenas. Here every thread reuses every
// freed slot of its class, and memory beyond a small retained reserve really
// goes back to the kernel.
//
// Memory bound (the promise). At any time the resident bytes of this
// allocator are at most
//     live slot bytes + retain_bytes
// where live slot bytes are the buffers handed out and not yet freed (for
// folios: the page cache's charged bytes, rounded up to 4 KiB per folio, plus
// folios already uncharged but still referenced), and retain_bytes is the
// reserve of freed, still resident slots kept for cheap reuse:
//  - a freed slot is kept resident ("hot") while the hot total stays within
//    retain_bytes; otherwise its pages are released at once
//    (madvise(MADV_DONTNEED): the next use faults in fresh zero pages);
//  - a chunk whose slots are all free is unmapped unless its hot slots fit in
//    the reserve;
//  - SetRetainLimit lowers the reserve immediately (releasing the excess);
//    ReleaseFree() releases all of it (drop_caches, tests).
//
// The daemon's memory, and what -o cache_size bounds (target: peak RSS ≤
// cache_size + 64 MiB):
//  - Within cache_size: the page cache's folios (charged per folio; the
//    mount gives the page cache 7/8 of cache_size) and the journal's clean
//    metadata buffers (BufferCache max_clean: the other 1/8, fs/mount.cc).
//  - Beyond it, bounded: this allocator's reserve (the daemon sets it to
//    cache_size/32, 1–8 MiB: fs/fuse/main.cc); the page cache's overcommit
//    (folios created by threads that may not wait for memory, reclaimed back
//    by the next creators: PageCache::Stats::overcommits); folios already
//    uncharged but still referenced (a reader's copy-out, a writeback batch);
//    sub-4 KiB folios rounded up to 4 KiB slots (1 and 2 KiB block sizes).
//  - Beyond it, outside this allocator (malloc): ~250 bytes of Folio object
//    and mapping entry per folio (~15 MiB when 4 KiB folios fill 224 MiB);
//    metadata buffers pinned by the journal (running, committing and
//    checkpoint-pending transactions: at most the journal's size) with its
//    commit and frozen copies; per-inode objects of inodes the kernel still
//    holds; FUSE workers' receive buffers (max_write + 4 KiB each once a
//    worker has received a 1 MiB write; up to 32 workers: ~33 MiB) and the
//    1 MiB read reply buffers; thread stacks (touched pages only); the binary
//    and its libraries (~5 MiB).
//
// Thread safety: every method may be called from any thread. Each size class
// has its own mutex (a leaf: no other lock is taken under it, and no system
// call but mmap bookkeeping is made under it: zeroing, madvise of a slot and
// munmap happen outside). Counters are atomics, read lock-free as a snapshot.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "pagecache/base/status.h"

namespace foliofs {

class FolioMemory;

// A buffer from FolioMemory, freed back to it on destruction. Move-only.
class FolioBuffer {
 public:
  FolioBuffer() = default;
  FolioBuffer(FolioBuffer&& other) noexcept { *this = std::move(other); }
  FolioBuffer& operator=(FolioBuffer&& other) noexcept;
  FolioBuffer(const FolioBuffer&) = delete;
  FolioBuffer& operator=(const FolioBuffer&) = delete;
  ~FolioBuffer() { Reset(); }

  uint8_t* get() const { return data_; }
  uint64_t size() const { return size_; }  // the size asked for
  explicit operator bool() const { return data_ != nullptr; }
  // Frees the buffer now (no-op when empty).
  void Reset();

 private:
  friend class FolioMemory;
  FolioBuffer(FolioMemory* owner, uint8_t* data, uint64_t size)
      : owner_(owner), data_(data), size_(size) {}
  FolioMemory* owner_ = nullptr;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

struct FolioMemoryOptions {
  uint64_t chunk_size = 2ull << 20;       // power of two ≥ 64 KiB
  uint64_t max_pooled_size = 1ull << 20;  // power of two in [4 KiB, chunk_size]
  uint64_t retain_bytes = 8ull << 20;     // resident free slots kept for reuse
};

class FolioMemory {
 public:
  struct Stats {
    uint64_t live_bytes = 0;      // slot bytes handed out (sizes rounded to 4 KiB)
    uint64_t hot_bytes = 0;       // free slots kept resident for reuse (≤ retain)
    uint64_t mapped_bytes = 0;    // address space mapped: chunks + direct buffers
    uint64_t chunks = 0;          // chunks mapped now
    uint64_t allocations = 0;     // Allocate calls that succeeded
    uint64_t reused = 0;          // of which served from a hot slot
    uint64_t released_bytes = 0;  // resident bytes given back to the OS, ever
    uint64_t direct = 0;          // allocations mapped directly (> max_pooled_size)
  };

  // EINVAL for options that break the rules above.
  static Result<std::unique_ptr<FolioMemory>> Create(const FolioMemoryOptions& options);
  // The process-wide allocator Folio::Create uses. Never destroyed (folios
  // may be freed during exit). Default options.
  static FolioMemory& Default();

  ~FolioMemory();  // precondition: every buffer has been freed
  FolioMemory(const FolioMemory&) = delete;
  FolioMemory& operator=(const FolioMemory&) = delete;

  // A zero-filled, 4096-aligned buffer of `size` bytes (> 0). ENOMEM when
  // the kernel refuses the mapping, EINVAL for size 0.
  Result<FolioBuffer> Allocate(uint64_t size);

  // Sets the reserve of hot free slots and releases any excess now.
  void SetRetainLimit(uint64_t bytes);
  uint64_t retain_limit() const { return retain_.load(std::memory_order_relaxed); }
  // Releases every hot slot and unmaps every chunk with no live slot.
  void ReleaseFree();

  Stats stats() const;

 private:
  struct Chunk;
  struct SizeClass;
  friend class FolioBuffer;

  explicit FolioMemory(const FolioMemoryOptions& options);
  void Free(uint8_t* data, uint64_t size);
  SizeClass& ClassFor(uint64_t slot_size);
  Result<uint8_t*> AllocateSlot(SizeClass& c, bool* needs_zero);
  Result<uint8_t*> MapChunk();
  void FreeSlot(SizeClass& c, uint8_t* slot);
  // Releases hot slots (and then-empty chunks) until hot_bytes_ ≤ target.
  void TrimHot(uint64_t target);
  bool TrimClassOnce(SizeClass& c, uint64_t target);

  const FolioMemoryOptions opts_;
  std::atomic<uint64_t> retain_;
  std::unique_ptr<SizeClass[]> classes_;  // index: log2(slot) - 12
  size_t nr_classes_ = 0;

  std::atomic<uint64_t> live_bytes_{0}, hot_bytes_{0}, mapped_bytes_{0}, chunks_{0},
      allocations_{0}, reused_{0}, released_bytes_{0}, direct_{0};
};

}  // namespace foliofs
