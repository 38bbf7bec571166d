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
  unsigned queue_depth = 64;   // entries per ring; a batch larger than this is issued in parts
  bool read_only = false;      // open O_RDONLY; writes then fail with EROFS
  bool direct = true;          // try O_DIRECT; falls back to buffered I/O (with a log line)
                               // where the file system beneath refuses it
  bool exclusive = false;      // block devices: O_EXCL (fails with EBUSY if mounted/in use)
  bool allow_sync_fallback = true;  // use pread/pwrite if io_uring cannot be set up
  bool force_sync = false;     // tests and benchmarks: use the pread/pwrite path
};

// Opens `path` (a block device or a regular file). Errors: ENOENT, EACCES,
// EROFS, EBUSY, EINVAL (not a block device or regular file, or empty), each
// with a message naming the path.
Result<std::unique_ptr<BlockDevice>> OpenDevice(const std::string& path,
                                                const DeviceOptions& options = {});

}  // namespace foliofs
