// fsck.foliofs: is a device mounted? Repair must never run under a mounted
// filesystem (its caches would overwrite what fsck fixes, and fsck would see a
// half-written state).
//
// Thread safety: pure apart from reading /proc and /sys.
#pragma once

#include <string>

namespace foliofs::fsck {

// True when `device` (a block device or an image file) is the source of an
// entry of `mounts_path` (a /proc/self/mounts-format file): the same path after
// resolving symlinks, the same block device number, or a loop device whose
// backing file is `device`. Unreadable files count as "not mounted"; the
// exclusive open (O_EXCL) still guards block devices.
bool IsMounted(const std::string& device, const std::string& mounts_path = "/proc/self/mounts");

}  // namespace foliofs::fsck
