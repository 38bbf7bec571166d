// Reading the namespace: lookup, readdir, readlink, access (filesystem.h).
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "fs/namespace_internal.h"

namespace foliofs::fs {

Result<Attr> Filesystem::Lookup(uint64_t parent_ino, std::string_view name) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  if (name.size() > 255) return Status::Error(ENAMETOOLONG, "name longer than 255 bytes");
  ASSIGN_OR_RETURN(auto parent, GetDir(fs, parent_ino));
  uint64_t ino = 0;
  if (name == ".") {
    ino = parent_ino;
  } else if (name == "..") {
    std::lock_guard<std::mutex> lock(parent->meta_mu);
    ino = parent->rec().parent;
  } else {
    std::shared_lock<std::shared_mutex> prw(parent->rw);
    DirView view(fs, *parent);
    ASSIGN_OR_RETURN(auto entry, view.dir.Lookup(name));
    if (!entry) return Status::Error(ENOENT, "no such entry");
    // Counted under the directory lock, so an unlink cannot free it between.
    ASSIGN_OR_RETURN(auto inode, GetInode(fs, entry->ino));
    inode->nlookup.fetch_add(1);
    return inode->GetAttr();
  }
  ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
  inode->nlookup.fetch_add(1);
  return inode->GetAttr();
}

Status Filesystem::ReadDir(uint64_t ino, uint64_t cookie,
                           const std::function<bool(const DirListEntry&)>& fn) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  ASSIGN_OR_RETURN(auto dir, GetDir(fs, ino));
  std::shared_lock<std::shared_mutex> rw(dir->rw);
  if (cookie == 0) {
    if (!fn(DirListEntry{".", ino, S_IFDIR, 1})) return Status::Ok();
    cookie = 1;
  }
  if (cookie == 1) {
    uint64_t parent = 0;
    {
      std::lock_guard<std::mutex> lock(dir->meta_mu);
      parent = dir->rec().parent;
    }
    if (!fn(DirListEntry{"..", parent, S_IFDIR, 2})) return Status::Ok();
    cookie = 2;
  }
  DirView view(fs, *dir);
  return view.dir.ReadDir(cookie, [&](const format::DirEntry& e, uint64_t next) {
    return fn(DirListEntry{e.name, e.ino, ModeOfType(e.type), next});
  });
}

Result<std::string> Filesystem::ReadLink(uint64_t ino) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
  if (!inode->is_symlink()) return Status::Error(EINVAL, "not a symlink");
  uint64_t size = 0;
  {
    std::lock_guard<std::mutex> lock(inode->meta_mu);
    const format::Inode& rec = inode->rec();
    size = rec.size;
    if ((rec.flags & format::kInodeFlagInlineData) != 0) {
      if (size > rec.i_block.size()) return Status::Error(EUCLEAN, "symlink size");
      return std::string(reinterpret_cast<const char*>(rec.i_block.data()), size);
    }
  }
  if (size > fs.block_size) return Status::Error(EUCLEAN, "symlink longer than a block");
  uint64_t block = 0;
  {
    std::shared_lock<std::shared_mutex> map(inode->map_mu);
    ASSIGN_OR_RETURN(ExtentLookup found, inode->tree()->Lookup(0));
    if (!found.extent) return Status::Error(EUCLEAN, "symlink block not mapped");
    block = found.extent->physical;
  }
  ASSIGN_OR_RETURN(journal::BufferRef buf, fs.journal->buffers().Read(block));
  return std::string(reinterpret_cast<const char*>(buf->data()), size);
}

Status Filesystem::Access(uint64_t ino, int mask, const Caller& caller) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  const Attr a = inode->GetAttr();
  if (mask == F_OK) return Status::Ok();
  if ((mask & W_OK) != 0 && ctx_->read_only) return Status::Error(EROFS, "read-only");
  if (caller.uid == 0) {
    // root: everything but executing a file no one may execute.
    if ((mask & X_OK) != 0 && !S_ISDIR(a.mode) && (a.mode & 0111) == 0) {
      return Status::Error(EACCES, "no execute permission");
    }
    return Status::Ok();
  }
  uint32_t bits = a.mode & 07;
  if (caller.uid == a.uid) bits = (a.mode >> 6) & 07;
  else if (caller.gid == a.gid) bits = (a.mode >> 3) & 07;
  const uint32_t want = ((mask & R_OK) ? 4 : 0) | ((mask & W_OK) ? 2 : 0) | ((mask & X_OK) ? 1 : 0);
  if ((bits & want) != want) return Status::Error(EACCES, "permission denied");
  return Status::Ok();
}

}  // namespace foliofs::fs
