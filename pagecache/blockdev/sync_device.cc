// The synchronous fallback device: preadv2/pwritev2, fdatasync and discard on
// the submitting thread, one request at a time in batch order.
//
// It keeps the full BlockDevice contract: executing a batch in order makes
// every kFlush a barrier trivially; short transfers and EINTR/EAGAIN are
// retried for the remainder; FUA writes use RWF_DSYNC. It is what OpenDevice
// returns when io_uring cannot be set up, and what `force_sync` selects so
// tests and benchmarks can compare both paths.
//
// Thread safety: no mutable state besides the kernel's; concurrent Submit
// calls are independent (pread/pwrite carry their own offsets).
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "pagecache/blockdev/device_file.h"

namespace foliofs::blockdev_internal {
namespace {

// One preadv2/pwritev2 call for the part of `req` after `done` bytes.
ssize_t TransferOnce(const DeviceFile& file, const IoRequest& req, uint64_t done, uint32_t cap,
                     std::vector<iovec>& scratch) {
  scratch.resize(req.iov.size());
  size_t n = AdvanceIov(req.iov, done, cap, scratch.data());
  n = std::min<size_t>(n, IOV_MAX);
  off_t off = static_cast<off_t>(req.offset + done);
  if (req.op == IoOp::kRead) return preadv2(file.fd(), scratch.data(), static_cast<int>(n), off, 0);
  return pwritev2(file.fd(), scratch.data(), static_cast<int>(n), off, req.fua ? RWF_DSYNC : 0);
}

Status Transfer(const DeviceFile& file, const std::string& device, const IoRequest& req,
                uint32_t cap) {
  std::vector<iovec> scratch;
  const uint64_t total = req.iov_bytes();
  uint64_t done = 0;
  while (done < total) {
    ssize_t rc = TransferOnce(file, req, done, cap, scratch);
    if (rc < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (rc < 0) return IoError(device, req.op, req.offset + done, errno);
    // Zero bytes with bytes left means the file shrank beneath us.
    if (rc == 0) return IoError(device, req.op, req.offset + done, EIO);
    done += static_cast<uint64_t>(rc);
  }
  return Status::Ok();
}

class SyncDevice final : public BlockDevice {
 public:
  SyncDevice(std::unique_ptr<DeviceFile> file, const DeviceOptions& options)
      : file_(std::move(file)),
        name_("sync:" + file_->path()),
        short_io_(options.test_short_io_bytes) {}

  uint64_t size_bytes() const override { return file_->size(); }
  uint32_t logical_block_size() const override { return file_->lbs(); }
  std::string name() const override { return name_; }

  Status Submit(std::span<IoRequest> batch) override {
    Status first;
    for (IoRequest& req : batch) {
      req.status = ValidateRequest(req);
      if (req.status.ok()) req.status = CheckWritable(*file_, name_, req);
      if (req.status.ok()) req.status = SyncExecute(*file_, name_, req, short_io_);
      if (!req.status.ok() && first.ok()) first = req.status;
    }
    return first;
  }

 private:
  const std::unique_ptr<DeviceFile> file_;
  const std::string name_;
  const uint32_t short_io_;
};

}  // namespace

Status SyncExecute(const DeviceFile& file, const std::string& device, const IoRequest& req,
                   uint32_t test_short_io_bytes) {
  switch (req.op) {
    case IoOp::kRead:
    case IoOp::kWrite:
      return Transfer(file, device, req, test_short_io_bytes);
    case IoOp::kFlush:
      if (fdatasync(file.fd()) != 0) return IoError(device, req.op, 0, errno);
      return Status::Ok();
    case IoOp::kDiscard:
      return DiscardRange(file, device, req.offset, req.length);
  }
  return Status::Error(EINVAL, device + ": unknown op");
}

std::unique_ptr<BlockDevice> MakeSyncDevice(std::unique_ptr<DeviceFile> file,
                                            const DeviceOptions& options) {
  return std::make_unique<SyncDevice>(std::move(file), options);
}

}  // namespace foliofs::blockdev_internal
