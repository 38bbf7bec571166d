#include "fs/iomap/io_plan.h"

namespace foliofs::iomap_internal {

size_t IoPlan::Add(uint8_t* mem, uint64_t len, uint64_t addr) {
  if (!reqs_.empty()) {
    Req& r = reqs_.back();
    iovec& last = iovecs_.back();
    if (r.addr + r.len == addr) {
      if (static_cast<uint8_t*>(last.iov_base) + last.iov_len == mem) {
        last.iov_len += len;  // same folio, next block: one iovec
        r.len += len;
        return reqs_.size() - 1;
      }
      if (r.count < kMaxIovecs) {
        iovecs_.push_back({mem, len});
        r.count++;
        r.len += len;
        return reqs_.size() - 1;
      }
    }
  }
  iovecs_.push_back({mem, len});
  reqs_.push_back({addr, len, iovecs_.size() - 1, 1});
  return reqs_.size() - 1;
}

Status IoPlan::Submit(BlockDevice& device) {
  batch_.assign(reqs_.size(), IoRequest());
  if (reqs_.empty()) return Status::Ok();
  for (size_t i = 0; i < reqs_.size(); i++) {
    batch_[i].op = op_;
    batch_[i].offset = reqs_[i].addr;
    batch_[i].iov = std::span<const iovec>(iovecs_.data() + reqs_[i].first, reqs_[i].count);
  }
  return device.Submit(batch_);
}

}  // namespace foliofs::iomap_internal
