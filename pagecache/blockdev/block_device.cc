#include "pagecache/blockdev/block_device.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace foliofs {

uint64_t IoRequest::iov_bytes() const {
  uint64_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  return total;
}

namespace {

Status SubmitOne(BlockDevice& dev, IoRequest req) {
  IoRequest batch[1] = {std::move(req)};
  return dev.Submit(batch);
}

}  // namespace

Status BlockDevice::Read(uint64_t offset, void* buf, size_t len) {
  iovec v{buf, len};
  IoRequest req;
  req.op = IoOp::kRead;
  req.offset = offset;
  req.iov = std::span<const iovec>(&v, 1);
  return SubmitOne(*this, std::move(req));
}

Status BlockDevice::Write(uint64_t offset, const void* buf, size_t len, bool fua) {
  iovec v{const_cast<void*>(buf), len};
  IoRequest req;
  req.op = IoOp::kWrite;
  req.offset = offset;
  req.iov = std::span<const iovec>(&v, 1);
  req.fua = fua;
  return SubmitOne(*this, std::move(req));
}

Status BlockDevice::Flush() {
  IoRequest req;
  req.op = IoOp::kFlush;
  return SubmitOne(*this, std::move(req));
}

Status BlockDevice::Discard(uint64_t offset, uint64_t len) {
  IoRequest req;
  req.op = IoOp::kDiscard;
  req.offset = offset;
  req.length = len;
  return SubmitOne(*this, std::move(req));
}

Status BlockDevice::ValidateRequest(const IoRequest& req) const {
  const uint64_t lbs = logical_block_size();
  if (req.op == IoOp::kFlush) return Status::Ok();
  const uint64_t len = req.op == IoOp::kDiscard ? req.length : req.iov_bytes();
  if (req.offset % lbs != 0)
    return Status::Error(EINVAL, name() + ": offset " + std::to_string(req.offset) +
                                     " is not a multiple of the logical block size " +
                                     std::to_string(lbs));
  if (len == 0) return Status::Error(EINVAL, name() + ": zero-length request");
  if (len % lbs != 0)
    return Status::Error(EINVAL, name() + ": length " + std::to_string(len) +
                                     " is not a multiple of the logical block size " +
                                     std::to_string(lbs));
  if (req.offset > size_bytes() || len > size_bytes() - req.offset)
    return Status::Error(EINVAL, name() + ": request [" + std::to_string(req.offset) + ", +" +
                                     std::to_string(len) + ") is beyond the device size " +
                                     std::to_string(size_bytes()));
  if (req.op == IoOp::kDiscard) return Status::Ok();
  for (const iovec& v : req.iov) {
    if (reinterpret_cast<uintptr_t>(v.iov_base) % lbs != 0 || v.iov_len % lbs != 0)
      return Status::Error(EINVAL, name() + ": buffer " + std::to_string(reinterpret_cast<uintptr_t>(v.iov_base)) +
                                       " or its length " + std::to_string(v.iov_len) +
                                       " is not aligned to the logical block size " +
                                       std::to_string(lbs));
  }
  return Status::Ok();
}

void AlignedFree::operator()(void* p) const { std::free(p); }

AlignedBuffer AllocateAligned(size_t len, size_t align) {
  size_t rounded = (len + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded == 0 ? align : rounded);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded == 0 ? align : rounded);
  return AlignedBuffer(static_cast<uint8_t*>(p));
}

}  // namespace foliofs
