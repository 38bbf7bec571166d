// ModelFs: a small but real filesystem model for the iomap tests — the smallest
// thing that exercises fs/iomap the way fs/ will: extents per block (hole /
// unwritten / written), a real journal whose handles the iomap callbacks start
// and stop, a real PageCache (flushers, reclaim, throttling) and a block
// allocator that reuses freed blocks first, so a read of stale data after a
// punch or truncate shows up as wrong bytes instead of lucky zeros.
//
// What the model does the way a kernel filesystem does (DESIGN.md I1–I8):
//  - Begin(kIomapWrite) allocates UNWRITTEN blocks for the holes of the range
//    inside its own journal handle (I8), stopped before returning, and marks
//    the fresh mapping kIomapFlagNew.
//  - Begin(kIomapZero) over UNWRITTEN, or over a HOLE that starts below i_size,
//    fills iter.batch() with Mapping::FillDirtyFolios under the per-inode
//    mapping lock and trims the mapping to what it returned (I2, I3).
//  - EndWriteback converts UNWRITTEN → written inside its own handle, under
//    the same mapping lock (I2, I8); on an I/O error nothing converts.
//  - Every extent change bumps seq(), IomapValid compares it (I7).
//  - Operations take the io lock (i_rwsem): write, zero, punch, truncate and
//    fallocate exclusive; read shared. Writeback (flushers, WritebackRange,
//    Fsync) takes none, as in Linux.
//
// Lock order (fs/LOCKING.md): io lock → folio lock → journal handle start →
// mapping lock → allocator lock → Mapping::mu_ / journal internals. A journal
// handle is always started before the mapping lock is taken (Start may wait
// for a commit, which waits for handles — never wait for it while holding a
// lock that a handle holder wants).
//
// Test hooks (Hooks) are plain std::function members: set them before the
// threads that may call them start, and clear them only when those are done.
//
// Thread safety: every ModelInode operation may be called from any thread;
// the *Locked variants require the caller to hold io_lock() (exclusive, or
// shared for ReadLocked) — for tests that update their expected image inside
// the same critical section.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fs/iomap/iomap.h"
#include "journal/journal.h"
#include "pagecache/base/status.h"
#include "pagecache/blockdev/block_device.h"
#include "pagecache/blockdev/memory_device.h"
#include "pagecache/page_cache.h"
#include "pagecache/pagecache.h"
#include "pagecache/readahead.h"

namespace foliofs::iomaptest {

// ---- ModelDevice -----------------------------------------------------------

// The data device: a MemoryDevice behind a counting, optionally recording
// wrapper, so tests can prove "no device write happened" (I2: zero range never
// flushes) or "nothing was written past EOF" (I6).
class ModelDevice final : public BlockDevice {
 public:
  struct WriteRecord {
    uint64_t offset;
    uint64_t length;
  };

  // `garbage`: fill the device with a non-zero pattern first, so reading a
  // hole or unwritten block from the device (instead of returning zeros, I8)
  // yields visibly wrong bytes.
  static Result<std::unique_ptr<ModelDevice>> Create(uint64_t size_bytes, bool garbage);

  uint64_t size_bytes() const override { return base_->size_bytes(); }
  uint32_t logical_block_size() const override { return base_->logical_block_size(); }
  std::string name() const override { return "model(memory)"; }
  Status Submit(std::span<IoRequest> batch) override;

  MemoryDevice& base() { return *base_; }

  uint64_t reads() const { return reads_.load(); }
  uint64_t writes() const { return writes_.load(); }  // write requests
  uint64_t bytes_written() const { return bytes_written_.load(); }
  uint64_t submits() const { return submits_.load(); }  // Submit calls

  // Record every write request's range (off by default).
  void set_recording(bool on);
  std::vector<WriteRecord> TakeWrites();

  // Called for every write request before it reaches the medium, on the
  // submitting thread (no device lock held). Set while no I/O runs.
  std::function<void(uint64_t offset, uint64_t length)> on_write;

 private:
  explicit ModelDevice(std::unique_ptr<MemoryDevice> base) : base_(std::move(base)) {}
  std::unique_ptr<MemoryDevice> base_;
  std::atomic<uint64_t> reads_{0}, writes_{0}, bytes_written_{0}, submits_{0};
  std::mutex mu_;  // leaf: guards recording_ and log_
  bool recording_ = false;
  std::vector<WriteRecord> log_;
};

// ---- ModelInode --------------------------------------------------------------

enum class BlockState : uint8_t { kHole, kUnwritten, kWritten };
const char* BlockStateName(BlockState s);

struct BlockExtent {
  BlockState state = BlockState::kHole;
  uint64_t pblk = 0;  // device block; meaningful unless kHole
};

class ModelFs;

class ModelInode final : public IomapInode {
 public:
  // Deterministic interleavings. All optional; called on the thread that runs
  // the callback they are named after.
  struct Hooks {
    // Begin, before the mapping lock is taken.
    std::function<void(IomapIter&)> before_begin;
    // Begin(kIomapZero), UNDER the mapping lock, after the extent lookup and
    // before FillDirtyFolios (the window the seed thread's XFS race lives in).
    std::function<void(IomapIter&)> after_lookup;
    // Begin, after the mapping lock was released, before returning.
    std::function<void(IomapIter&)> after_begin;
    // End, before its own (redundant) i_size update; folio locks are released
    // here, so writeback may run in this window.
    std::function<void(IomapIter&, uint64_t processed)> before_end;
    // EndWriteback, before its journal handle and the mapping lock.
    std::function<void(uint64_t pos, uint64_t len)> before_end_writeback;
    // EndWriteback, after the conversion (handle stopped, lock released).
    std::function<void(uint64_t pos, uint64_t len)> after_end_writeback;
  };

  struct Stats {
    std::atomic<uint64_t> begins{0};
    std::atomic<uint64_t> zero_begins{0};        // Begin(kIomapZero)
    std::atomic<uint64_t> batch_fills{0};        // FillDirtyFolios calls
    std::atomic<uint64_t> batched_folios{0};     // folios they returned
    std::atomic<uint64_t> max_batch{0};          // largest batch seen after a fill
    std::atomic<uint64_t> batch_trims{0};        // fills that stopped short (batch full)
    std::atomic<uint64_t> allocated_blocks{0};   // by Begin(kIomapWrite) and Fallocate
    std::atomic<uint64_t> freed_blocks{0};
    std::atomic<uint64_t> map_blocks{0};         // MapBlocks calls
    std::atomic<uint64_t> map_blocks_past_eof{0};  // MapBlocks wholly past round_up(i_size)
    std::atomic<uint64_t> map_blocks_holes{0};   // MapBlocks that found a hole (bug)
    std::atomic<uint64_t> end_writebacks{0};
    std::atomic<uint64_t> end_writeback_errors{0};  // completions with an I/O error
    std::atomic<uint64_t> converted_blocks{0};
    std::atomic<uint64_t> stale_conversions{0};  // completion for blocks no longer unwritten there
  };

  ModelInode(ModelFs& fs, uint32_t ino);
  ~ModelInode() override;
  ModelInode(const ModelInode&) = delete;
  ModelInode& operator=(const ModelInode&) = delete;

  uint32_t ino() const { return ino_; }
  uint32_t block_size() const { return block_size_; }

  // ---- IomapInode
  Mapping& page_mapping() override { return *mapping_; }
  BlockDevice& device() override;
  uint64_t size() const override { return size_.load(std::memory_order_acquire); }
  Status Begin(IomapIter& iter) override;
  Status End(IomapIter& iter, uint64_t processed) override;
  bool IomapValid(const IomapIter& iter) override;
  Result<Iomap> MapBlocks(uint64_t pos, uint64_t len) override;
  Status EndWriteback(uint64_t pos, uint64_t len, const Iomap& map, Status io_status) override;
  void ExtendSize(uint64_t new_size) override { SetSizeAtLeast(new_size); }

  // ---- Operations (take io_lock(): exclusive, except Read: shared)
  // Buffered write; past EOF first zeroes the old EOF block tail (I6).
  Result<size_t> Write(uint64_t pos, std::span<const uint8_t> data);
  // Buffered read clipped at EOF; `readahead` uses the inode's ReadaheadState.
  Result<size_t> Read(uint64_t pos, std::span<uint8_t> out, bool readahead = true);
  // IomapZeroRange over [pos, pos+len); never changes i_size.
  Status ZeroRange(uint64_t pos, uint64_t len, bool* did_zero = nullptr);
  // Punch hole: zero the partial blocks, drop the cache of the whole blocks,
  // free them (handle + mapping lock, seq++). i_size unchanged.
  Status Punch(uint64_t pos, uint64_t len);
  // Truncate up or down (see model_fs.cc for the exact order, after XFS).
  Status Truncate(uint64_t new_size);
  // fallocate(KEEP_SIZE): unwritten blocks for the holes of the range.
  Status Fallocate(uint64_t pos, uint64_t len);

  // Variants for a caller that already holds io_lock() (exclusive; shared for
  // ReadLocked).
  Result<size_t> WriteLocked(uint64_t pos, std::span<const uint8_t> data);
  Result<size_t> ReadLocked(uint64_t pos, std::span<uint8_t> out, bool readahead = true);
  Status ZeroRangeLocked(uint64_t pos, uint64_t len, bool* did_zero = nullptr);
  Status PunchLocked(uint64_t pos, uint64_t len);
  Status TruncateLocked(uint64_t new_size);
  Status FallocateLocked(uint64_t pos, uint64_t len);

  // No io lock (like writeback in Linux):
  // fsync: IomapWriteAndWait(start, end), then force the commit of the last
  // transaction that changed this inode. Must not be called with a handle held.
  Status Fsync(uint64_t start = 0, uint64_t end = UINT64_MAX);
  // IomapWritepages over [start, end); sync = WB_SYNC_ALL.
  Status WritebackRange(uint64_t start, uint64_t end, bool sync);

  // The truth on the device for [pos, pos+len): zeros for holes and unwritten
  // blocks, device bytes for written ones; ignores the cache and i_size. Only
  // meaningful once writeback is complete.
  Result<std::vector<uint8_t>> ReadDevice(uint64_t pos, uint64_t len);

  // Extent-map inspection (under the mapping lock).
  BlockExtent ExtentAt(uint64_t fblk) const;
  // The file block that device block `pblk` backs, if any.
  std::optional<uint64_t> FileBlockOf(uint64_t pblk) const;
  uint64_t seq() const { return seq_.load(std::memory_order_acquire); }

  // i_rwsem and the fs per-inode mapping (extent) lock, for tests that hold
  // them on purpose.
  std::shared_mutex& io_lock() { return io_mu_; }
  std::mutex& mapping_lock() { return map_mu_; }

  Hooks hooks;
  const Stats& stats() const { return stats_; }

  // Drops every folio (waiting for writeback) and the mapping; used by ModelFs
  // before the PageCache goes away. Idempotent.
  void Shutdown();

 private:
  friend class ModelFs;

  // map_mu_ held: the extent of block `fblk` (hole past the vector).
  BlockExtent ExtentLocked(uint64_t fblk) const;
  // map_mu_ held: the mapping for [pos, limit) starting at the block of pos:
  // the longest run of one state with contiguous device blocks (and one
  // value of `fresh`, when given).
  Iomap LookupLocked(uint64_t pos, uint64_t limit, const std::vector<bool>* fresh,
                     uint64_t fresh_first) const;
  // Allocates unwritten blocks for the holes of file blocks [first, last)
  // inside a journal handle. `fresh` (optional) receives, per block of the
  // range, whether it was allocated now.
  Status AllocateRange(uint64_t first, uint64_t last, std::vector<bool>* fresh, const char* what);
  // Frees file blocks [first, last) inside a handle (punch, truncate).
  Status FreeRange(uint64_t first, uint64_t last, const char* what);
  // Journal: dirty this inode's metadata block under `handle` (map_mu_ held).
  Status DirtyInodeBlockLocked(journal::Handle& handle);
  void SetSizeAtLeast(uint64_t end);

  ModelFs& fs_;
  const uint32_t ino_;
  const uint32_t block_size_;
  std::unique_ptr<Mapping> mapping_;
  ReadaheadState ra_;

  std::shared_mutex io_mu_;  // i_rwsem
  mutable std::mutex map_mu_;  // fs per-inode mapping/extent lock
  std::vector<BlockExtent> extents_;  // GUARDED_BY(map_mu_), by file block
  std::atomic<uint64_t> seq_{1};      // bumped under map_mu_ on every extent change (I7)
  std::atomic<uint64_t> size_{0};     // i_size
  std::atomic<uint64_t> last_tid_{0};  // last transaction that changed this inode
  Stats stats_;
};

// ---- ModelFs -------------------------------------------------------------

struct ModelFsOptions {
  uint32_t block_size = 4096;                      // data block size (1–64 KiB)
  uint64_t max_folio_size = kDefaultMaxFolioSize;  // per mapping
  uint64_t data_bytes = 32ull << 20;               // data device capacity
  bool garbage_device = true;                      // see ModelDevice::Create
  uint32_t inodes = 1;
  PageCacheOptions cache;                          // the PageCache's options
  uint64_t journal_blocks = 1024;                  // 4 KiB journal blocks
  std::chrono::milliseconds commit_interval{1000};
};

// Convenience: cache options for a quiet cache (one flusher that practically
// never runs on its own, ample memory) — single-threaded model tests decide
// themselves when writeback happens.
PageCacheOptions QuietCacheOptions(uint64_t cache_size = 256ull << 20);

class ModelFs {
 public:
  static Result<std::unique_ptr<ModelFs>> Create(const ModelFsOptions& options);
  // Drops every inode's cache (waiting for writeback), then the cache, then
  // closes the journal. No handle may be held and no operation be running.
  ~ModelFs();
  ModelFs(const ModelFs&) = delete;
  ModelFs& operator=(const ModelFs&) = delete;

  ModelInode& inode(size_t i = 0) { return *inodes_.at(i); }
  size_t inode_count() const { return inodes_.size(); }
  const ModelFsOptions& options() const { return opts_; }

  PageCache& cache() { return *cache_; }
  journal::Journal& journal() { return *journal_; }
  ModelDevice& data_device() { return *data_; }
  MemoryDevice& journal_device() { return *jdev_; }

  // drop_caches (PageCache::DropClean); returns bytes freed.
  uint64_t DropCache() { return cache_->DropClean(); }
  // sync(2) of the whole cache.
  Status SyncAll() { return cache_->SyncAll(); }

  // The block allocator: LIFO free list first (so freed blocks come back
  // at once, stale contents and all), then never-used blocks. ENOSPC when full.
  Result<uint64_t> AllocBlock();
  void FreeBlock(uint64_t pblk);
  uint64_t used_blocks() const;

  // Journal layout on the journal device (4 KiB blocks).
  static constexpr uint32_t kJournalBlockSize = 4096;
  static constexpr uint64_t kJournalFirstBlock = 1;
  uint64_t InodeMetaBlock(uint32_t ino) const;  // home block of inode `ino`'s metadata
  uint64_t BitmapMetaBlock() const;             // home block of the allocation bitmap

 private:
  friend class ModelInode;
  explicit ModelFs(const ModelFsOptions& options) : opts_(options) {}

  const ModelFsOptions opts_;
  std::unique_ptr<ModelDevice> data_;
  std::unique_ptr<MemoryDevice> jdev_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<PageCache> cache_;
  std::vector<std::unique_ptr<ModelInode>> inodes_;

  mutable std::mutex alloc_mu_;    // leaf under the mapping locks
  std::vector<uint64_t> free_;     // GUARDED_BY(alloc_mu_): LIFO
  uint64_t next_unused_ = 0;       // GUARDED_BY(alloc_mu_)
  uint64_t used_ = 0;              // GUARDED_BY(alloc_mu_)
  uint64_t total_blocks_ = 0;      // const after Create
};

}  // namespace foliofs::iomaptest
