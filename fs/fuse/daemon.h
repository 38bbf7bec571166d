// RunDaemon: the life of one `foliofs DEVICE MOUNTPOINT` process.
//
//   1. fuse_session_new with the mount options (rejects bad options before
//      the device is touched).
//   2. Without -f: fork (Detacher) — before any thread exists.
//   3. Refuse a DEVICE in use (O_EXCL probe of a block device; flock of an
//      image file, held for life), open it (io_uring, not O_EXCL: a fuseblk
//      mount claims the block device in the kernel itself), Filesystem::Mount.
//   4. fuse_session_mount: "fuseblk" when DEVICE is a block device and we are
//      root, else a plain "fuse" mount. Then the waiting parent exits 0.
//   5. fuse_session_loop_mt (clone_fd) until the kernel ends the session
//      (umount) or a signal ends the loop (signal_unmount.h).
//   6. Filesystem::Unmount (normally already done by the destroy handler),
//      fuse_session_unmount, stop the helper threads, exit 0 — or 1 if the
//      unmount failed.
//
// Durability at unmount: with fuseblk the kernel sends FUSE_DESTROY
// synchronously during umount(2) and waits for the reply; the destroy
// handler runs Filesystem::Unmount first, so when umount returns the device
// holds everything. A plain fuse mount (image file) gets no DESTROY from the
// kernel: umount returns at once and the daemon unmounts after its loop ends
// — wait for the daemon process to exit before using the image.
//
// Errors (a device that cannot be opened or mounted, a mount point that
// cannot be mounted on) print one line naming the device or mount point on
// stderr and give exit status 1.
#pragma once

#include "fs/fuse/fuse_options.h"

namespace foliofs::fuse {

// Returns the process exit status.
int RunDaemon(const DaemonOptions& options);

}  // namespace foliofs::fuse
