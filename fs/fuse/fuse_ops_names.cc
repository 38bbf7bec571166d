// mknod, mkdir, symlink, link, unlink, rmdir, rename.
#include <linux/fs.h>  // RENAME_NOREPLACE, RENAME_EXCHANGE

#include "fs/fuse/fuse_ops_handlers.h"
#include "fs/fuse/fuse_ops_internal.h"

namespace foliofs::fuse::internal {
namespace {

void ReplyEntryResult(fuse_req_t req, const char* op, const Result<fs::Attr>& attr) {
  if (!attr.ok()) return ReplyStatus(req, op, attr.status());
  ReplyEntry(req, *attr);
}

}  // namespace

void DoMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Guard(req, "mknod", [&] {
    FuseFs& self = Self(req);
    ReplyEntryResult(req, "mknod",
                     self.fs().Mknod(self.ToFs(parent), name, mode, rdev, CallerOf(req)));
  });
}

void DoMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Guard(req, "mkdir", [&] {
    FuseFs& self = Self(req);
    ReplyEntryResult(req, "mkdir", self.fs().Mkdir(self.ToFs(parent), name, mode, CallerOf(req)));
  });
}

void DoSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Guard(req, "symlink", [&] {
    FuseFs& self = Self(req);
    ReplyEntryResult(req, "symlink",
                     self.fs().Symlink(self.ToFs(parent), name, link, CallerOf(req)));
  });
}

void DoLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Guard(req, "link", [&] {
    FuseFs& self = Self(req);
    ReplyEntryResult(req, "link",
                     self.fs().Link(self.ToFs(ino), self.ToFs(newparent), newname));
  });
}

void DoUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, "unlink", [&] {
    FuseFs& self = Self(req);
    ReplyStatus(req, "unlink", self.fs().Unlink(self.ToFs(parent), name));
  });
}

void DoRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, "rmdir", [&] {
    FuseFs& self = Self(req);
    ReplyStatus(req, "rmdir", self.fs().Rmdir(self.ToFs(parent), name));
  });
}

void DoRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Guard(req, "rename", [&] {
    // RENAME_WHITEOUT (overlayfs) and anything unknown: EINVAL, as the VFS
    // does for flags a filesystem does not support.
    if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
      return ReplyErr(req, "rename", EINVAL);
    }
    unsigned fs_flags = 0;
    if (flags & RENAME_NOREPLACE) fs_flags |= fs::kRenameNoReplace;
    if (flags & RENAME_EXCHANGE) fs_flags |= fs::kRenameExchange;
    FuseFs& self = Self(req);
    ReplyStatus(req, "rename", self.fs().Rename(self.ToFs(parent), name, self.ToFs(newparent),
                                                newname, fs_flags));
  });
}

}  // namespace foliofs::fuse::internal
