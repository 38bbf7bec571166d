// Internal to pagecache/blockdev: the opened file or block device beneath the
// io_uring and sync devices, and the helpers both share (discard, error text,
// read-only checks). Not part of the layer's public API; include
// uring_device.h instead.
//
// Thread safety: a DeviceFile is immutable after OpenDeviceFile returns; its
// fd may be used from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pagecache/blockdev/block_device.h"
#include "pagecache/blockdev/uring_device.h"

namespace foliofs::blockdev_internal {

class DeviceFile {
 public:
  ~DeviceFile();
  DeviceFile(const DeviceFile&) = delete;
  DeviceFile& operator=(const DeviceFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Capacity, rounded down to a multiple of lbs().
  uint64_t size() const { return size_; }
  uint32_t lbs() const { return lbs_; }
  bool is_block_device() const { return is_block_; }
  bool read_only() const { return read_only_; }
  bool direct() const { return direct_; }

 private:
  friend Result<std::unique_ptr<DeviceFile>> OpenDeviceFile(const std::string&,
                                                            const DeviceOptions&);
  DeviceFile() = default;
  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
  uint32_t lbs_ = 512;
  bool is_block_ = false;
  bool read_only_ = false;
  bool direct_ = false;
};

// Opens and sizes `path` as DeviceOptions describe (O_DIRECT with a buffered
// fallback, O_EXCL for block devices, read-only). Errors name the path.
Result<std::unique_ptr<DeviceFile>> OpenDeviceFile(const std::string& path,
                                                   const DeviceOptions& options);

// "read", "write", "flush", "discard".
const char* OpName(IoOp op);

// An error status "<device>: <op> at offset <off>: <strerror>".
Status IoError(const std::string& device, IoOp op, uint64_t offset, int err);

// EROFS for a write or discard on a read-only file, OK otherwise.
Status CheckWritable(const DeviceFile& file, const std::string& device, const IoRequest& req);

// Discards [offset, offset + len): BLKDISCARD on a block device, a punched hole
// (contents read back as zeroes) on a regular file. EOPNOTSUPP is reported.
Status DiscardRange(const DeviceFile& file, const std::string& device, uint64_t offset,
                    uint64_t len);

// Copies the part of `iov` that starts `skip` bytes in into `out` (at most
// `max_bytes` bytes when max_bytes > 0). Returns the number of iovecs written;
// `out` must have room for iov.size() entries.
size_t AdvanceIov(std::span<const iovec> iov, uint64_t skip, uint64_t max_bytes, iovec* out);

// Executes one validated request synchronously (preadv2/pwritev2 with the
// short-transfer and EINTR/EAGAIN retry loop, fdatasync, discard). Used by the
// sync device and by the io_uring device when it cannot get a ring.
Status SyncExecute(const DeviceFile& file, const std::string& device, const IoRequest& req,
                   uint32_t test_short_io_bytes);

// Factory for the synchronous (preadv/pwritev) device; see sync_device.cc.
std::unique_ptr<BlockDevice> MakeSyncDevice(std::unique_ptr<DeviceFile> file,
                                            const DeviceOptions& options);

}  // namespace foliofs::blockdev_internal
