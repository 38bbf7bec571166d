// The operation table, init/destroy and the shared reply helpers.
//
// Why attribute timeouts of 1 s (kCacheTimeoutSeconds): every change to
// attributes arrives through this one kernel mount, so the kernel's attribute
// cache can only go stale when the daemon changes something on its own (space
// accounting after writeback, a size or block count changed by fallocate). A
// short timeout bounds that staleness to a second while still sparing a
// GETATTR round trip per syscall in a burst; the data cache is kept coherent
// separately (keep_cache + explicit invalidation).
//
// Why entry timeouts of an hour (kEntryTimeoutSeconds): names change only
// through requests of this mount (the device is claimed exclusively, and the
// daemon never adds, removes or renames a name on its own: freeing an orphan
// touches no directory), and the kernel updates its dentries for each of
// those requests itself (a create replaces the negative dentry, unlink and
// rename drop or move theirs). So a cached entry is never wrong, and a short
// timeout only costs a revalidating LOOKUP for every name used again more
// than a second after it was looked up (an `rm -r` or the unlink phase of a
// benchmark: one extra round trip per file). Negative entries likewise.
#include "fs/fuse/fuse_ops.h"

#include <cstring>

#include "fs/fuse/fuse_ops_handlers.h"
#include "fs/fuse/fuse_ops_internal.h"

namespace foliofs::fuse {
namespace internal {

void ReplyErr(fuse_req_t req, const char* op, int err) {
  if (err < 0 || err > 4095) {
    Log().error("{}: bad errno {} replaced by EIO", op, err);
    err = EIO;
  }
  if (err == EIO || err == EUCLEAN) Log().error("{}: {}", op, strerror(err));
  fuse_reply_err(req, err);
}

struct stat ToStat(const fs::Attr& a) {
  struct stat st{};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_rdev = a.rdev;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blocks = static_cast<blkcnt_t>(a.blocks);
  st.st_blksize = a.blksize;
  st.st_atim = {a.atime.sec, a.atime.nsec};
  st.st_mtim = {a.mtime.sec, a.mtime.nsec};
  st.st_ctim = {a.ctime.sec, a.ctime.nsec};
  return st;
}

void ReplyEntry(fuse_req_t req, const fs::Attr& attr) {
  FuseFs& self = Self(req);
  fuse_entry_param e{};
  e.ino = self.ToFuse(attr.ino);
  e.generation = attr.generation;
  e.attr = ToStat(attr);
  e.attr_timeout = kCacheTimeoutSeconds;
  e.entry_timeout = kEntryTimeoutSeconds;
  if (fuse_reply_entry(req, &e) != 0) self.fs().Forget(attr.ino, 1);
}

namespace {

void DoInit(void* userdata, fuse_conn_info* conn) {
  auto* self = static_cast<FuseFs*>(userdata);
  try {
    if (self->config().writeback_cache) {
      if (conn->capable & FUSE_CAP_WRITEBACK_CACHE) {
        conn->want |= FUSE_CAP_WRITEBACK_CACHE;
      } else {
        Log().warn("the kernel does not offer the writeback cache; writing through");
      }
    }
    // FLUSH is answered ENOSYS (see DoFlush): after the first close the
    // kernel stops sending it, sparing a round trip per close(2).
    // O_TRUNC arrives as a separate setattr(size=0): one truncate path.
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
    conn->time_gran = 1;  // nanosecond timestamps
    Log().info("FUSE protocol {}.{}, max_write {}, writeback_cache {}", conn->proto_major,
               conn->proto_minor, conn->max_write,
               (conn->want & FUSE_CAP_WRITEBACK_CACHE) ? "on" : "off");
  } catch (...) {
    Log().error("init: unexpected exception");
  }
}

void DoDestroy(void* userdata) {
  try {
    (void)static_cast<FuseFs*>(userdata)->UnmountOnce();
  } catch (...) {
    Log().error("destroy: unexpected exception");
  }
}

fuse_lowlevel_ops MakeOperations() {
  fuse_lowlevel_ops ops{};
  ops.init = DoInit;
  ops.destroy = DoDestroy;
  ops.lookup = DoLookup;
  ops.forget = DoForget;
  ops.forget_multi = DoForgetMulti;
  ops.getattr = DoGetattr;
  ops.setattr = DoSetattr;
  ops.readlink = DoReadlink;
  ops.mknod = DoMknod;
  ops.mkdir = DoMkdir;
  ops.unlink = DoUnlink;
  ops.rmdir = DoRmdir;
  ops.symlink = DoSymlink;
  ops.rename = DoRename;
  ops.link = DoLink;
  ops.access = DoAccess;
  ops.statfs = DoStatfs;
  ops.open = DoOpen;
  ops.create = DoCreate;
  ops.read = DoRead;
  ops.write_buf = DoWriteBuf;
  ops.flush = DoFlush;
  ops.release = DoRelease;
  ops.fsync = DoFsync;
  ops.fallocate = DoFallocate;
  ops.lseek = DoLseek;
  ops.opendir = DoOpendir;
  ops.readdir = DoReaddir;
  ops.readdirplus = DoReaddirplus;
  ops.releasedir = DoReleasedir;
  ops.fsyncdir = DoFsyncdir;
  ops.setxattr = DoSetxattr;
  ops.getxattr = DoGetxattr;
  ops.listxattr = DoListxattr;
  ops.removexattr = DoRemovexattr;
  return ops;
}

}  // namespace
}  // namespace internal

const fuse_lowlevel_ops& FuseFs::Operations() {
  static const fuse_lowlevel_ops ops = internal::MakeOperations();
  return ops;
}

void FuseFs::InvalidateData(uint64_t fs_ino, off_t off, off_t len) {
  if (notifier_ != nullptr) notifier_->Queue(ToFuse(fs_ino), off, len);
}

void FuseFs::InvalidateAttrsNow(uint64_t fs_ino) {
  if (notifier_ != nullptr) notifier_->InvalidateAttrsNow(ToFuse(fs_ino));
}

Status FuseFs::UnmountOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  if (unmounted_ || fs_ == nullptr) return unmount_status_;
  unmounted_ = true;
  unmount_status_ = fs_->Unmount();
  if (unmount_status_.ok()) {
    internal::Log().info("unmounted: everything is on the device");
  } else {
    internal::Log().error("unmount failed: {}", unmount_status_.ToString());
  }
  return unmount_status_;
}

}  // namespace foliofs::fuse
