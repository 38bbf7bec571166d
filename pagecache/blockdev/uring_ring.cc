#include "pagecache/blockdev/uring_ring.h"

#include <limits.h>
#include <time.h>

#include <algorithm>
#include <cstring>

namespace foliofs::blockdev_internal {
namespace {

constexpr unsigned kFixedFileIndex = 0;
// One SQE moves at most this much; the rest follows as a short-transfer resubmit.
constexpr uint64_t kMaxTransfer = 1u << 30;

int ReadOrWriteFlags(const IoRequest& req) {
  return req.op == IoOp::kWrite && req.fua ? RWF_DSYNC : 0;
}

}  // namespace

Ring::Ring(const DeviceFile& file, const std::string& device, unsigned depth, uint32_t short_io)
    : file_(file), device_(device), depth_(depth), short_io_(short_io), slots_(depth) {
  free_.reserve(depth);
  for (unsigned i = depth; i > 0; --i) free_.push_back(i - 1);
}

Result<std::unique_ptr<Ring>> Ring::Create(const DeviceFile& file, const std::string& device,
                                           unsigned depth, uint32_t test_short_io_bytes) {
  std::unique_ptr<Ring> r(new Ring(file, device, depth, test_short_io_bytes));
  // SUBMIT_ALL: one bad SQE does not stop the rest of the submission.
  // COOP_TASKRUN: completions run when we enter the kernel anyway; no IPIs.
  int rc =
      io_uring_queue_init(depth, &r->ring_, IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN);
  if (rc == -EINVAL) rc = io_uring_queue_init(depth, &r->ring_, 0);  // older kernels
  if (rc < 0)
    return Status::Error(-rc, device + ": io_uring_queue_init failed: " + std::strerror(-rc));
  r->initialized_ = true;
  int fd = file.fd();
  r->fixed_file_ = io_uring_register_files(&r->ring_, &fd, 1) == 0;
  return r;
}

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

std::string Ring::MissingOpcodes() {
  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  if (probe == nullptr) return "(probe failed)";
  std::string missing;
  const std::pair<int, const char*> needed[] = {{IORING_OP_READ, "READ"},
                                                {IORING_OP_WRITE, "WRITE"},
                                                {IORING_OP_READV, "READV"},
                                                {IORING_OP_WRITEV, "WRITEV"},
                                                {IORING_OP_FSYNC, "FSYNC"}};
  for (const auto& [op, label] : needed) {
    if (!io_uring_opcode_supported(probe, op))
      missing += std::string(missing.empty() ? "" : " ") + label;
  }
  io_uring_free_probe(probe);
  return missing;
}

bool Ring::Run(std::span<IoRequest> batch) {
  // A kFlush is a barrier: the requests before it are a segment that is run to
  // completion (short transfers included) before the flush is issued, alone.
  size_t begin = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].op != IoOp::kFlush) continue;
    RunSegment(batch, begin, i);
    RunSegment(batch, i, i + 1);
    begin = i + 1;
  }
  RunSegment(batch, begin, batch.size());
  return broken_.ok();
}

void Ring::RunSegment(std::span<IoRequest> batch, size_t begin, size_t end) {
  size_t next = begin;
  // Sliding window: keep up to depth_ requests in flight, refilling as
  // completions arrive, until the segment is done and every CQE is reaped.
  while (next < end || inflight_ > 0) {
    while (next < end && inflight_ < depth_) Start(batch[next++]);
    if (inflight_ == 0) continue;
    SubmitAndWait();
    Reap();
  }
}

void Ring::Start(IoRequest& req) {
  if (!req.status.ok()) return;  // refused by validation
  if (!broken_.ok()) {
    req.status = broken_;
    return;
  }
  if (req.op == IoOp::kDiscard) {
    // Rare and ordered freely within a segment: done synchronously here.
    req.status = DiscardRange(file_, device_, req.offset, req.length);
    return;
  }
  unsigned idx = free_.back();
  free_.pop_back();
  Slot& s = slots_[idx];
  s.req = &req;
  s.total = req.op == IoOp::kFlush ? 0 : req.iov_bytes();
  s.done = 0;
  ++inflight_;
  Issue(idx);
}

void Ring::Issue(unsigned idx) {
  Slot& s = slots_[idx];
  io_uring_sqe* sqe = GetSqe();
  if (s.req->op == IoOp::kFlush) {
    io_uring_prep_fsync(sqe, fixed_file_ ? kFixedFileIndex : file_.fd(), IORING_FSYNC_DATASYNC);
    sqe->flags |= IOSQE_IO_DRAIN;  // belt and braces: the flush is alone in its segment
  } else {
    IssueTransfer(sqe, s);
  }
  if (fixed_file_) sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, idx);
}

void Ring::IssueTransfer(io_uring_sqe* sqe, Slot& s) {
  const IoRequest& req = *s.req;
  const int fd = fixed_file_ ? static_cast<int>(kFixedFileIndex) : file_.fd();
  const uint64_t off = req.offset + s.done;
  const iovec* iov = req.iov.data();
  size_t n = req.iov.size();
  // The common case: the caller's iovecs as they are, no copy.
  if (s.done > 0 || short_io_ > 0 || n > IOV_MAX) {
    s.rest.resize(n);
    n = std::min<size_t>(AdvanceIov(req.iov, s.done, short_io_, s.rest.data()), IOV_MAX);
    iov = s.rest.data();
  }
  const auto len0 = static_cast<unsigned>(std::min<uint64_t>(iov[0].iov_len, kMaxTransfer));
  if (n == 1 && req.op == IoOp::kRead) {
    io_uring_prep_read(sqe, fd, iov[0].iov_base, len0, off);
  } else if (n == 1) {
    io_uring_prep_write(sqe, fd, iov[0].iov_base, len0, off);
  } else if (req.op == IoOp::kRead) {
    io_uring_prep_readv(sqe, fd, iov, static_cast<unsigned>(n), off);
  } else {
    io_uring_prep_writev(sqe, fd, iov, static_cast<unsigned>(n), off);
  }
  sqe->rw_flags = ReadOrWriteFlags(req);
}

io_uring_sqe* Ring::GetSqe() {
  // At most depth_ slots are in use, so the SQ (depth_ entries) has room once
  // earlier SQEs were handed to the kernel.
  io_uring_sqe* sqe;
  while ((sqe = io_uring_get_sqe(&ring_)) == nullptr) io_uring_submit(&ring_);
  return sqe;
}

void Ring::SubmitAndWait() {
  for (;;) {
    int rc = io_uring_submit_and_wait(&ring_, 1);
    if (rc >= 0 || rc == -EINTR) return;  // EINTR: Reap, then we come back
    if (rc == -EAGAIN || rc == -EBUSY) {
      // Kernel out of resources or CQ backlog: reap what is there, retry soon.
      if (io_uring_cq_ready(&ring_) > 0) return;
      timespec ts{0, 100000};
      nanosleep(&ts, nullptr);
      continue;
    }
    Break(-rc, "io_uring_submit failed");
    return;
  }
}

void Ring::Reap() {
  io_uring_cqe* cqe;
  unsigned head, count = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    Complete(static_cast<unsigned>(io_uring_cqe_get_data64(cqe)), cqe->res);
    ++count;
  }
  io_uring_cq_advance(&ring_, count);
}

void Ring::Complete(unsigned idx, int res) {
  Slot& s = slots_[idx];
  const IoRequest& req = *s.req;
  if ((res == -EAGAIN || res == -EINTR) && broken_.ok()) return Issue(idx);
  if (res < 0) return Finish(idx, IoError(device_, req.op, req.offset + s.done, -res));
  if (req.op == IoOp::kFlush) return Finish(idx, Status::Ok());
  // Zero bytes with bytes left: the file shrank beneath us; retrying cannot help.
  if (res == 0) return Finish(idx, IoError(device_, req.op, req.offset + s.done, EIO));
  s.done += static_cast<uint64_t>(res);
  if (s.done >= s.total) return Finish(idx, Status::Ok());
  if (!broken_.ok()) return Finish(idx, broken_);
  Issue(idx);  // short transfer: resubmit the remainder
}

void Ring::Finish(unsigned idx, Status status) {
  Slot& s = slots_[idx];
  s.req->status = std::move(status);
  s.req = nullptr;
  free_.push_back(idx);
  --inflight_;
}

void Ring::Break(int err, const char* what) {
  broken_ = Status::Error(err, device_ + ": " + what + ": " + std::strerror(err));
  // The kernel holds the SQEs it consumed; wait for exactly those completions
  // (so no buffer is touched after we return), then fail the slots whose SQEs
  // never left the SQ. The caller destroys the ring.
  unsigned unsent = io_uring_sq_ready(&ring_);
  unsigned in_kernel = inflight_ > unsent ? inflight_ - unsent : 0;
  while (in_kernel > 0) {
    io_uring_cqe* cqe;
    int rc = io_uring_wait_cqe(&ring_, &cqe);
    if (rc == -EINTR) continue;
    if (rc < 0) break;
    Complete(static_cast<unsigned>(io_uring_cqe_get_data64(cqe)), cqe->res);
    io_uring_cqe_seen(&ring_, cqe);
    --in_kernel;
  }
  for (unsigned i = 0; i < slots_.size(); ++i) {
    if (slots_[i].req != nullptr) Finish(i, broken_);
  }
}

}  // namespace foliofs::blockdev_internal
