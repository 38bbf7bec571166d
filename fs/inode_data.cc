// fs/Inode's side of the iomap contract (fs/iomap/iomap.h) and the buffered
// read/write, fsync and lseek entry points built on it.
//
// Begin(kIomapWrite) allocates UNWRITTEN blocks for holes in its own handle
// (I8); Begin(kIomapZero) batches the dirty folios of unwritten extents and of
// holes inside EOF under map_mu (I2, I3); every extent change bumps seq (I7).
// Writeback completion converts unwritten extents to written in its own
// handles (ConvertToWritten). The on-disk size follows a write in End.
#include <algorithm>
#include <string>

#include "fs/inode.h"
#include "fs/inode_data_internal.h"
#include "pagecache/base/log.h"

namespace foliofs::fs {

using inode_data::AllocateHole;
using inode_data::ConvertToWritten;
using inode_data::DivRoundUp;
using inode_data::LookupIomap;
using inode_data::MaxFileBytes;
using inode_data::UpdateRecord;
using inode_data::kSeekData;
using inode_data::kSeekHole;

namespace {

uint64_t StepEnd(const IomapIter& iter) {
  const uint64_t len = std::max<uint64_t>(iter.len(), 1);
  return iter.pos() > UINT64_MAX - len ? UINT64_MAX : iter.pos() + len;
}

Status NotRegular(const Inode& inode, int dir_err, const char* op) {
  return Status::Error(
      inode.is_dir() ? dir_err : EINVAL,
      std::string(op) + ": inode " + std::to_string(inode.ino()) + " is not a regular file");
}

// Begin(kIomapWrite): the mapping at pos, allocating unwritten blocks for a
// hole (up to the end of the write) in a handle of its own.
Status BeginWrite(Inode& inode, IomapIter& iter) {
  const uint64_t bs = inode.fs().block_size;
  const uint64_t end = StepEnd(iter);
  {
    std::shared_lock<std::shared_mutex> lock(inode.map_mu);
    ASSIGN_OR_RETURN(Iomap map, LookupIomap(inode, iter.pos(), end));
    if (map.type != IomapType::kHole) {
      iter.iomap() = map;
      return Status::Ok();
    }
  }
  ASSIGN_OR_RETURN(iter.iomap(),
                   AllocateHole(inode, iter.pos() / bs, DivRoundUp(end, bs), "iomap_begin(write)"));
  return Status::Ok();
}

// Begin(kIomapZero): I2 — the dirty or under-writeback folios over an
// unwritten extent (or a hole inside EOF) are batched under map_mu, which
// writeback completion needs exclusive to convert: each folio is either in
// the batch or its blocks are already written (and the lookup said MAPPED).
Status BeginZero(Inode& inode, IomapIter& iter) {
  std::shared_lock<std::shared_mutex> lock(inode.map_mu);
  ASSIGN_OR_RETURN(Iomap map, LookupIomap(inode, iter.pos(), StepEnd(iter)));
  const bool fill = map.type == IomapType::kUnwritten ||
                    (map.type == IomapType::kHole && map.offset < inode.size());
  if (fill) {
    const uint64_t stop = inode.mapping()->FillDirtyFolios(iter.pos(), map.end(), iter.batch());
    // I3: a full batch trims the mapping at the last batched folio.
    if (stop < map.end()) map.length = stop - map.offset;
  }
  iter.iomap() = map;
  return Status::Ok();
}

}  // namespace

// ---- IomapInode ------------------------------------------------------------

Status Inode::Begin(IomapIter& iter) {
  if (tree_ == nullptr || mapping_ == nullptr) return NotRegular(*this, EISDIR, "iomap_begin");
  if ((iter.flags() & kIomapWrite) != 0) return BeginWrite(*this, iter);
  if ((iter.flags() & kIomapZero) != 0) return BeginZero(*this, iter);
  // kIomapRead (folio locks held) and kIomapReport: a pure lookup.
  std::shared_lock<std::shared_mutex> lock(map_mu);
  ASSIGN_OR_RETURN(iter.iomap(), LookupIomap(*this, iter.pos(), StepEnd(iter)));
  return Status::Ok();
}

Status Inode::End(IomapIter& iter, uint64_t processed) {
  if ((iter.flags() & kIomapWrite) == 0 || processed == 0) return Status::Ok();
  const uint64_t new_end = iter.pos() + processed;
  {
    std::lock_guard<std::mutex> meta(meta_mu);
    if (new_end <= rec_.size) return Status::Ok();
  }
  // The on-disk size follows the write; the blocks are unwritten until their
  // data is written (I8), so the new size never exposes stale contents.
  return UpdateRecord(*this, true, true, &new_end);
}

bool Inode::IomapValid(const IomapIter& iter) { return iter.iomap().seq == seq(); }

Result<Iomap> Inode::MapBlocks(uint64_t pos, uint64_t len) {
  if (tree_ == nullptr) return NotRegular(*this, EISDIR, "map_blocks");
  std::shared_lock<std::shared_mutex> lock(map_mu);
  const uint64_t end =
      pos > UINT64_MAX - std::max<uint64_t>(len, 1) ? UINT64_MAX : pos + std::max<uint64_t>(len, 1);
  return LookupIomap(*this, pos, end);
}

Status Inode::EndWriteback(uint64_t pos, uint64_t len, const Iomap& map, Status io_status) {
  // On an I/O error the data never reached the blocks: converting would expose
  // whatever they held before (I8).
  if (!io_status.ok() || map.type != IomapType::kUnwritten || len == 0) return Status::Ok();
  const uint64_t bs = fs_.block_size;
  Status st = ConvertToWritten(*this, pos / bs, DivRoundUp(pos + len, bs));
  if (!st.ok()) {
    GetLogger("fs")->error("inode {}: converting [{}, +{}) to written: {}", ino_, pos, len,
                           st.ToString());
  }
  return st;
}

void Inode::ExtendSize(uint64_t new_size) {
  uint64_t cur = size_.load(std::memory_order_acquire);
  while (cur < new_size && !size_.compare_exchange_weak(cur, new_size, std::memory_order_acq_rel)) {
  }
}

// ---- operations ---------------------------------------------------------------

Result<size_t> Inode::Read(uint64_t offset, std::span<uint8_t> out) {
  if (!is_reg() || mapping_ == nullptr) return NotRegular(*this, EISDIR, "read");
  std::shared_lock<std::shared_mutex> lock(rw);
  return IomapRead(*this, &ra_, offset, out);
}

Result<size_t> Inode::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (!is_reg() || mapping_ == nullptr) return NotRegular(*this, EISDIR, "write");
  RETURN_IF_ERROR(fs_.CheckWritable());
  if (data.empty()) return size_t{0};
  const uint64_t max = MaxFileBytes(fs_);
  if (offset >= max) {
    return Status::Error(EFBIG, "write at " + std::to_string(offset) + " past the largest file");
  }
  data = data.first(std::min<uint64_t>(data.size(), max - offset));

  std::unique_lock<std::shared_mutex> lock(rw);
  const uint64_t old = size();
  // I6: the old EOF block's bytes past the old size become file data now.
  if (offset > old) RETURN_IF_ERROR(IomapTruncatePage(*this, old));
  uint64_t disk_size_before;
  {
    std::lock_guard<std::mutex> meta(meta_mu);
    disk_size_before = rec_.size;
  }
  Result<size_t> written = IomapWrite(*this, offset, data);
  if (!written.ok() || *written == 0) return written;
  bool times_done;
  {
    std::lock_guard<std::mutex> meta(meta_mu);
    times_done = rec_.size != disk_size_before;  // End extended it, with the times
  }
  if (!times_done) RETURN_IF_ERROR(UpdateRecord(*this, true, true, nullptr));
  return written;
}

Status Inode::Fsync(bool /*datasync*/) {
  if (mapping_ != nullptr) {
    // Data first, without a handle (I1): its completions convert unwritten
    // extents in transactions that NoteTid records.
    Status st = IomapWriteAndWait(*this, 0, UINT64_MAX);
    Status pending = mapping_->TakeError();
    if (!st.ok()) return st;
    if (!pending.ok()) return pending;
  }
  const uint64_t tid = last_tid();
  if (tid == 0 || tid <= fs_.journal->committed_tid()) return Status::Ok();
  return fs_.journal->ForceCommit(tid);
}

Result<uint64_t> Inode::Lseek(uint64_t offset, int whence) {
  if (!is_reg() || mapping_ == nullptr) return NotRegular(*this, EINVAL, "lseek");
  std::shared_lock<std::shared_mutex> lock(rw);
  if (whence == kSeekData) return IomapSeekData(*this, offset);
  if (whence == kSeekHole) return IomapSeekHole(*this, offset);
  return Status::Error(EINVAL, "lseek: whence " + std::to_string(whence) + " not supported here");
}

}  // namespace foliofs::fs
