// lookup, forget, getattr, setattr, readlink, access, statfs.
#include <sys/statvfs.h>

#include "fs/fuse/fuse_ops_handlers.h"
#include "fs/fuse/fuse_ops_internal.h"

namespace foliofs::fuse::internal {
namespace {

format::Timespec ToTimespec(const timespec& ts) {
  return format::Timespec{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

fs::SetAttrRequest ToSetAttrRequest(const struct stat& attr, int to_set) {
  using R = fs::SetAttrRequest;
  R r;
  if (to_set & FUSE_SET_ATTR_MODE) {
    r.valid |= R::kMode;
    r.mode = attr.st_mode & 07777;
  }
  if (to_set & FUSE_SET_ATTR_UID) {
    r.valid |= R::kUid;
    r.uid = attr.st_uid;
  }
  if (to_set & FUSE_SET_ATTR_GID) {
    r.valid |= R::kGid;
    r.gid = attr.st_gid;
  }
  if (to_set & FUSE_SET_ATTR_SIZE) {
    r.valid |= R::kSize;
    r.size = static_cast<uint64_t>(attr.st_size);
  }
  // The kernel sets ATIME together with ATIME_NOW; NOW wins.
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    r.valid |= R::kAtimeNow;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    r.valid |= R::kAtime;
    r.atime = ToTimespec(attr.st_atim);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    r.valid |= R::kMtimeNow;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    r.valid |= R::kMtime;
    r.mtime = ToTimespec(attr.st_mtim);
  }
  if (to_set & FUSE_SET_ATTR_CTIME) {
    r.valid |= R::kCtime;
    r.ctime = ToTimespec(attr.st_ctim);
  }
  return r;
}

void ReplyAttr(fuse_req_t req, const fs::Attr& attr) {
  const struct stat st = ToStat(attr);
  fuse_reply_attr(req, &st, kCacheTimeoutSeconds);
}

// With the writeback cache the kernel keeps mtime and ctime of a regular file
// itself (it never takes them from our replies while it has the inode) and
// writes them to us with a SETATTR whenever it changed them, notably right
// after every unlink (fuse_update_ctime -> write_inode -> fuse_flush_times).
// For an unlinked file (nlink 0, final: there is no tmpfile and the kernel
// links no nlink-0 inode) nobody can ever see those two fields from us again:
// no name leads to it, fstat on an open descriptor shows the kernel's copy,
// and the inode is freed once the kernel forgets it. So such a SETATTR is
// answered from memory, without a journal transaction per unlink. Returns
// false (the caller does the real SetAttr) for anything else.
bool AnswerOrphanTimes(fuse_req_t req, FuseFs& self, uint64_t fs_ino, const struct stat& attr,
                       int to_set) {
  if (!self.config().writeback_cache || self.fs().read_only()) return false;
  if ((to_set & ~(FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_CTIME)) != 0 || to_set == 0) return false;
  Result<fs::Attr> cur = self.fs().GetAttr(fs_ino);
  if (!cur.ok() || !S_ISREG(cur->mode) || cur->nlink != 0) return false;
  fs::Attr reply = *cur;
  if (to_set & FUSE_SET_ATTR_MTIME) reply.mtime = ToTimespec(attr.st_mtim);
  if (to_set & FUSE_SET_ATTR_CTIME) reply.ctime = ToTimespec(attr.st_ctim);
  ReplyAttr(req, reply);
  return true;
}

}  // namespace

void DoLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, "lookup", [&] {
    FuseFs& self = Self(req);
    Result<fs::Attr> attr = self.fs().Lookup(self.ToFs(parent), name);
    if (attr.err() == ENOENT) {
      // A negative entry (ino 0): the kernel caches the miss for the timeout.
      fuse_entry_param e{};
      e.entry_timeout = kEntryTimeoutSeconds;
      fuse_reply_entry(req, &e);
    } else if (!attr.ok()) {
      ReplyStatus(req, "lookup", attr.status());
    } else {
      ReplyEntry(req, *attr);
    }
  });
}

void DoForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Guard(
      req, "forget",
      [&] {
        FuseFs& self = Self(req);
        self.fs().Forget(self.ToFs(ino), nlookup);
        fuse_reply_none(req);
      },
      /*reply_none=*/true);
}

void DoForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  Guard(
      req, "forget_multi",
      [&] {
        FuseFs& self = Self(req);
        for (size_t i = 0; i < count; ++i) {
          self.fs().Forget(self.ToFs(forgets[i].ino), forgets[i].nlookup);
        }
        fuse_reply_none(req);
      },
      /*reply_none=*/true);
}

void DoGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  Guard(req, "getattr", [&] {
    FuseFs& self = Self(req);
    Result<fs::Attr> attr = self.fs().GetAttr(self.ToFs(ino));
    if (!attr.ok()) return ReplyStatus(req, "getattr", attr.status());
    ReplyAttr(req, *attr);
  });
}

void DoSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info* /*fi*/) {
  Guard(req, "setattr", [&] {
    FuseFs& self = Self(req);
    if (AnswerOrphanTimes(req, self, self.ToFs(ino), *attr, to_set)) return;
    const fs::SetAttrRequest request = ToSetAttrRequest(*attr, to_set);
    Result<fs::Attr> result = self.fs().SetAttr(self.ToFs(ino), request);
    if (!result.ok()) return ReplyStatus(req, "setattr", result.status());
    ReplyAttr(req, *result);
    // A truncate changed data under the kernel's page cache: drop what lies
    // past the new size (after the reply; see inval_notifier.h).
    if (request.valid & fs::SetAttrRequest::kSize) {
      self.InvalidateData(result->ino, static_cast<off_t>(request.size), 0);
    }
  });
}

void DoReadlink(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, "readlink", [&] {
    FuseFs& self = Self(req);
    Result<std::string> target = self.fs().ReadLink(self.ToFs(ino));
    if (!target.ok()) return ReplyStatus(req, "readlink", target.status());
    fuse_reply_readlink(req, target->c_str());
  });
}

void DoAccess(fuse_req_t req, fuse_ino_t ino, int mask) {
  Guard(req, "access", [&] {
    FuseFs& self = Self(req);
    ReplyStatus(req, "access", self.fs().Access(self.ToFs(ino), mask, CallerOf(req)));
  });
}

void DoStatfs(fuse_req_t req, fuse_ino_t /*ino*/) {
  Guard(req, "statfs", [&] {
    Result<fs::FsStats> stats = Self(req).fs().StatFs();
    if (!stats.ok()) return ReplyStatus(req, "statfs", stats.status());
    struct statvfs sv{};
    sv.f_bsize = stats->block_size;
    sv.f_frsize = stats->block_size;
    sv.f_blocks = stats->blocks;
    sv.f_bfree = stats->free_blocks;
    sv.f_bavail = stats->avail_blocks;
    sv.f_files = stats->inodes;
    sv.f_ffree = stats->free_inodes;
    sv.f_favail = stats->free_inodes;
    sv.f_namemax = stats->name_max;
    fuse_reply_statfs(req, &sv);
  });
}

}  // namespace foliofs::fuse::internal
