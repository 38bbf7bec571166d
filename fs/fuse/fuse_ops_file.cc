// open, create, read, write_buf, flush, release, fsync, fallocate, lseek.
#include <unistd.h>

#include <memory>
#include <span>

#include "fs/fuse/fuse_ops_handlers.h"
#include "fs/fuse/fuse_ops_internal.h"

namespace foliofs::fuse::internal {

void DoOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "open", [&] {
    FuseFs& self = Self(req);
    const uint64_t fs_ino = self.ToFs(ino);
    Status st = self.fs().Open(fs_ino);
    if (!st.ok()) return ReplyStatus(req, "open", st);
    SetOpenFlags(fi);
    // An interrupted open never gets a release: give the open count back.
    if (fuse_reply_open(req, fi) != 0) self.fs().Release(fs_ino);
  });
}

void DoCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Guard(req, "create", [&] {
    FuseFs& self = Self(req);
    Result<fs::Attr> attr = self.fs().Create(self.ToFs(parent), name, mode, CallerOf(req));
    if (!attr.ok()) return ReplyStatus(req, "create", attr.status());
    fuse_entry_param e{};
    e.ino = self.ToFuse(attr->ino);
    e.generation = attr->generation;
    e.attr = ToStat(*attr);
    e.attr_timeout = kCacheTimeoutSeconds;
    e.entry_timeout = kEntryTimeoutSeconds;
    SetOpenFlags(fi);
    if (fuse_reply_create(req, &e, fi) != 0) {
      self.fs().Release(attr->ino);
      self.fs().Forget(attr->ino, 1);
    }
  });
}

void DoRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  Guard(req, "read", [&] {
    FuseFs& self = Self(req);
    if (off < 0) return ReplyErr(req, "read", EINVAL);
    auto buf = std::make_unique_for_overwrite<uint8_t[]>(size);
    Result<size_t> n = self.fs().Read(self.ToFs(ino), static_cast<uint64_t>(off),
                                      std::span<uint8_t>(buf.get(), size));
    if (!n.ok()) return ReplyStatus(req, "read", n.status());
    fuse_reply_buf(req, reinterpret_cast<const char*>(buf.get()), *n);
  });
}

void DoWriteBuf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* bufv, off_t off,
                fuse_file_info* /*fi*/) {
  Guard(req, "write", [&] {
    FuseFs& self = Self(req);
    if (off < 0) return ReplyErr(req, "write", EINVAL);
    size_t size = fuse_buf_size(bufv);
    std::span<const uint8_t> data;
    std::unique_ptr<uint8_t[]> copy;
    const fuse_buf& first = bufv->buf[bufv->idx];
    if (bufv->count == 1 && !(first.flags & FUSE_BUF_IS_FD)) {
      // The usual case: the request's own memory, no copy.
      data = {static_cast<const uint8_t*>(first.mem) + bufv->off, size - bufv->off};
    } else {
      copy = std::make_unique_for_overwrite<uint8_t[]>(size);
      fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
      dst.buf[0].mem = copy.get();
      const ssize_t n = fuse_buf_copy(&dst, bufv, static_cast<fuse_buf_copy_flags>(0));
      if (n < 0) return ReplyErr(req, "write", static_cast<int>(-n));
      data = {copy.get(), static_cast<size_t>(n)};
    }
    Result<size_t> n = self.fs().Write(self.ToFs(ino), static_cast<uint64_t>(off), data);
    if (!n.ok()) return ReplyStatus(req, "write", n.status());
    fuse_reply_write(req, *n);
  });
}

// FLUSH (each close(2)) is answered ENOSYS, which the kernel remembers for
// the connection (fc->no_flush) and sends no FLUSH again: a round trip less
// per close. Nothing is lost, because before it even looks at no_flush the
// kernel's fuse_flush writes the file's dirty pages back to us
// (write_inode_now, which waits for the WRITE replies) and returns any error
// those replies carried (filemap_check_errors): ENOSPC or EIO of a write
// still reaches close(2) with the writeback cache; without it write(2)
// itself already returned them. We keep no per-open state and no POSIX or
// flock locks that a flush would have to drop. What close(2) no longer
// reports is an error the daemon's own background writeback to the device
// met (Filesystem::Flush); that error stays recorded on the file and fsync
// reports it, as on ext4, where close(2) reports no writeback errors either.
void DoFlush(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) {
  Guard(req, "flush", [&] { fuse_reply_err(req, ENOSYS); });
}

void DoRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* /*fi*/) {
  Guard(req, "release", [&] {
    FuseFs& self = Self(req);
    self.fs().Release(self.ToFs(ino));
    fuse_reply_err(req, 0);
  });
}

void DoFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* /*fi*/) {
  Guard(req, "fsync", [&] {
    FuseFs& self = Self(req);
    ReplyStatus(req, "fsync", self.fs().Fsync(self.ToFs(ino), datasync != 0));
  });
}

void DoFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info* /*fi*/) {
  Guard(req, "fallocate", [&] {
    FuseFs& self = Self(req);
    if (offset < 0 || length <= 0) return ReplyErr(req, "fallocate", EINVAL);
    const uint64_t fs_ino = self.ToFs(ino);
    Status st = self.fs().Fallocate(fs_ino, mode, static_cast<uint64_t>(offset),
                                    static_cast<uint64_t>(length));
    ReplyStatus(req, "fallocate", st);
    // Punch and zero change data the kernel may cache; plain allocation does not.
    if (st.ok() && (mode & (fs::kFallocPunchHole | fs::kFallocZeroRange))) {
      self.InvalidateData(fs_ino, offset, length);
    }
  });
}

void DoLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* /*fi*/) {
  Guard(req, "lseek", [&] {
    // SEEK_SET/CUR/END never reach us: the kernel handles them.
    if ((whence != SEEK_DATA && whence != SEEK_HOLE) || off < 0) {
      return ReplyErr(req, "lseek", EINVAL);
    }
    FuseFs& self = Self(req);
    if (self.config().writeback_cache) {
      // With the writeback cache, data the kernel has not written back yet is
      // invisible here, so our answer could call data a hole. ENOSYS makes the
      // kernel fall back to generic_file_llseek (the whole file is data:
      // imprecise but never wrong) for this connection.
      return ReplyErr(req, "lseek", ENOSYS);
    }
    Result<uint64_t> pos = self.fs().Lseek(self.ToFs(ino), static_cast<uint64_t>(off), whence);
    if (!pos.ok()) return ReplyStatus(req, "lseek", pos.status());
    fuse_reply_lseek(req, static_cast<off_t>(*pos));
  });
}

}  // namespace foliofs::fuse::internal
