// FaultyDevice: wraps another BlockDevice and injects errors, for tests of
// every error path (journal abort, mkfs on a failing device, EIO propagation).
//
// Faults are rules checked for each request before it is passed down; a
// request that matches a rule fails with the rule's errno and is not issued
// (so a failed write leaves the medium untouched, the simplest honest model).
// Requests of a batch that match no rule are issued normally.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "pagecache/blockdev/block_device.h"

namespace foliofs {

class FaultyDevice final : public BlockDevice {
 public:
  explicit FaultyDevice(std::shared_ptr<BlockDevice> base);

  uint64_t size_bytes() const override;
  uint32_t logical_block_size() const override;
  std::string name() const override;
  Status Submit(std::span<IoRequest> batch) override;

  // Requests of kind `op` that overlap bytes [offset, offset + length) fail with `err`.
  void FailRange(IoOp op, uint64_t offset, uint64_t length, int err = EIO);
  // After `n` more requests have passed (counting every request of every kind),
  // every later request fails with `err`, as if the device died.
  void FailAfter(uint64_t n, int err = EIO);
  // Every kFlush fails with `err` while set.
  void FailFlushes(bool on, int err = EIO);
  // Removes every rule.
  void Heal();

  // Requests seen so far (passed or failed).
  uint64_t request_count() const { return requests_.load(); }
  // Requests failed by a rule so far.
  uint64_t failed_count() const { return failed_.load(); }

 private:
  struct RangeRule {
    IoOp op;
    uint64_t offset, length;
    int err;
  };
  // Returns the errno a rule assigns to `req`, or 0.
  int MatchLocked(const IoRequest& req);

  std::shared_ptr<BlockDevice> base_;
  std::mutex mu_;
  std::vector<RangeRule> ranges_;   // GUARDED_BY(mu_)
  int64_t fail_after_ = -1;         // GUARDED_BY(mu_); -1 = off; counts down
  int fail_after_err_ = EIO;        // GUARDED_BY(mu_)
  int flush_err_ = 0;               // GUARDED_BY(mu_); 0 = off
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace foliofs
