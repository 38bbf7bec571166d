// MemoryDevice: a BlockDevice held in RAM, for unit tests and crash images.
//
// Same contract as every BlockDevice (alignment, bounds, barrier flushes);
// every write is immediately "durable" since there is nothing to lose.
// Snapshot()/Contents() expose the bytes so tests can compare images.
//
// Thread safety: all methods are safe to call concurrently (one mutex; this
// device is for correctness, not speed).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "pagecache/blockdev/block_device.h"

namespace foliofs {

class MemoryDevice final : public BlockDevice {
 public:
  // size_bytes must be a positive multiple of logical_block_size (a power of two >= 512).
  static Result<std::unique_ptr<MemoryDevice>> Create(uint64_t size_bytes,
                                                      uint32_t logical_block_size = 512);
  // A device holding exactly `image` (size must be a multiple of logical_block_size).
  static Result<std::unique_ptr<MemoryDevice>> FromImage(std::vector<uint8_t> image,
                                                         uint32_t logical_block_size = 512);

  uint64_t size_bytes() const override { return size_; }
  uint32_t logical_block_size() const override { return lbs_; }
  std::string name() const override { return "memory"; }
  Status Submit(std::span<IoRequest> batch) override;

  // A copy of the whole device.
  std::vector<uint8_t> Snapshot() const;
  // Overwrites bytes directly, bypassing the request path (tests: corrupt a block).
  void Poke(uint64_t offset, const void* data, size_t len);
  // Copies bytes out directly (tests).
  void Peek(uint64_t offset, void* out, size_t len) const;

 private:
  MemoryDevice(std::vector<uint8_t> image, uint32_t lbs);
  const uint64_t size_;
  const uint32_t lbs_;
  mutable std::mutex mu_;
  std::vector<uint8_t> bytes_;  // GUARDED_BY(mu_)
};

}  // namespace foliofs
