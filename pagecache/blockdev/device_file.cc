#include "pagecache/blockdev/device_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/stat.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "pagecache/base/log.h"

namespace foliofs::blockdev_internal {
namespace {

constexpr uint32_t kMinBlockSize = 512;

Status OpenError(const std::string& path, int err, const char* what) {
  std::string msg = path + ": " + what;
  if (err == EBUSY) msg += " (device is in use: mounted, or opened exclusively elsewhere)";
  return Status::Error(err, msg);
}

// The file type of `path` without opening it (ENOENT/EACCES named clearly).
Result<mode_t> FileType(const std::string& path) {
  struct statx sx {};
  if (syscall(SYS_statx, AT_FDCWD, path.c_str(), 0, STATX_TYPE, &sx) != 0)
    return OpenError(path, errno, "cannot stat");
  mode_t type = sx.stx_mode & S_IFMT;
  if (type != S_IFBLK && type != S_IFREG)
    return Status::Error(EINVAL, path + ": not a regular file or block device");
  return type;
}

// Opens with O_DIRECT when asked; if the file system refuses it (EINVAL),
// reopens buffered and says so once at info level.
Result<int> OpenFd(const std::string& path, const DeviceOptions& opt, bool is_block, bool* direct) {
  int flags = (opt.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (opt.exclusive && is_block) flags |= O_EXCL;
  *direct = opt.direct;
  int fd = open(path.c_str(), flags | (opt.direct ? O_DIRECT : 0));
  if (fd < 0 && errno == EINVAL && opt.direct) {
    GetLogger("blockdev")->info("{}: O_DIRECT refused; using buffered I/O", path);
    *direct = false;
    fd = open(path.c_str(), flags);
  }
  if (fd < 0) return OpenError(path, errno, "cannot open");
  return fd;
}

// Direct-I/O alignment of a regular file from statx(STATX_DIOALIGN) where the
// kernel and file system report it; never less than 512.
uint32_t FileAlignment(int fd, bool direct) {
  if (!direct) return kMinBlockSize;
  struct statx sx {};
  uint32_t align = kMinBlockSize;
  if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
      (sx.stx_mask & STATX_DIOALIGN)) {
    align = std::max({align, sx.stx_dio_mem_align, sx.stx_dio_offset_align});
  }
  return align;
}

Status SizeFile(int fd, bool is_block, bool direct, uint64_t* size, uint32_t* lbs,
                const std::string& path) {
  if (is_block) {
    int sector = 0;
    if (ioctl(fd, BLKGETSIZE64, size) != 0 || ioctl(fd, BLKSSZGET, &sector) != 0)
      return OpenError(path, errno, "cannot read block device geometry");
    *lbs = std::max<uint32_t>(kMinBlockSize, static_cast<uint32_t>(sector));
  } else {
    struct statx sx {};
    if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx) != 0)
      return OpenError(path, errno, "cannot stat");
    *size = sx.stx_size;
    *lbs = FileAlignment(fd, direct);
  }
  *size -= *size % *lbs;
  if (*size == 0)
    return Status::Error(EINVAL, path + ": device is empty (smaller than one " +
                                     std::to_string(*lbs) + "-byte block)");
  return Status::Ok();
}

}  // namespace

DeviceFile::~DeviceFile() {
  if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<DeviceFile>> OpenDeviceFile(const std::string& path,
                                                   const DeviceOptions& options) {
  ASSIGN_OR_RETURN(mode_t type, FileType(path));
  std::unique_ptr<DeviceFile> file(new DeviceFile());
  file->path_ = path;
  file->is_block_ = type == S_IFBLK;
  file->read_only_ = options.read_only;
  ASSIGN_OR_RETURN(file->fd_, OpenFd(path, options, file->is_block_, &file->direct_));
  RETURN_IF_ERROR(
      SizeFile(file->fd_, file->is_block_, file->direct_, &file->size_, &file->lbs_, path));
  return file;
}

const char* OpName(IoOp op) {
  switch (op) {
    case IoOp::kRead:
      return "read";
    case IoOp::kWrite:
      return "write";
    case IoOp::kFlush:
      return "flush";
    case IoOp::kDiscard:
      return "discard";
  }
  return "?";
}

Status IoError(const std::string& device, IoOp op, uint64_t offset, int err) {
  return Status::Error(err, device + ": " + OpName(op) + " at offset " + std::to_string(offset) +
                                ": " + std::strerror(err));
}

Status CheckWritable(const DeviceFile& file, const std::string& device, const IoRequest& req) {
  if (!file.read_only() || (req.op != IoOp::kWrite && req.op != IoOp::kDiscard))
    return Status::Ok();
  return Status::Error(EROFS, device + ": " + OpName(req.op) + " at offset " +
                                  std::to_string(req.offset) + ": device was opened read-only");
}

Status DiscardRange(const DeviceFile& file, const std::string& device, uint64_t offset,
                    uint64_t len) {
  int rc;
  if (file.is_block_device()) {
    uint64_t range[2] = {offset, len};
    rc = ioctl(file.fd(), BLKDISCARD, range);
  } else {
    do {
      rc = fallocate(file.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                     static_cast<off_t>(offset), static_cast<off_t>(len));
    } while (rc != 0 && errno == EINTR);
  }
  if (rc != 0) return IoError(device, IoOp::kDiscard, offset, errno);
  return Status::Ok();
}

size_t AdvanceIov(std::span<const iovec> iov, uint64_t skip, uint64_t max_bytes, iovec* out) {
  size_t n = 0;
  uint64_t budget = max_bytes > 0 ? max_bytes : UINT64_MAX;
  for (const iovec& v : iov) {
    if (budget == 0) break;
    if (skip >= v.iov_len) {
      skip -= v.iov_len;
      continue;
    }
    uint64_t take = std::min<uint64_t>(v.iov_len - skip, budget);
    out[n++] = iovec{static_cast<uint8_t*>(v.iov_base) + skip, take};
    budget -= take;
    skip = 0;
  }
  return n;
}

}  // namespace foliofs::blockdev_internal
