// Removing names: unlink and rmdir (filesystem.h). The entry, the link count
// and — when it reaches 0 — the orphan list entry change in one handle; the
// inode itself is freed at last use (InodeCache::MaybeFree), so an unlinked
// file that is still open keeps its data, and a crash before that frees it at
// the next mount.
#include <sys/stat.h>

#include "fs/namespace_internal.h"

namespace foliofs::fs {

namespace {

constexpr int kRemoveCredits = Directory::kRemoveCredits + 2 * kInodeCredits + kOrphanCredits;

// Drops one link of `child` (all of a directory's) in `handle`, listing it
// as an orphan when none is left.
Status DropLink(FsContext& fs, journal::Handle& handle, Inode& child) {
  bool orphan = false;
  {
    std::lock_guard<std::mutex> lock(child.meta_mu);
    format::Inode& rec = child.rec();
    rec.nlink = child.is_dir() || rec.nlink <= 1 ? 0 : rec.nlink - 1;
    rec.ctime = FsContext::Now();
    orphan = rec.nlink == 0;
  }
  if (orphan) return fs.OrphanAdd(handle, child);  // writes the record
  return child.WriteRecord(handle);
}

Status TouchParent(journal::Handle& handle, Inode& parent, int nlink_delta) {
  {
    std::lock_guard<std::mutex> lock(parent.meta_mu);
    parent.rec().mtime = parent.rec().ctime = FsContext::Now();
    parent.rec().nlink = static_cast<uint32_t>(static_cast<int64_t>(parent.rec().nlink) + nlink_delta);
  }
  return parent.WriteRecord(handle);
}

Status RemoveName(FsContext& fs, uint64_t parent_ino, std::string_view name, bool rmdir) {
  RETURN_IF_ERROR(fs.CheckWritable());
  if (name == ".") return Status::Error(EINVAL, "cannot remove '.'");
  if (name == "..") return Status::Error(ENOTEMPTY, "cannot remove '..'");
  RETURN_IF_ERROR(CheckName(name));
  ASSIGN_OR_RETURN(auto parent, GetDir(fs, parent_ino));
  std::unique_lock<std::shared_mutex> prw(parent->rw);
  DirView pview(fs, *parent);
  ASSIGN_OR_RETURN(auto entry, pview.dir.Lookup(name));
  if (!entry) return Status::Error(ENOENT, "no such entry");
  ASSIGN_OR_RETURN(auto child, GetInode(fs, entry->ino));
  std::unique_lock<std::shared_mutex> crw;
  if (rmdir) {
    if (!child->is_dir()) return Status::Error(ENOTDIR, "not a directory");
    crw = std::unique_lock<std::shared_mutex>(child->rw);  // parent → child order
    DirView cview(fs, *child);
    ASSIGN_OR_RETURN(bool empty, cview.dir.IsEmpty());
    if (!empty) return Status::Error(ENOTEMPTY, "directory not empty");
  } else if (child->is_dir()) {
    return Status::Error(EISDIR, "is a directory");
  }
  ASSIGN_OR_RETURN(auto handle, fs.journal->Start(kRemoveCredits, rmdir ? "rmdir" : "unlink"));
  Status st = pview.dir.Remove(*handle, name).status();
  if (st.ok()) st = DropLink(fs, *handle, *child);
  if (st.ok()) st = TouchParent(*handle, *parent, rmdir ? -1 : 0);
  if (!st.ok()) {
    fs.journal->Abort(st.WithContext(rmdir ? "rmdir" : "unlink"));
    (void)handle->Stop();
    return st;
  }
  RETURN_IF_ERROR(handle->Stop());
  if (crw.owns_lock()) crw.unlock();
  prw.unlock();
  fs.icache->MaybeFree(child);
  return Status::Ok();
}

}  // namespace

Status Filesystem::Unlink(uint64_t parent, std::string_view name) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  return RemoveName(*ctx_, parent, name, false);
}

Status Filesystem::Rmdir(uint64_t parent, std::string_view name) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  return RemoveName(*ctx_, parent, name, true);
}

// Exposed to rename (namespace_rename.cc).
Status DropLinkForRename(FsContext& fs, journal::Handle& handle, Inode& child) {
  return DropLink(fs, handle, child);
}

}  // namespace foliofs::fs
