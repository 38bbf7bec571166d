// BenchInode: the one file of foliofs-bufbench — an IomapInode whose extents
// are a preallocated identity map over the device (file position = device
// address), UNWRITTEN until writeback completion converts them, as a real
// foliofs file preallocated with fallocate would be. No journal: the
// conversion is an in-memory bit flip under the inode's mapping lock.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "fs/iomap/iomap.h"
#include "pagecache/page_cache.h"

namespace foliofs::bench {

class BenchInode final : public IomapInode {
 public:
  // `written`: the file already holds `bytes` of data on the device (a
  // read-only run after an earlier write run): extents MAPPED, i_size = bytes.
  static Result<std::unique_ptr<BenchInode>> Create(PageCache& cache, BlockDevice& device,
                                                    uint64_t bytes, uint32_t block_size,
                                                    bool written = false);
  ~BenchInode() override;

  Mapping& page_mapping() override { return *mapping_; }
  BlockDevice& device() override { return device_; }
  uint64_t size() const override { return size_.load(std::memory_order_acquire); }
  void ExtendSize(uint64_t new_size) override;
  Status Begin(IomapIter& iter) override;
  bool IomapValid(const IomapIter& iter) override;
  Result<Iomap> MapBlocks(uint64_t pos, uint64_t len) override;
  Status EndWriteback(uint64_t pos, uint64_t len, const Iomap& map, Status io_status) override;

 private:
  BenchInode(BlockDevice& device, uint64_t bytes, uint32_t block_size);
  // mu_ held: the run of blocks of one state from the block of pos, up to end.
  Iomap LookupLocked(uint64_t pos, uint64_t end) const;

  BlockDevice& device_;
  const uint32_t block_size_;
  const uint64_t capacity_;
  std::unique_ptr<Mapping> mapping_;
  std::atomic<uint64_t> size_{0};
  std::atomic<uint64_t> seq_{1};
  mutable std::mutex mu_;       // the per-inode mapping lock
  std::vector<uint8_t> state_;  // GUARDED_BY(mu_): per block, 0 unwritten, 1 written
};

}  // namespace foliofs::bench
