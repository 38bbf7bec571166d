// IoPlan: device I/O of folio pieces gathered while the folios are locked and
// submitted as ONE batch — one request per device-contiguous range (pieces
// whose device addresses follow each other share a request, an iovec per
// memory-contiguous piece). Used by buffered read and writeback. Not part of
// the contract.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <vector>

#include "pagecache/blockdev/block_device.h"

namespace foliofs::iomap_internal {

class IoPlan {
 public:
  explicit IoPlan(IoOp op) : op_(op) {}

  // Transfers device bytes [addr, addr+len) from/to memory [mem, mem+len).
  // Returns the index of the request that carries it.
  size_t Add(uint8_t* mem, uint64_t len, uint64_t addr);
  bool empty() const { return reqs_.empty(); }
  size_t request_count() const { return reqs_.size(); }
  // Issues every request in one device Submit; the first failure or OK.
  Status Submit(BlockDevice& device);
  // After Submit: the status of request i.
  const Status& status(size_t i) const { return batch_[i].status; }

 private:
  static constexpr size_t kMaxIovecs = 1024;  // IOV_MAX
  struct Req {
    uint64_t addr, len;
    size_t first, count;  // iovecs_[first, first + count)
  };
  const IoOp op_;
  std::vector<iovec> iovecs_;
  std::vector<Req> reqs_;
  std::vector<IoRequest> batch_;
};

}  // namespace foliofs::iomap_internal
