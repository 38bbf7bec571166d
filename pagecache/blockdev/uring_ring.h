// Internal to pagecache/blockdev: one io_uring and the engine that drives a
// batch of IoRequests through it. The design notes (lifecycle, errors, partial
// I/O, thread safety) are at the top of uring_device.cc.
//
// Thread safety: a Ring is used by one thread at a time (the device's pool
// hands it to one submitter for the duration of one Submit).
#pragma once

#include <liburing.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pagecache/blockdev/device_file.h"

namespace foliofs::blockdev_internal {

class Ring {
 public:
  // A ring of `depth` entries over `file`, whose fd is registered as fixed
  // file 0 where the kernel allows it. `device` names the device in errors.
  static Result<std::unique_ptr<Ring>> Create(const DeviceFile& file, const std::string& device,
                                              unsigned depth, uint32_t test_short_io_bytes);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Missing opcodes the device needs, e.g. "READV FSYNC"; empty when all are there.
  std::string MissingOpcodes();

  // Issues every request of `batch` whose status is OK on entry (invalid
  // requests were marked by the caller and are skipped) and sets each status.
  // Every completion has been reaped when it returns. Returns false if the ring
  // hit a fatal error and must be destroyed rather than reused.
  bool Run(std::span<IoRequest> batch);

 private:
  // Per-SQE state: which request, how far it has got. user_data = slot index.
  struct Slot {
    IoRequest* req = nullptr;  // nullptr when free
    uint64_t total = 0;        // bytes to transfer
    uint64_t done = 0;         // bytes transferred so far
    std::vector<iovec> rest;   // the remainder's iovecs after a short transfer
  };

  Ring(const DeviceFile& file, const std::string& device, unsigned depth, uint32_t short_io);
  void RunSegment(std::span<IoRequest> batch, size_t begin, size_t end);
  void Start(IoRequest& req);
  void Issue(unsigned slot);
  void IssueTransfer(io_uring_sqe* sqe, Slot& s);
  void Complete(unsigned slot, int res);
  void Finish(unsigned slot, Status status);
  io_uring_sqe* GetSqe();
  void SubmitAndWait();
  void Reap();
  void Break(int err, const char* what);

  const DeviceFile& file_;
  const std::string device_;
  const unsigned depth_;
  const uint32_t short_io_;
  io_uring ring_{};
  bool initialized_ = false;
  bool fixed_file_ = false;
  std::vector<Slot> slots_;
  std::vector<unsigned> free_;  // free slot indices
  unsigned inflight_ = 0;       // slots in use (prepared, submitted or being resubmitted)
  Status broken_;               // set by a fatal ring error; then nothing more is issued
};

}  // namespace foliofs::blockdev_internal
