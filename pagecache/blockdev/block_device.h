// BlockDevice: the only I/O seam of foliofs (LevelDB's Env is the model).
//
// Everything that touches storage — mkfs, the journal, the page cache's
// writeback, fsck — goes through this interface, so tests can swap in an
// in-memory device, a write-logging device that produces crash images, or a
// fault-injecting device.
//
// Addressing. Offsets and lengths are in bytes and must be multiples of
// logical_block_size(); so must every buffer address and iovec length (the
// io_uring device uses O_DIRECT). A misaligned or out-of-range request fails
// with EINVAL and a message naming the offending field; nothing is issued.
//
// Batches. Submit() takes a batch of requests, issues them together (the
// io_uring device puts them in one submission) and returns when every request
// of the batch has completed. Each request's `status` is set. The returned
// Status is the first failure in batch order, or OK.
// Requests of one batch may execute in any order and concurrently, except:
//   a kFlush request is a full barrier within its batch: it starts after every
//   earlier request of the batch has completed, and later requests of the batch
//   start after it has completed.
//
// Durability. A completed write is durable once a later kFlush has completed,
// or at its own completion if it was a FUA write (fua = true). Nothing else is
// promised: after a crash any subset of the non-durable writes may have reached
// the medium, and a write may be torn at logical_block_size() granularity.
//
// Errors. A device error is EIO (or the errno the kernel gave). Short transfers
// and EAGAIN/EINTR are retried inside the device and never reach the caller.
//
// Thread safety. Every method may be called concurrently from any number of
// threads; concurrent batches are independent of each other (a flush in one
// batch is not a barrier for another thread's batch, but it does cover every
// write that had completed before the flush was submitted).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pagecache/base/status.h"

namespace foliofs {

enum class IoOp : uint8_t {
  kRead,
  kWrite,
  kFlush,    // durability barrier; offset/iov ignored
  kDiscard,  // the range's contents become unspecified; iov ignored, `length` used
};

struct IoRequest {
  IoOp op = IoOp::kRead;
  uint64_t offset = 0;           // bytes, aligned
  std::span<const iovec> iov;    // kRead/kWrite: buffers, each aligned; total = transfer length
  uint64_t length = 0;           // kDiscard only
  bool fua = false;              // kWrite: durable on completion
  Status status;                 // set by Submit()

  // Total bytes of iov.
  uint64_t iov_bytes() const;
};

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;
  BlockDevice(const BlockDevice&) = delete;
  BlockDevice& operator=(const BlockDevice&) = delete;

  // Capacity in bytes (a multiple of logical_block_size()).
  virtual uint64_t size_bytes() const = 0;
  // Alignment unit for offsets, lengths and buffer addresses: 512 or 4096 typically.
  virtual uint32_t logical_block_size() const = 0;
  // Human-readable description for logs and errors, e.g. "io_uring:/dev/loop3".
  virtual std::string name() const = 0;

  // Issues a batch; see the header comment for ordering and errors.
  virtual Status Submit(std::span<IoRequest> batch) = 0;

  // Conveniences: a batch of one request.
  Status Read(uint64_t offset, void* buf, size_t len);
  Status Write(uint64_t offset, const void* buf, size_t len, bool fua = false);
  Status Flush();
  Status Discard(uint64_t offset, uint64_t len);

 protected:
  BlockDevice() = default;
  // Shared argument check for implementations: alignment, bounds, iov shape.
  // Returns EINVAL with a message naming the bad field.
  Status ValidateRequest(const IoRequest& req) const;
};

// Allocates `len` bytes aligned to `align` (a power of two, >= sizeof(void*)),
// zero-filled; freed with std::free. For O_DIRECT buffers.
struct AlignedFree {
  void operator()(void* p) const;
};
using AlignedBuffer = std::unique_ptr<uint8_t[], AlignedFree>;
AlignedBuffer AllocateAligned(size_t len, size_t align = 4096);

}  // namespace foliofs
