// The io_uring block device (liburing 2.3).
//
// Opening. OpenDevice stats the path (block device or regular file, else
// EINVAL), opens it O_DIRECT (reopening buffered, with one info line, if the
// file system refuses O_DIRECT), O_EXCL for exclusive block devices (EBUSY when
// mounted), and sizes it: BLKGETSIZE64/BLKSSZGET for block devices, statx size
// and STATX_DIOALIGN (never below 512) for files. See device_file.cc.
//
// Ring lifecycle. The device owns a pool of rings (free list under pool_mu_).
// Submit takes a ring from the pool, or creates one if none is free, uses it
// for exactly one batch, and gives it back; so any number of threads submit at
// once, each on its own ring, and no lock is held while I/O is in flight.
// Rings live until the device is destroyed (the pool only grows to the peak
// number of concurrent submitters). The device's fd is registered as fixed
// file 0 in each ring. The first ring is made at open time and probed for the
// opcodes we need; if io_uring_queue_init fails (ENOSYS under seccomp, EPERM
// from io_uring_disabled, ...) or an opcode is missing, OpenDevice logs one
// warning and returns the synchronous device instead (allow_sync_fallback).
// If a ring cannot be created later (ENOMEM), that one batch runs through the
// synchronous path, with one warning per device.
//
// Batches (uring_ring.cc). A batch is cut at its kFlush requests into
// segments; a segment runs as a sliding window of up to queue_depth SQEs (one
// io_uring_submit_and_wait per refill), and the next segment starts only once
// every CQE of the previous one has been reaped. The flush (IORING_OP_FSYNC,
// DATASYNC, with IOSQE_IO_DRAIN) is a segment of its own, which makes it the
// barrier block_device.h promises even when an earlier write needed
// resubmitting. FUA writes carry RWF_DSYNC. Discards are done synchronously
// on the submitting thread (BLKDISCARD or a punched hole): rare, unordered
// within a segment, and EOPNOTSUPP is reported rather than hidden.
//
// Errors and partial I/O. A CQE with -EAGAIN or -EINTR is resubmitted as is.
// A short read or write is resubmitted for the remainder (offset advanced, the
// iovecs advanced into per-slot scratch that is reused across batches); a
// zero-byte transfer with bytes left is EIO (the file shrank). Any other
// negative result becomes that request's status, naming device, op and
// offset. A fatal io_uring_submit error waits for the completions the kernel
// holds, fails the rest of the batch, and the ring is destroyed, not pooled.
// Every completion is reaped before a ring returns to the pool.
//
// Thread safety. BlockDevice contract: Submit from any number of threads.
// A ring is touched by one thread at a time; the pool is under pool_mu_ (a
// leaf lock, never held across I/O or while taking another lock).
#include "pagecache/blockdev/uring_device.h"

#include <atomic>
#include <mutex>
#include <vector>

#include "pagecache/base/log.h"
#include "pagecache/blockdev/device_file.h"
#include "pagecache/blockdev/uring_ring.h"

namespace foliofs {
namespace {

using blockdev_internal::DeviceFile;
using blockdev_internal::Ring;

constexpr unsigned kMaxQueueDepth = 4096;

class UringDevice final : public BlockDevice {
 public:
  UringDevice(std::unique_ptr<DeviceFile> file, const DeviceOptions& options,
              std::unique_ptr<Ring> first_ring, std::string name)
      : file_(std::move(file)), options_(options), name_(std::move(name)) {
    pool_.push_back(std::move(first_ring));
  }

  uint64_t size_bytes() const override { return file_->size(); }
  uint32_t logical_block_size() const override { return file_->lbs(); }
  std::string name() const override { return name_; }

  Status Submit(std::span<IoRequest> batch) override {
    if (batch.empty()) return Status::Ok();
    for (IoRequest& req : batch) {
      req.status = ValidateRequest(req);
      if (req.status.ok()) req.status = blockdev_internal::CheckWritable(*file_, name_, req);
    }
    std::unique_ptr<Ring> ring = AcquireRing();
    if (ring == nullptr) {
      SubmitSync(batch);
    } else if (ring->Run(batch)) {
      ReleaseRing(std::move(ring));
    }
    for (const IoRequest& req : batch) {
      if (!req.status.ok()) return req.status;
    }
    return Status::Ok();
  }

 private:
  std::unique_ptr<Ring> AcquireRing() {
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!pool_.empty()) {
        std::unique_ptr<Ring> ring = std::move(pool_.back());
        pool_.pop_back();
        return ring;
      }
    }
    auto ring = Ring::Create(*file_, name_, options_.queue_depth, options_.test_short_io_bytes);
    if (ring.ok()) return std::move(ring).value();
    if (!warned_.exchange(true)) {
      GetLogger("blockdev")
          ->warn("{}; running batches synchronously until a ring is free", ring.status().message());
    }
    return nullptr;
  }

  void ReleaseRing(std::unique_ptr<Ring> ring) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    pool_.push_back(std::move(ring));
  }

  // In batch order, so every kFlush is a barrier.
  void SubmitSync(std::span<IoRequest> batch) {
    for (IoRequest& req : batch) {
      if (req.status.ok())
        req.status =
            blockdev_internal::SyncExecute(*file_, name_, req, options_.test_short_io_bytes);
    }
  }

  const std::unique_ptr<DeviceFile> file_;  // outlives the rings (declared first)
  const DeviceOptions options_;
  const std::string name_;
  std::atomic<bool> warned_{false};
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Ring>> pool_;  // GUARDED_BY(pool_mu_); idle rings
};

Status CheckOptions(const std::string& path, const DeviceOptions& options) {
  if (options.queue_depth == 0 || options.queue_depth > kMaxQueueDepth)
    return Status::Error(
        EINVAL, path + ": queue_depth must be in [1, " + std::to_string(kMaxQueueDepth) + "]");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<BlockDevice>> OpenDevice(const std::string& path,
                                                const DeviceOptions& options) {
  RETURN_IF_ERROR(CheckOptions(path, options));
  ASSIGN_OR_RETURN(std::unique_ptr<DeviceFile> file,
                   blockdev_internal::OpenDeviceFile(path, options));
  if (options.test_short_io_bytes % file->lbs() != 0)
    return Status::Error(EINVAL,
                         path + ": test_short_io_bytes must be a multiple of the block size");
  if (options.force_sync) return blockdev_internal::MakeSyncDevice(std::move(file), options);

  std::string name = "io_uring:" + path;
  auto ring = Ring::Create(*file, name, options.queue_depth, options.test_short_io_bytes);
  std::string why;
  if (!ring.ok()) {
    why = ring.status().message();
  } else if (std::string missing = (*ring)->MissingOpcodes(); !missing.empty()) {
    why = name + ": io_uring lacks opcodes " + missing;
  } else {
    return std::unique_ptr<BlockDevice>(
        new UringDevice(std::move(file), options, std::move(ring).value(), std::move(name)));
  }
  if (!options.allow_sync_fallback) return Status::Error(ENOTSUP, why);
  GetLogger("blockdev")->warn("{}; falling back to synchronous pread/pwrite I/O", why);
  return blockdev_internal::MakeSyncDevice(std::move(file), options);
}

}  // namespace foliofs
