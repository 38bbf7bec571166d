// Opening real storage: the io_uring device (liburing 2.3) over a block device
// or an image file, with a synchronous pread/pwrite fallback when io_uring
// cannot be set up. The design notes (rings, concurrency, O_DIRECT, retries)
// are at the top of uring_device.cc.
//
// Thread safety: the returned device follows the BlockDevice contract (any
// number of concurrent submitters).
#pragma once

#include <memory>
#include <string>

#include "pagecache/blockdev/block_device.h"

namespace foliofs {

struct DeviceOptions {
  unsigned queue_depth = 64;   // entries per ring, 1..4096: at most this many requests of a
                               // batch are in flight; the rest follow as completions arrive
  bool read_only = false;      // open O_RDONLY; writes then fail with EROFS
  bool direct = true;          // try O_DIRECT; falls back to buffered I/O (with a log line)
                               // where the file system beneath refuses it
  bool exclusive = false;      // block devices: O_EXCL (fails with EBUSY if mounted/in use);
                               // ignored for regular files
  bool allow_sync_fallback = true;  // use pread/pwrite if io_uring cannot be set up
  bool force_sync = false;     // tests and benchmarks: use the pread/pwrite path
  // Tests only: when > 0 (a multiple of the logical block size), every read or
  // write is issued at most this many bytes at a time, so completions come back
  // short and the resubmit-the-remainder path runs as it would for a real
  // short transfer. 0 in production.
  uint32_t test_short_io_bytes = 0;
};

// Opens `path` (a block device or a regular file). Errors: ENOENT, EACCES,
// EROFS, EBUSY, EINVAL (not a block device or regular file, or empty, or a bad
// option), ENOTSUP (io_uring unusable and allow_sync_fallback off), each with a
// message naming the path. The device's name() is "io_uring:<path>" or
// "sync:<path>", so logs show which path serves it.
Result<std::unique_ptr<BlockDevice>> OpenDevice(const std::string& path,
                                                const DeviceOptions& options = {});

}  // namespace foliofs
