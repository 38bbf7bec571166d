#include "pagecache/blockdev/memory_device.h"

#include <cstring>

namespace foliofs {
namespace {

bool IsValidLbs(uint32_t lbs) { return lbs >= 512 && (lbs & (lbs - 1)) == 0; }

}  // namespace

Result<std::unique_ptr<MemoryDevice>> MemoryDevice::Create(uint64_t size_bytes,
                                                           uint32_t logical_block_size) {
  if (!IsValidLbs(logical_block_size))
    return Status::Error(EINVAL, "memory device: logical block size must be a power of two >= 512");
  if (size_bytes == 0 || size_bytes % logical_block_size != 0)
    return Status::Error(EINVAL, "memory device: size must be a positive multiple of the logical block size");
  return std::unique_ptr<MemoryDevice>(
      new MemoryDevice(std::vector<uint8_t>(size_bytes), logical_block_size));
}

Result<std::unique_ptr<MemoryDevice>> MemoryDevice::FromImage(std::vector<uint8_t> image,
                                                              uint32_t logical_block_size) {
  if (!IsValidLbs(logical_block_size))
    return Status::Error(EINVAL, "memory device: logical block size must be a power of two >= 512");
  if (image.empty() || image.size() % logical_block_size != 0)
    return Status::Error(EINVAL, "memory device: image size must be a positive multiple of the logical block size");
  return std::unique_ptr<MemoryDevice>(new MemoryDevice(std::move(image), logical_block_size));
}

MemoryDevice::MemoryDevice(std::vector<uint8_t> image, uint32_t lbs)
    : size_(image.size()), lbs_(lbs), bytes_(std::move(image)) {}

Status MemoryDevice::Submit(std::span<IoRequest> batch) {
  Status first;
  // Executing in batch order satisfies the barrier rule for kFlush trivially.
  std::lock_guard<std::mutex> lock(mu_);
  for (IoRequest& req : batch) {
    req.status = ValidateRequest(req);
    if (req.status.ok()) {
      uint64_t off = req.offset;
      switch (req.op) {
        case IoOp::kRead:
          for (const iovec& v : req.iov) {
            std::memcpy(v.iov_base, bytes_.data() + off, v.iov_len);
            off += v.iov_len;
          }
          break;
        case IoOp::kWrite:
          for (const iovec& v : req.iov) {
            std::memcpy(bytes_.data() + off, v.iov_base, v.iov_len);
            off += v.iov_len;
          }
          break;
        case IoOp::kDiscard:
          std::memset(bytes_.data() + off, 0, req.length);
          break;
        case IoOp::kFlush:
          break;
      }
    }
    if (!req.status.ok() && first.ok()) first = req.status;
  }
  return first;
}

std::vector<uint8_t> MemoryDevice::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

void MemoryDevice::Poke(uint64_t offset, const void* data, size_t len) {
  std::lock_guard<std::mutex> lock(mu_);
  std::memcpy(bytes_.data() + offset, data, len);
}

void MemoryDevice::Peek(uint64_t offset, void* out, size_t len) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::memcpy(out, bytes_.data() + offset, len);
}

}  // namespace foliofs
