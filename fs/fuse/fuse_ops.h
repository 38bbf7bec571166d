// FuseFs: the thin adapter between libfuse's low-level API (3.14,
// FUSE_USE_VERSION 314) and fs::Filesystem. Each handler parses the request,
// makes one fs:: call (readdirplus: one per entry) and ends in exactly one
// reply; errors become fuse_reply_err(errno).
//
// What it promises:
//  - Exceptions never cross the FUSE boundary: every handler runs inside a
//    catch-all that logs and replies EIO (forget replies none).
//  - Inode numbers: FUSE's root is node id 1 (FUSE_ROOT_ID); foliofs's root is
//    Filesystem::root_ino() (2). Node id 1 maps to the root and the root to 1;
//    every other number is the same on both sides (foliofs inode 1 is reserved
//    and never seen). st_ino / d_ino report foliofs's own numbers.
//  - Lookup counts as libfuse requires: every entry reply (lookup, mknod,
//    mkdir, symlink, link, create, each readdirplus entry except "." and "..")
//    carries one Filesystem reference; if the kernel drops the reply
//    (interrupted request) the reference (and create's open) is given back.
//  - Kernel cache: entries (positive and negative) are valid for
//    kEntryTimeoutSeconds, attributes for kCacheTimeoutSeconds (fuse_ops.cc
//    says why they differ). Files open with keep_cache. Where the daemon
//    changes file data behind the kernel's page cache (setattr size,
//    fallocate) it queues fuse_lowlevel_notify_inval_inode for the range on
//    the InvalNotifier thread, which runs it after the reply (see
//    inval_notifier.h for why).
//  - Destroy (FUSE_DESTROY, or the session ending without one) runs
//    Filesystem::Unmount (UnmountOnce); for fuseblk mounts umount(2) waits for that reply,
//    so when umount returns the device holds everything.
//
// Thread safety: the handlers run concurrently on the session's worker
// threads; the object is immutable after Attach() except the unmount state
// (guarded by mu_) and what Filesystem and InvalNotifier guard themselves.
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314  // libfuse 3.14: nothing newer
#endif
#include <fuse3/fuse_lowlevel.h>

#include <memory>
#include <mutex>

#include "fs/filesystem.h"
#include "fs/fuse/inval_notifier.h"
#include "pagecache/base/status.h"

namespace foliofs::fuse {

// Seconds the kernel may trust attributes we replied with.
inline constexpr double kCacheTimeoutSeconds = 1.0;
// Seconds the kernel may trust a name -> inode entry (or a negative entry).
inline constexpr double kEntryTimeoutSeconds = 3600.0;

struct FuseConfig {
  bool writeback_cache = true;  // ask for FUSE_CAP_WRITEBACK_CACHE in init
};

class FuseFs {
 public:
  explicit FuseFs(const FuseConfig& config) : config_(config) {}
  FuseFs(const FuseFs&) = delete;
  FuseFs& operator=(const FuseFs&) = delete;

  // The operation table; the session's userdata must be a FuseFs*.
  static const fuse_lowlevel_ops& Operations();

  // Called once, after Filesystem::Mount and before fuse_session_mount (no
  // request can arrive earlier). `fs` and `notifier` outlive the session.
  void Attach(fs::Filesystem* fs, InvalNotifier* notifier) {
    fs_ = fs;
    notifier_ = notifier;
  }

  // Filesystem::Unmount, once: the destroy handler and the daemon's teardown
  // both call it; later calls return the first call's status.
  Status UnmountOnce();

  // ---- used by the handlers (fuse_ops*.cc) ----
  fs::Filesystem& fs() { return *fs_; }
  const FuseConfig& config() const { return config_; }
  uint64_t ToFs(fuse_ino_t ino) const { return ino == FUSE_ROOT_ID ? fs_->root_ino() : ino; }
  fuse_ino_t ToFuse(uint64_t ino) const { return ino == fs_->root_ino() ? FUSE_ROOT_ID : ino; }
  // Queues a page-cache invalidation of [off, off+len) (len 0: to the end).
  void InvalidateData(uint64_t fs_ino, off_t off, off_t len);
  // Drops the kernel's cached attributes of the inode before the caller
  // replies (so the next stat sees a change the kernel cannot infer, such as
  // st_blocks after an xattr spilled into its own block).
  void InvalidateAttrsNow(uint64_t fs_ino);

 private:
  const FuseConfig config_;
  fs::Filesystem* fs_ = nullptr;
  InvalNotifier* notifier_ = nullptr;
  std::mutex mu_;                 // held across the one Unmount
  bool unmounted_ = false;        // guarded by mu_
  Status unmount_status_;         // guarded by mu_
};

}  // namespace foliofs::fuse
