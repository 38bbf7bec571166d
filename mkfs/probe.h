// Safety checks mkfs.foliofs makes before writing: is the target mounted (or,
// for an image file, backing a mounted loop device), read-only, or already
// holding a filesystem signature.
//
// Thread safety: pure functions over /proc and /sys.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "pagecache/base/status.h"

namespace foliofs::mkfs {

// Where the device with number `dev` is mounted, or "" (from /proc/self/mountinfo).
std::string FindMountPoint(dev_t dev);

// EBUSY naming the mount point when `path` (a block device, or an image file
// backing a loop device) is mounted; OK otherwise.
Status CheckNotMounted(const std::string& path);

// EROFS when `path` is a read-only block device (BLKROGET) or an image file we
// may not write.
Status CheckWritable(const std::string& path);

// The filesystem type whose signature `buf` (the first `len` bytes of the
// device, at least 64 KiB + 4 KiB to see btrfs) holds: "foliofs", "ext2",
// "ext3", "ext4", "xfs", "btrfs", "swap", or "" for none.
std::string DetectSignature(const uint8_t* buf, size_t len);

}  // namespace foliofs::mkfs
