#include "tools/bench/buffered/bench_inode.h"

#include <algorithm>

namespace foliofs::bench {

Result<std::unique_ptr<BenchInode>> BenchInode::Create(PageCache& cache, BlockDevice& device,
                                                       uint64_t bytes, uint32_t block_size,
                                                       bool written) {
  if (bytes > device.size_bytes() || bytes % block_size != 0)
    return Status::Error(EINVAL, "file size must be block aligned and fit the device");
  std::unique_ptr<BenchInode> inode(new BenchInode(device, bytes, block_size));
  ASSIGN_OR_RETURN(inode->mapping_, cache.NewMapping(block_size, inode.get()));
  if (written) {
    inode->state_.assign(inode->state_.size(), 1);
    inode->size_.store(bytes);
  }
  return inode;
}

BenchInode::BenchInode(BlockDevice& device, uint64_t bytes, uint32_t block_size)
    : device_(device), block_size_(block_size), capacity_(bytes), state_(bytes / block_size, 0) {}

BenchInode::~BenchInode() { mapping_.reset(); }

void BenchInode::ExtendSize(uint64_t new_size) {
  uint64_t cur = size_.load(std::memory_order_relaxed);
  while (cur < new_size && !size_.compare_exchange_weak(cur, new_size)) {
  }
}

Iomap BenchInode::LookupLocked(uint64_t pos, uint64_t end) const {
  Iomap m;
  const uint64_t first = pos / block_size_;
  if (pos >= capacity_) {  // beyond the preallocation: a hole
    m.offset = first * block_size_;
    m.length = std::max<uint64_t>(end, pos + 1) - m.offset;
    m.length = (m.length + block_size_ - 1) / block_size_ * block_size_;
    m.seq = seq_.load();
    return m;
  }
  const uint64_t limit = std::min<uint64_t>(state_.size(), (end + block_size_ - 1) / block_size_);
  uint64_t last = first + 1;
  while (last < limit && state_[last] == state_[first]) last++;
  m.offset = first * block_size_;
  m.length = (last - first) * block_size_;
  m.addr = m.offset;  // identity map
  m.type = state_[first] ? IomapType::kMapped : IomapType::kUnwritten;
  m.seq = seq_.load();
  return m;
}

Status BenchInode::Begin(IomapIter& iter) {
  std::lock_guard lk(mu_);
  const uint64_t end = iter.pos() + std::max<uint64_t>(iter.len(), 1);
  iter.iomap() = LookupLocked(iter.pos(), end);
  Iomap& m = iter.iomap();
  const bool cached_hole = m.type == IomapType::kHole && m.offset < size();
  if ((iter.flags() & kIomapZero) && (m.type == IomapType::kUnwritten || cached_hole))
    m.length = mapping_->FillDirtyFolios(iter.pos(), m.end(), iter.batch()) - m.offset;  // I2, I3
  return Status::Ok();
}

bool BenchInode::IomapValid(const IomapIter& iter) { return iter.iomap().seq == seq_.load(); }

Result<Iomap> BenchInode::MapBlocks(uint64_t pos, uint64_t len) {
  std::lock_guard lk(mu_);
  Iomap m = LookupLocked(pos, pos + len);
  const uint64_t end = std::min(m.end(), pos + len);
  if (m.type != IomapType::kHole) m.addr = m.AddrOf(pos);
  m.offset = pos;
  m.length = end - pos;
  return m;
}

Status BenchInode::EndWriteback(uint64_t pos, uint64_t len, const Iomap& map, Status io_status) {
  if (!io_status.ok() || map.type != IomapType::kUnwritten) return io_status;
  std::lock_guard lk(mu_);
  for (uint64_t b = pos / block_size_; b < (pos + len) / block_size_; b++) state_[b] = 1;
  seq_.fetch_add(1);
  return Status::Ok();
}

}  // namespace foliofs::bench
