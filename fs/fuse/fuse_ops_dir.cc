// opendir, readdir, readdirplus, releasedir, fsyncdir.
//
// Offsets: the `off` of a FUSE readdir is a Filesystem::ReadDir cookie (0 =
// start) and each entry carries its next_cookie, so the kernel resumes right
// after the last entry it received. An entry that does not fit the reply is
// simply left for the next call.
#include <cstring>
#include <string_view>
#include <vector>

#include "fs/fuse/fuse_ops_handlers.h"
#include "fs/fuse/fuse_ops_internal.h"

namespace foliofs::fuse::internal {
namespace {

bool IsDotOrDotDot(std::string_view name) { return name == "." || name == ".."; }

// The directory entries from `cookie` on that may fit `size` bytes of
// readdirplus reply. Collected first so that no Lookup runs inside ReadDir's
// callback (which may hold the directory's locks).
Result<std::vector<fs::DirListEntry>> CollectPlus(fuse_req_t req, fs::Filesystem& fs,
                                                  uint64_t dir, uint64_t cookie, size_t size) {
  std::vector<fs::DirListEntry> entries;
  size_t used = 0;
  Status st = fs.ReadDir(dir, cookie, [&](const fs::DirListEntry& entry) {
    used += fuse_add_direntry_plus(req, nullptr, 0, entry.name.c_str(), nullptr, 0);
    if (used > size) return false;
    entries.push_back(entry);
    return true;
  });
  if (!st.ok()) return st;
  return entries;
}

}  // namespace

void DoOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guard(req, "opendir", [&] {
    FuseFs& self = Self(req);
    Result<fs::Attr> attr = self.fs().GetAttr(self.ToFs(ino));
    if (!attr.ok()) return ReplyStatus(req, "opendir", attr.status());
    if (!S_ISDIR(attr->mode)) return ReplyErr(req, "opendir", ENOTDIR);
    fuse_reply_open(req, fi);
  });
}

void DoReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* /*fi*/) {
  Guard(req, "readdir", [&] {
    FuseFs& self = Self(req);
    std::vector<char> buf(size);
    size_t used = 0;
    Status st = self.fs().ReadDir(
        self.ToFs(ino), static_cast<uint64_t>(off), [&](const fs::DirListEntry& entry) {
          struct stat st{};
          st.st_ino = entry.ino;
          st.st_mode = entry.mode_type;
          const size_t need = fuse_add_direntry(req, buf.data() + used, size - used,
                                                entry.name.c_str(), &st,
                                                static_cast<off_t>(entry.next_cookie));
          if (need > size - used) return false;
          used += need;
          return true;
        });
    // Entries already gathered are worth more than the error that followed them.
    if (!st.ok() && used == 0) return ReplyStatus(req, "readdir", st);
    fuse_reply_buf(req, buf.data(), used);
  });
}

void DoReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   fuse_file_info* /*fi*/) {
  Guard(req, "readdirplus", [&] {
    FuseFs& self = Self(req);
    const uint64_t dir = self.ToFs(ino);
    Result<std::vector<fs::DirListEntry>> entries =
        CollectPlus(req, self.fs(), dir, static_cast<uint64_t>(off), size);
    if (!entries.ok()) return ReplyStatus(req, "readdirplus", entries.status());
    std::vector<char> buf(size);
    size_t used = 0;
    std::vector<uint64_t> referenced;  // one Lookup reference each, owed to the kernel
    for (const fs::DirListEntry& entry : *entries) {
      fuse_entry_param e{};
      uint64_t counted = 0;  // the inode whose lookup count this entry carries
      if (IsDotOrDotDot(entry.name)) {
        // The kernel takes no attributes and no lookup count for these.
        e.attr.st_ino = entry.ino;
        e.attr.st_mode = entry.mode_type;
      } else {
        Result<fs::Attr> attr = self.fs().Lookup(dir, entry.name);
        if (attr.err() == ENOENT) continue;  // removed since ReadDir
        if (!attr.ok()) {
          if (used == 0) return ReplyStatus(req, "readdirplus", attr.status());
          break;
        }
        counted = attr->ino;
        e.ino = self.ToFuse(attr->ino);
        e.generation = attr->generation;
        e.attr = ToStat(*attr);
        e.attr_timeout = kCacheTimeoutSeconds;
        e.entry_timeout = kEntryTimeoutSeconds;
      }
      const size_t need = fuse_add_direntry_plus(req, buf.data() + used, size - used,
                                                 entry.name.c_str(), &e,
                                                 static_cast<off_t>(entry.next_cookie));
      if (need > size - used) {
        if (counted != 0) self.fs().Forget(counted, 1);
        break;
      }
      used += need;
      if (counted != 0) referenced.push_back(counted);
    }
    // A dropped reply (interrupted request) hands the kernel no references.
    if (fuse_reply_buf(req, buf.data(), used) != 0) {
      for (uint64_t fs_ino : referenced) self.fs().Forget(fs_ino, 1);
    }
  });
}

void DoReleasedir(fuse_req_t req, fuse_ino_t /*ino*/, fuse_file_info* /*fi*/) {
  Guard(req, "releasedir", [&] { fuse_reply_err(req, 0); });
}

void DoFsyncdir(fuse_req_t req, fuse_ino_t ino, int /*datasync*/, fuse_file_info* /*fi*/) {
  Guard(req, "fsyncdir", [&] {
    FuseFs& self = Self(req);
    ReplyStatus(req, "fsyncdir", self.fs().FsyncDir(self.ToFs(ino)));
  });
}

}  // namespace foliofs::fuse::internal
