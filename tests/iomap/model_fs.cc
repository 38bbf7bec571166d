#include "tests/iomap/model_fs.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace foliofs::iomaptest {
namespace {

// File positions beyond this are never used by the tests; clamping keeps
// "to the end of the file" ranges (UINT64_MAX) from overflowing block maths.
constexpr uint64_t kMaxFilePos = 1ull << 48;

uint64_t DivRoundUp(uint64_t x, uint64_t d) { return x / d + (x % d != 0); }
uint64_t RoundUp(uint64_t x, uint64_t d) { return DivRoundUp(x, d) * d; }
uint64_t ClampedEnd(uint64_t pos, uint64_t len) {
  if (pos >= kMaxFilePos) return kMaxFilePos;
  return len > kMaxFilePos - pos ? kMaxFilePos : pos + len;
}

std::array<uint8_t, 16> ModelUuid() {
  std::array<uint8_t, 16> u{};
  for (int i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(0x5A ^ (i * 7));
  return u;
}

}  // namespace

// ---- ModelDevice -------------------------------------------------------------

Result<std::unique_ptr<ModelDevice>> ModelDevice::Create(uint64_t size_bytes, bool garbage) {
  ASSIGN_OR_RETURN(auto base, MemoryDevice::Create(size_bytes, 512));
  if (garbage) {
    // A pattern that differs per block and is never all zeros, so a stale or
    // never-written block read by mistake cannot pass for a hole.
    std::vector<uint8_t> chunk(1 << 16);
    for (uint64_t off = 0; off < size_bytes; off += chunk.size()) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size_bytes - off));
      for (size_t i = 0; i < n; i++) {
        const uint64_t x = off + i;
        chunk[i] = static_cast<uint8_t>(0xA5 ^ (x >> 9) ^ (x * 31));
        if (chunk[i] == 0) chunk[i] = 0x5A;
      }
      base->Poke(off, chunk.data(), n);
    }
  }
  return std::unique_ptr<ModelDevice>(new ModelDevice(std::move(base)));
}

Status ModelDevice::Submit(std::span<IoRequest> batch) {
  submits_.fetch_add(1, std::memory_order_relaxed);
  for (IoRequest& req : batch) {
    if (req.op == IoOp::kRead) {
      reads_.fetch_add(1, std::memory_order_relaxed);
    } else if (req.op == IoOp::kWrite) {
      const uint64_t len = req.iov_bytes();
      writes_.fetch_add(1, std::memory_order_relaxed);
      bytes_written_.fetch_add(len, std::memory_order_relaxed);
      if (on_write) on_write(req.offset, len);
      std::lock_guard<std::mutex> lock(mu_);
      if (recording_) log_.push_back(WriteRecord{req.offset, len});
    }
  }
  return base_->Submit(batch);
}

void ModelDevice::set_recording(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  recording_ = on;
}

std::vector<ModelDevice::WriteRecord> ModelDevice::TakeWrites() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(log_, {});
}

const char* BlockStateName(BlockState s) {
  switch (s) {
    case BlockState::kHole:
      return "hole";
    case BlockState::kUnwritten:
      return "unwritten";
    case BlockState::kWritten:
      return "written";
  }
  return "?";
}

// ---- ModelInode ----------------------------------------------------------------

ModelInode::ModelInode(ModelFs& fs, uint32_t ino)
    : fs_(fs), ino_(ino), block_size_(fs.options().block_size) {}

ModelInode::~ModelInode() { Shutdown(); }

void ModelInode::Shutdown() {
  if (!mapping_) return;
  // The mapping's destructor requires no folio under writeback; truncating
  // everything waits for that (and for flushers that hold folio references).
  mapping_->TruncateRange(0, UINT64_MAX);
  mapping_.reset();
}

BlockDevice& ModelInode::device() { return *fs_.data_; }

BlockExtent ModelInode::ExtentLocked(uint64_t fblk) const {
  return fblk < extents_.size() ? extents_[fblk] : BlockExtent{};
}

BlockExtent ModelInode::ExtentAt(uint64_t fblk) const {
  std::lock_guard<std::mutex> lock(map_mu_);
  return ExtentLocked(fblk);
}

std::optional<uint64_t> ModelInode::FileBlockOf(uint64_t pblk) const {
  std::lock_guard<std::mutex> lock(map_mu_);
  for (uint64_t b = 0; b < extents_.size(); b++) {
    if (extents_[b].state != BlockState::kHole && extents_[b].pblk == pblk) return b;
  }
  return std::nullopt;
}

Iomap ModelInode::LookupLocked(uint64_t pos, uint64_t limit, const std::vector<bool>* fresh,
                               uint64_t fresh_first) const {
  const uint64_t bs = block_size_;
  const uint64_t fblk = pos / bs;
  const uint64_t limit_blk = std::max(fblk + 1, DivRoundUp(limit, bs));
  auto is_fresh = [&](uint64_t b) {
    return fresh != nullptr && b >= fresh_first && b - fresh_first < fresh->size() &&
           (*fresh)[b - fresh_first];
  };
  const BlockExtent first = ExtentLocked(fblk);
  const bool first_fresh = is_fresh(fblk);
  uint64_t n = 1;
  while (fblk + n < limit_blk) {
    if (first.state == BlockState::kHole && fblk + n >= extents_.size()) {
      n = limit_blk - fblk;  // holes all the way past the last mapped block
      break;
    }
    const BlockExtent e = ExtentLocked(fblk + n);
    if (e.state != first.state) break;
    if (first.state != BlockState::kHole && e.pblk != first.pblk + n) break;
    if (is_fresh(fblk + n) != first_fresh) break;
    n++;
  }
  Iomap map;
  map.offset = fblk * bs;
  map.length = n * bs;
  switch (first.state) {
    case BlockState::kHole:
      map.type = IomapType::kHole;
      map.addr = kIomapNoAddr;
      break;
    case BlockState::kUnwritten:
      map.type = IomapType::kUnwritten;
      map.addr = first.pblk * bs;
      break;
    case BlockState::kWritten:
      map.type = IomapType::kMapped;
      map.addr = first.pblk * bs;
      break;
  }
  map.flags = first_fresh ? kIomapFlagNew : 0;
  map.seq = seq_.load(std::memory_order_acquire);
  return map;
}

Status ModelInode::DirtyInodeBlockLocked(journal::Handle& handle) {
  // The inode's metadata block stands for its extent tree: every extent
  // change is a real journalled metadata update, so commits really wait for
  // the handles that make them (the I1 deadlock needs that to be possible).
  ASSIGN_OR_RETURN(journal::BufferRef b, fs_.journal().buffers().Read(fs_.InodeMetaBlock(ino_)));
  RETURN_IF_ERROR(handle.GetWriteAccess(*b));
  const uint64_t seq = seq_.load(std::memory_order_relaxed);
  const uint64_t size = size_.load(std::memory_order_relaxed);
  const uint64_t nblocks = extents_.size();
  std::memcpy(b->data(), &seq, 8);
  std::memcpy(b->data() + 8, &size, 8);
  std::memcpy(b->data() + 16, &nblocks, 8);
  return handle.DirtyMetadata(*b);
}

Status ModelInode::AllocateRange(uint64_t first, uint64_t last, std::vector<bool>* fresh,
                                 const char* what) {
  if (fresh != nullptr) fresh->assign(last - first, false);
  {
    // Most writes overwrite allocated blocks: no handle for them.
    std::lock_guard<std::mutex> lock(map_mu_);
    bool any_hole = false;
    for (uint64_t b = first; b < last && !any_hole; b++)
      any_hole = ExtentLocked(b).state == BlockState::kHole;
    if (!any_hole) return Status::Ok();
  }
  // The handle first, the mapping lock second (lock order in model_fs.h).
  ASSIGN_OR_RETURN(auto handle, fs_.journal().Start(2, what));
  Status st;
  {
    std::lock_guard<std::mutex> lock(map_mu_);
    uint64_t allocated = 0;
    for (uint64_t b = first; b < last; b++) {
      if (ExtentLocked(b).state != BlockState::kHole) continue;
      Result<uint64_t> pblk = fs_.AllocBlock();
      if (!pblk.ok()) {
        st = pblk.status();
        break;
      }
      if (b >= extents_.size()) extents_.resize(b + 1);
      extents_[b] = BlockExtent{BlockState::kUnwritten, *pblk};
      if (fresh != nullptr) (*fresh)[b - first] = true;
      allocated++;
    }
    if (allocated > 0) {
      seq_.fetch_add(1, std::memory_order_acq_rel);
      stats_.allocated_blocks.fetch_add(allocated, std::memory_order_relaxed);
      Status dst = DirtyInodeBlockLocked(*handle);
      if (st.ok()) st = dst;
    }
  }
  last_tid_.store(handle->tid(), std::memory_order_release);
  Status stop = handle->Stop();
  return st.ok() ? stop : st;
}

Status ModelInode::FreeRange(uint64_t first, uint64_t last, const char* what) {
  ASSIGN_OR_RETURN(auto handle, fs_.journal().Start(2, what));
  Status st;
  {
    std::lock_guard<std::mutex> lock(map_mu_);
    uint64_t freed = 0;
    const uint64_t stop = std::min<uint64_t>(last, extents_.size());
    for (uint64_t b = first; b < stop; b++) {
      if (extents_[b].state == BlockState::kHole) continue;
      fs_.FreeBlock(extents_[b].pblk);
      extents_[b] = BlockExtent{};
      freed++;
    }
    while (!extents_.empty() && extents_.back().state == BlockState::kHole) extents_.pop_back();
    if (freed > 0) {
      seq_.fetch_add(1, std::memory_order_acq_rel);
      stats_.freed_blocks.fetch_add(freed, std::memory_order_relaxed);
      st = DirtyInodeBlockLocked(*handle);
    }
  }
  last_tid_.store(handle->tid(), std::memory_order_release);
  Status stop = handle->Stop();
  return st.ok() ? stop : st;
}

void ModelInode::SetSizeAtLeast(uint64_t end) {
  uint64_t cur = size_.load(std::memory_order_acquire);
  while (cur < end && !size_.compare_exchange_weak(cur, end, std::memory_order_acq_rel)) {
  }
}

Status ModelInode::Begin(IomapIter& iter) {
  stats_.begins.fetch_add(1, std::memory_order_relaxed);
  if (hooks.before_begin) hooks.before_begin(iter);
  const uint64_t bs = block_size_;
  const uint64_t pos = iter.pos();
  const uint64_t end = ClampedEnd(pos, std::max<uint64_t>(iter.len(), 1));
  const uint64_t first = pos / bs;
  const uint64_t last = DivRoundUp(end, bs);

  std::vector<bool> fresh;
  const bool write = (iter.flags() & kIomapWrite) != 0;
  if (write) RETURN_IF_ERROR(AllocateRange(first, last, &fresh, "iomap_begin(write)"));

  {
    std::lock_guard<std::mutex> lock(map_mu_);
    Iomap map = LookupLocked(pos, end, write ? &fresh : nullptr, first);
    if ((iter.flags() & kIomapZero) != 0) {
      stats_.zero_begins.fetch_add(1, std::memory_order_relaxed);
      if (hooks.after_lookup) hooks.after_lookup(iter);
      // I2: the dirty or under-writeback folios over an unwritten extent (or a
      // hole inside EOF) are collected under the lock that writeback
      // completion needs to convert the extent: each is either batched here
      // or its blocks are already written (and the next lookup says MAPPED).
      const bool fill = map.type == IomapType::kUnwritten ||
                        (map.type == IomapType::kHole && map.offset < size());
      if (fill) {
        FolioBatch& batch = iter.batch();
        const size_t before = batch.size();
        const uint64_t stop = mapping_->FillDirtyFolios(pos, map.end(), batch);
        stats_.batch_fills.fetch_add(1, std::memory_order_relaxed);
        stats_.batched_folios.fetch_add(batch.size() - before, std::memory_order_relaxed);
        uint64_t seen = stats_.max_batch.load(std::memory_order_relaxed);
        while (batch.size() > seen &&
               !stats_.max_batch.compare_exchange_weak(seen, batch.size())) {
        }
        if (stop < map.end()) {
          // I3: a full batch trims the mapping at the last batched folio.
          map.length = stop - map.offset;
          stats_.batch_trims.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    map.seq = seq_.load(std::memory_order_acquire);
    iter.iomap() = map;
  }
  if (hooks.after_begin) hooks.after_begin(iter);
  return Status::Ok();
}

Status ModelInode::End(IomapIter& iter, uint64_t processed) {
  if (hooks.before_end) hooks.before_end(iter, processed);
  // iomap contract: End sees pos() at the start of the step it ends.
  if ((iter.flags() & kIomapWrite) != 0 && processed > 0) SetSizeAtLeast(iter.pos() + processed);
  return Status::Ok();
}

bool ModelInode::IomapValid(const IomapIter& iter) {
  return iter.iomap().seq == seq_.load(std::memory_order_acquire);
}

Result<Iomap> ModelInode::MapBlocks(uint64_t pos, uint64_t len) {
  stats_.map_blocks.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(map_mu_);
  if (pos >= RoundUp(size(), block_size_))
    stats_.map_blocks_past_eof.fetch_add(1, std::memory_order_relaxed);
  Iomap map = LookupLocked(pos, ClampedEnd(pos, std::max<uint64_t>(len, 1)), nullptr, 0);
  if (map.type == IomapType::kHole) stats_.map_blocks_holes.fetch_add(1, std::memory_order_relaxed);
  return map;
}

Status ModelInode::EndWriteback(uint64_t pos, uint64_t len, const Iomap& map, Status io_status) {
  stats_.end_writebacks.fetch_add(1, std::memory_order_relaxed);
  if (hooks.before_end_writeback) hooks.before_end_writeback(pos, len);
  if (!io_status.ok()) {
    // The data never reached the blocks: converting would expose whatever
    // they held before (I8).
    stats_.end_writeback_errors.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }
  if (map.type == IomapType::kUnwritten && len > 0) {
    const uint64_t bs = block_size_;
    // Our own handle (I1: this is what a commit waits for), then the lock.
    ASSIGN_OR_RETURN(auto handle, fs_.journal().Start(2, "end_writeback"));
    Status st;
    {
      std::lock_guard<std::mutex> lock(map_mu_);
      uint64_t converted = 0;
      for (uint64_t b = pos / bs; b < DivRoundUp(pos + len, bs); b++) {
        const uint64_t want = map.AddrOf(b * bs) / bs;
        if (b < extents_.size() && extents_[b].state == BlockState::kUnwritten &&
            extents_[b].pblk == want) {
          extents_[b].state = BlockState::kWritten;
          converted++;
        } else if (b >= extents_.size() || extents_[b].state != BlockState::kWritten ||
                   extents_[b].pblk != want) {
          // The blocks were freed (or moved) while their data was in flight:
          // truncate/punch must wait for writeback, so this is a bug.
          stats_.stale_conversions.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (converted > 0) {
        seq_.fetch_add(1, std::memory_order_acq_rel);
        stats_.converted_blocks.fetch_add(converted, std::memory_order_relaxed);
        st = DirtyInodeBlockLocked(*handle);
      }
    }
    last_tid_.store(handle->tid(), std::memory_order_release);
    Status stop = handle->Stop();
    if (!st.ok()) return st;
    RETURN_IF_ERROR(stop);
  }
  if (hooks.after_end_writeback) hooks.after_end_writeback(pos, len);
  return Status::Ok();
}

// ---- operations ----

Result<size_t> ModelInode::Write(uint64_t pos, std::span<const uint8_t> data) {
  std::unique_lock<std::shared_mutex> lock(io_mu_);
  return WriteLocked(pos, data);
}

Result<size_t> ModelInode::WriteLocked(uint64_t pos, std::span<const uint8_t> data) {
  if (data.empty()) return size_t{0};
  const uint64_t old = size();
  // I6: the old EOF block's bytes past the old size become file data now.
  if (pos > old) RETURN_IF_ERROR(IomapTruncatePage(*this, old));
  return IomapWrite(*this, pos, data);
}

Result<size_t> ModelInode::Read(uint64_t pos, std::span<uint8_t> out, bool readahead) {
  std::shared_lock<std::shared_mutex> lock(io_mu_);
  return ReadLocked(pos, out, readahead);
}

Result<size_t> ModelInode::ReadLocked(uint64_t pos, std::span<uint8_t> out, bool readahead) {
  return IomapRead(*this, readahead ? &ra_ : nullptr, pos, out);
}

Status ModelInode::ZeroRange(uint64_t pos, uint64_t len, bool* did_zero) {
  std::unique_lock<std::shared_mutex> lock(io_mu_);
  return ZeroRangeLocked(pos, len, did_zero);
}

Status ModelInode::ZeroRangeLocked(uint64_t pos, uint64_t len, bool* did_zero) {
  if (did_zero != nullptr) *did_zero = false;
  const uint64_t size = this->size();
  if (pos >= size || len == 0) return Status::Ok();
  return IomapZeroRange(*this, pos, std::min(len, size - pos), did_zero);
}

Status ModelInode::Punch(uint64_t pos, uint64_t len) {
  std::unique_lock<std::shared_mutex> lock(io_mu_);
  return PunchLocked(pos, len);
}

Status ModelInode::PunchLocked(uint64_t pos, uint64_t len) {
  const uint64_t size = this->size();
  if (pos >= size || len == 0) return Status::Ok();
  const uint64_t end = ClampedEnd(pos, std::min(len, size - pos));
  const uint64_t bs = block_size_;
  const uint64_t first_full = RoundUp(pos, bs);
  const uint64_t last_full = end / bs * bs;
  if (first_full >= last_full) return IomapZeroRange(*this, pos, end - pos);
  // Partial blocks keep their blocks: zero their covered bytes in cache (I5).
  if (pos < first_full) RETURN_IF_ERROR(IomapZeroRange(*this, pos, first_full - pos));
  if (last_full < end) RETURN_IF_ERROR(IomapZeroRange(*this, last_full, end - last_full));
  // Whole blocks: drop their cache (waiting for writeback, so no I/O is in
  // flight to blocks about to be freed), then free them.
  mapping_->TruncateRange(first_full, last_full);
  return FreeRange(first_full / bs, last_full / bs, "punch");
}

Status ModelInode::Truncate(uint64_t new_size) {
  std::unique_lock<std::shared_mutex> lock(io_mu_);
  return TruncateLocked(new_size);
}

Status ModelInode::TruncateLocked(uint64_t new_size) {
  const uint64_t old = size();
  const uint64_t bs = block_size_;
  if (new_size < old) {
    // XFS order: zero the new EOF block's tail while it is still inside EOF,
    // publish the size (writeback now skips and zeroes what lies past it),
    // drop the cache past the new EOF block, free the blocks.
    RETURN_IF_ERROR(IomapTruncatePage(*this, new_size));
    size_.store(new_size, std::memory_order_release);
    mapping_->TruncateRange(RoundUp(new_size, bs), UINT64_MAX);
    return FreeRange(DivRoundUp(new_size, bs), kMaxFilePos / bs, "truncate");
  }
  if (new_size > old) {
    // I6: the old EOF block's tail is zeroed before the new size is visible.
    RETURN_IF_ERROR(IomapTruncatePage(*this, old));
    size_.store(new_size, std::memory_order_release);
  }
  return Status::Ok();
}

Status ModelInode::Fallocate(uint64_t pos, uint64_t len) {
  std::unique_lock<std::shared_mutex> lock(io_mu_);
  return FallocateLocked(pos, len);
}

Status ModelInode::FallocateLocked(uint64_t pos, uint64_t len) {
  if (len == 0) return Status::Ok();
  const uint64_t end = ClampedEnd(pos, len);
  return AllocateRange(pos / block_size_, DivRoundUp(end, block_size_), nullptr, "fallocate");
}

Status ModelInode::Fsync(uint64_t start, uint64_t end) {
  RETURN_IF_ERROR(IomapWriteAndWait(*this, start, end));
  const uint64_t tid = last_tid_.load(std::memory_order_acquire);
  if (tid == 0 || tid <= fs_.journal().committed_tid()) return Status::Ok();
  return fs_.journal().ForceCommit(tid);
}

Status ModelInode::WritebackRange(uint64_t start, uint64_t end, bool sync) {
  WritebackControl wbc;
  wbc.start = start;
  wbc.end = end;
  wbc.sync = sync;
  return IomapWritepages(*this, wbc);
}

Result<std::vector<uint8_t>> ModelInode::ReadDevice(uint64_t pos, uint64_t len) {
  std::vector<uint8_t> out(len, 0);
  if (len == 0) return out;
  const uint64_t bs = block_size_;
  const uint64_t first = pos / bs;
  const uint64_t last = DivRoundUp(pos + len, bs);
  std::vector<BlockExtent> map;
  {
    std::lock_guard<std::mutex> lock(map_mu_);
    for (uint64_t b = first; b < last; b++) map.push_back(ExtentLocked(b));
  }
  AlignedBuffer block = AllocateAligned(bs);
  for (uint64_t b = first; b < last; b++) {
    const BlockExtent& e = map[b - first];
    if (e.state != BlockState::kWritten) continue;  // I8: zeros
    RETURN_IF_ERROR(fs_.data_->base().Read(e.pblk * bs, block.get(), bs));
    const uint64_t lo = std::max(pos, b * bs);
    const uint64_t hi = std::min(pos + len, (b + 1) * bs);
    std::memcpy(out.data() + (lo - pos), block.get() + (lo - b * bs), hi - lo);
  }
  return out;
}

// ---- ModelFs -------------------------------------------------------------------

PageCacheOptions QuietCacheOptions(uint64_t cache_size) {
  PageCacheOptions o;
  o.cache_size = cache_size;
  o.dirty_background_percent = 90;
  o.dirty_percent = 100;
  o.dirty_expire = std::chrono::hours(1);
  o.flush_interval = std::chrono::hours(1);
  o.flusher_threads = 1;
  return o;
}

Result<std::unique_ptr<ModelFs>> ModelFs::Create(const ModelFsOptions& options) {
  std::unique_ptr<ModelFs> fs(new ModelFs(options));
  if (options.block_size == 0 || options.data_bytes % options.block_size != 0)
    return Status::Error(EINVAL, "ModelFs: data_bytes must be a multiple of block_size");
  ASSIGN_OR_RETURN(fs->data_, ModelDevice::Create(options.data_bytes, options.garbage_device));
  fs->total_blocks_ = options.data_bytes / options.block_size;

  const uint64_t jdev_blocks = kJournalFirstBlock + options.journal_blocks + 2 + options.inodes;
  ASSIGN_OR_RETURN(fs->jdev_, MemoryDevice::Create(jdev_blocks * kJournalBlockSize, 512));
  RETURN_IF_ERROR(journal::FormatJournal(*fs->jdev_, kJournalFirstBlock, options.journal_blocks,
                                         kJournalBlockSize, ModelUuid()));
  journal::JournalOptions jo;
  jo.first_block = kJournalFirstBlock;
  jo.num_blocks = options.journal_blocks;
  jo.block_size = kJournalBlockSize;
  jo.uuid = ModelUuid();
  jo.commit_interval = options.commit_interval;
  ASSIGN_OR_RETURN(fs->journal_, journal::Journal::Open(*fs->jdev_, jo));

  ASSIGN_OR_RETURN(fs->cache_, PageCache::Create(options.cache));
  for (uint32_t i = 0; i < options.inodes; i++) {
    auto inode = std::make_unique<ModelInode>(*fs, i);
    ASSIGN_OR_RETURN(inode->mapping_, fs->cache_->NewMapping(options.block_size, inode.get(),
                                                             options.max_folio_size));
    fs->inodes_.push_back(std::move(inode));
  }
  return fs;
}

ModelFs::~ModelFs() {
  for (auto& inode : inodes_) inode->Shutdown();
  inodes_.clear();
  cache_.reset();
  if (journal_) (void)journal_->Close();
  journal_.reset();
}

Result<uint64_t> ModelFs::AllocBlock() {
  std::lock_guard<std::mutex> lock(alloc_mu_);
  uint64_t pblk;
  if (!free_.empty()) {
    pblk = free_.back();
    free_.pop_back();
  } else if (next_unused_ < total_blocks_) {
    pblk = next_unused_++;
  } else {
    return Status::Error(ENOSPC, "model fs: no free data block");
  }
  used_++;
  return pblk;
}

void ModelFs::FreeBlock(uint64_t pblk) {
  std::lock_guard<std::mutex> lock(alloc_mu_);
  free_.push_back(pblk);
  used_--;
}

uint64_t ModelFs::used_blocks() const {
  std::lock_guard<std::mutex> lock(alloc_mu_);
  return used_;
}

uint64_t ModelFs::InodeMetaBlock(uint32_t ino) const {
  return kJournalFirstBlock + opts_.journal_blocks + 1 + ino;
}

uint64_t ModelFs::BitmapMetaBlock() const { return kJournalFirstBlock + opts_.journal_blocks; }

}  // namespace foliofs::iomaptest
