#include "pagecache/blockdev/faulty_device.h"

#include <cstring>

#include "pagecache/blockdev/device_file.h"

namespace foliofs {

FaultyDevice::FaultyDevice(std::shared_ptr<BlockDevice> base) : base_(std::move(base)) {}

uint64_t FaultyDevice::size_bytes() const { return base_->size_bytes(); }
uint32_t FaultyDevice::logical_block_size() const { return base_->logical_block_size(); }
std::string FaultyDevice::name() const { return "faulty(" + base_->name() + ")"; }

void FaultyDevice::FailRange(IoOp op, uint64_t offset, uint64_t length, int err) {
  std::lock_guard<std::mutex> lock(mu_);
  ranges_.push_back(RangeRule{op, offset, length, err});
}

void FaultyDevice::FailAfter(uint64_t n, int err) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_after_ = static_cast<int64_t>(n);
  fail_after_err_ = err;
}

void FaultyDevice::FailFlushes(bool on, int err) {
  std::lock_guard<std::mutex> lock(mu_);
  flush_err_ = on ? err : 0;
}

void FaultyDevice::Heal() {
  std::lock_guard<std::mutex> lock(mu_);
  ranges_.clear();
  fail_after_ = -1;
  flush_err_ = 0;
}

int FaultyDevice::MatchLocked(const IoRequest& req) {
  // FailAfter counts every request, matched by another rule or not.
  if (fail_after_ == 0) return fail_after_err_;
  if (fail_after_ > 0) --fail_after_;
  if (req.op == IoOp::kFlush && flush_err_ != 0) return flush_err_;
  const uint64_t len = req.op == IoOp::kDiscard ? req.length : req.iov_bytes();
  for (const RangeRule& r : ranges_) {
    if (r.op != req.op) continue;
    // A flush has no range: a kFlush rule matches every flush.
    if (req.op == IoOp::kFlush) return r.err;
    if (req.offset < r.offset + r.length && r.offset < req.offset + len) return r.err;
  }
  return 0;
}

Status FaultyDevice::Submit(std::span<IoRequest> batch) {
  // Requests no rule matches go down as one sub-batch in their original order,
  // so flush barriers keep their meaning; matched ones are never issued.
  std::vector<IoRequest> pass;
  std::vector<size_t> pass_index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      IoRequest& req = batch[i];
      requests_.fetch_add(1);
      req.status = ValidateRequest(req);
      if (!req.status.ok()) continue;
      if (int err = MatchLocked(req); err != 0) {
        failed_.fetch_add(1);
        req.status = Status::Error(err, name() + ": injected " + std::strerror(err) + " on " +
                                            blockdev_internal::OpName(req.op) + " at offset " +
                                            std::to_string(req.offset));
        continue;
      }
      pass.push_back(req);
      pass_index.push_back(i);
    }
  }
  if (!pass.empty()) (void)base_->Submit(pass);
  for (size_t j = 0; j < pass.size(); ++j) batch[pass_index[j]].status = pass[j].status;
  for (const IoRequest& req : batch) {
    if (!req.status.ok()) return req.status;
  }
  return Status::Ok();
}

}  // namespace foliofs
