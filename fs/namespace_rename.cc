// rename(2) / renameat2 with RENAME_NOREPLACE and RENAME_EXCHANGE
// (filesystem.h). One handle: entries, link counts, `..` (the parent field)
// of a moved directory, and the replaced inode's orphan entry.
//
// Locking (fs/LOCKING.md): FsContext::rename_mu first (the tree's shape is
// then fixed, so ancestry walks hold), then the two directories — an
// ancestor before its descendant, otherwise by inode number — then a
// replaced directory (child after parents, like rmdir).
#include <sys/stat.h>

#include "fs/namespace_internal.h"

namespace foliofs::fs {

Status DropLinkForRename(FsContext& fs, journal::Handle& handle, Inode& child);

namespace {

uint64_t ParentOf(Inode& dir) {
  std::lock_guard<std::mutex> lock(dir.meta_mu);
  return dir.rec().parent;
}

// True when `ancestor` is `dir` or one of its ancestors. Caller holds rename_mu.
Result<bool> IsAncestor(FsContext& fs, uint64_t ancestor, uint64_t dir) {
  const uint64_t root = fs.sb.root_ino;
  for (uint64_t ino = dir, n = 0;; ++n) {
    if (ino == ancestor) return true;
    if (ino == root || n > fs.layout.inodes_count) return false;
    ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
    ino = ParentOf(*inode);
  }
}

void Touch(Inode& inode, bool mtime, int nlink_delta) {
  std::lock_guard<std::mutex> lock(inode.meta_mu);
  const format::Timespec now = FsContext::Now();
  inode.rec().ctime = now;
  if (mtime) inode.rec().mtime = now;
  inode.rec().nlink = static_cast<uint32_t>(static_cast<int64_t>(inode.rec().nlink) + nlink_delta);
}

void SetParent(Inode& dir, uint64_t parent) {
  std::lock_guard<std::mutex> lock(dir.meta_mu);
  dir.rec().parent = parent;
}

struct RenameOp {
  FsContext& fs;
  std::shared_ptr<Inode> src_dir, dst_dir;
  std::string_view src_name, dst_name;
  unsigned flags;
  std::shared_ptr<Inode> src, dst;  // dst may be null

  Status Run(journal::Handle& h, DirView& sv, DirView& dv);
  Status Exchange(journal::Handle& h, DirView& sv, DirView& dv);
};

Status RenameOp::Exchange(journal::Handle& h, DirView& sv, DirView& dv) {
  RETURN_IF_ERROR(sv.dir.Replace(h, src_name, dst->ino(), TypeOfMode(dst->type())));
  RETURN_IF_ERROR(dv.dir.Replace(h, dst_name, src->ino(), TypeOfMode(src->type())));
  const bool cross = src_dir != dst_dir;
  if (cross) {
    // Each directory that changed parent points its `..` at the new one and
    // moves one link between the parents.
    const int delta = (src->is_dir() ? 1 : 0) - (dst->is_dir() ? 1 : 0);
    if (src->is_dir()) SetParent(*src, dst_dir->ino());
    if (dst->is_dir()) SetParent(*dst, src_dir->ino());
    Touch(*src_dir, true, -delta);
    Touch(*dst_dir, true, delta);
    RETURN_IF_ERROR(dst_dir->WriteRecord(h));
  } else {
    Touch(*src_dir, true, 0);
  }
  RETURN_IF_ERROR(src_dir->WriteRecord(h));
  Touch(*src, false, 0);
  Touch(*dst, false, 0);
  RETURN_IF_ERROR(src->WriteRecord(h));
  return dst->WriteRecord(h);
}

Status RenameOp::Run(journal::Handle& h, DirView& sv, DirView& dv) {
  if ((flags & kRenameExchange) != 0) return Exchange(h, sv, dv);
  const bool cross = src_dir != dst_dir;
  if (dst) {
    RETURN_IF_ERROR(dv.dir.Replace(h, dst_name, src->ino(), TypeOfMode(src->type())));
    RETURN_IF_ERROR(DropLinkForRename(fs, h, *dst));
    // A replaced directory was a subdirectory of dst_dir: one link less there.
    if (dst->is_dir()) Touch(*dst_dir, false, -1);
  } else {
    RETURN_IF_ERROR(dv.dir.Insert(h, dst_name, src->ino(), TypeOfMode(src->type())));
  }
  RETURN_IF_ERROR(sv.dir.Remove(h, src_name).status());
  if (src->is_dir() && cross) {
    SetParent(*src, dst_dir->ino());
    Touch(*src_dir, true, -1);
    Touch(*dst_dir, true, +1);
  } else {
    Touch(*src_dir, true, 0);
    if (cross) Touch(*dst_dir, true, 0);
  }
  RETURN_IF_ERROR(src_dir->WriteRecord(h));
  if (cross) RETURN_IF_ERROR(dst_dir->WriteRecord(h));
  Touch(*src, false, 0);
  return src->WriteRecord(h);
}

}  // namespace

Status Filesystem::Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                          std::string_view new_name, unsigned flags) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  RETURN_IF_ERROR(fs.CheckWritable());
  if ((flags & ~(kRenameNoReplace | kRenameExchange)) != 0 ||
      flags == (kRenameNoReplace | kRenameExchange)) {
    return Status::Error(EINVAL, "rename: bad flags");
  }
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckName(new_name));
  std::lock_guard<std::mutex> rename_lock(fs.rename_mu);
  ASSIGN_OR_RETURN(auto src_dir, GetDir(fs, parent));
  ASSIGN_OR_RETURN(auto dst_dir, GetDir(fs, new_parent));
  std::unique_lock<std::shared_mutex> first, second;
  if (src_dir == dst_dir) {
    first = std::unique_lock<std::shared_mutex>(src_dir->rw);
  } else {
    ASSIGN_OR_RETURN(bool src_above, IsAncestor(fs, parent, new_parent));
    ASSIGN_OR_RETURN(bool dst_above, IsAncestor(fs, new_parent, parent));
    Inode* a = src_dir.get();
    Inode* b = dst_dir.get();
    if (dst_above || (!src_above && b->ino() < a->ino())) std::swap(a, b);
    first = std::unique_lock<std::shared_mutex>(a->rw);
    second = std::unique_lock<std::shared_mutex>(b->rw);
  }
  DirView sv(fs, *src_dir);
  DirView dv(fs, *dst_dir);
  ASSIGN_OR_RETURN(auto src_entry, sv.dir.Lookup(name));
  if (!src_entry) return Status::Error(ENOENT, "rename: no such entry");
  ASSIGN_OR_RETURN(auto dst_entry, dv.dir.Lookup(new_name));
  RenameOp op{fs, src_dir, dst_dir, name, new_name, flags, nullptr, nullptr};
  ASSIGN_OR_RETURN(op.src, GetInode(fs, src_entry->ino));
  if (dst_entry) {
    ASSIGN_OR_RETURN(op.dst, GetInode(fs, dst_entry->ino));
  }
  if ((flags & kRenameNoReplace) != 0 && op.dst) return Status::Error(EEXIST, "rename: target exists");
  if ((flags & kRenameExchange) != 0 && !op.dst) return Status::Error(ENOENT, "rename: no target");
  if (op.dst && op.dst == op.src) return Status::Ok();  // two names of one inode: nothing to do
  // A directory may not move below itself (either one, for an exchange).
  if (op.src->is_dir() && src_dir != dst_dir) {
    ASSIGN_OR_RETURN(bool loop, IsAncestor(fs, op.src->ino(), new_parent));
    if (loop) return Status::Error(EINVAL, "rename: a directory into its own subtree");
  }
  if ((flags & kRenameExchange) != 0 && op.dst->is_dir() && src_dir != dst_dir) {
    ASSIGN_OR_RETURN(bool loop, IsAncestor(fs, op.dst->ino(), parent));
    if (loop) return Status::Error(EINVAL, "rename: a directory into its own subtree");
  }
  std::unique_lock<std::shared_mutex> victim;
  if (op.dst && (flags & kRenameExchange) == 0) {
    if (op.src->is_dir() && !op.dst->is_dir()) return Status::Error(ENOTDIR, "rename: target is not a directory");
    if (!op.src->is_dir() && op.dst->is_dir()) return Status::Error(EISDIR, "rename: target is a directory");
    if (op.dst->is_dir()) {
      victim = std::unique_lock<std::shared_mutex>(op.dst->rw);
      DirView tv(fs, *op.dst);
      ASSIGN_OR_RETURN(bool empty, tv.dir.IsEmpty());
      if (!empty) return Status::Error(ENOTEMPTY, "rename: target directory not empty");
    }
  }
  ASSIGN_OR_RETURN(int insert_credits, dv.dir.InsertCredits());
  const int credits = insert_credits + 2 * Directory::kRemoveCredits + 4 * kInodeCredits +
                      kOrphanCredits;
  ASSIGN_OR_RETURN(auto handle, fs.journal->Start(credits, "rename"));
  Status st = op.Run(*handle, sv, dv);
  if (!st.ok()) {
    fs.journal->Abort(st.WithContext("rename"));
    (void)handle->Stop();
    return st;
  }
  RETURN_IF_ERROR(handle->Stop());
  if (victim.owns_lock()) victim.unlock();
  if (op.dst && (flags & kRenameExchange) == 0) fs.icache->MaybeFree(op.dst);
  return Status::Ok();
}

}  // namespace foliofs::fs
