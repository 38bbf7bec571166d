// Creating names: mknod, mkdir, symlink, create, link (filesystem.h). Each is
// one journal handle: the inode allocation, its record, its first directory
// block or symlink block, the entry and the parent's record commit together.
#include <sys/stat.h>

#include <cstring>

#include "fs/namespace_internal.h"
#include "pagecache/base/log.h"

namespace foliofs::fs {

namespace {

struct NewNode {
  uint32_t mode = 0;
  uint64_t rdev = 0;
  std::string_view target;  // symlinks
};

constexpr size_t kMaxSymlink = 4095;

// A fresh record for inode `ino`: generation one past the record's last use.
format::Inode FreshRecord(FsContext& fs, uint64_t ino, const NewNode& node, const Caller& caller,
                          const format::Inode& parent) {
  format::Inode rec;
  auto old = fs.ReadInodeRecord(ino);
  if (old.ok()) rec.generation = old->generation + 1;
  rec.ino = ino;
  rec.mode = static_cast<uint16_t>(node.mode);
  rec.uid = caller.uid;
  rec.gid = caller.gid;
  const bool is_dir = (node.mode & S_IFMT) == S_IFDIR;
  if ((parent.mode & S_ISGID) != 0) {
    // BSD group semantics in a setgid directory; subdirectories inherit it.
    rec.gid = parent.gid;
    if (is_dir) rec.mode |= S_ISGID;
  }
  rec.nlink = is_dir ? 2 : 1;
  const format::Timespec now = FsContext::Now();
  rec.atime = rec.mtime = rec.ctime = rec.crtime = now;
  rec.parent = is_dir ? parent.ino : 0;
  rec.i_block = format::EmptyExtentRoot();
  const uint32_t type = node.mode & S_IFMT;
  if (type == S_IFCHR || type == S_IFBLK) {
    rec.i_block.fill(0);
    for (int i = 0; i < 8; ++i) rec.i_block[i] = static_cast<uint8_t>(node.rdev >> (8 * i));
    rec.flags |= format::kInodeFlagInlineData;
  } else if (type == S_IFLNK && node.target.size() <= format::kInodeExtentRootSize) {
    rec.i_block.fill(0);
    std::memcpy(rec.i_block.data(), node.target.data(), node.target.size());
    rec.flags |= format::kInodeFlagInlineData;
    rec.size = node.target.size();
  }
  return rec;
}

// A symlink target too long for i_block goes into one block, journaled like
// metadata (so a crash never shows a half-written target).
Status WriteSymlinkBlock(FsContext& fs, journal::Handle& handle, Inode& link,
                         std::string_view target) {
  std::unique_lock<std::shared_mutex> map(link.map_mu);
  ASSIGN_OR_RETURN(BlockRun run, fs.alloc->AllocBlocks(handle, fs.alloc->GoalForInode(link.ino()),
                                                       1, 1, AllocKind::kMetadata));
  ASSIGN_OR_RETURN(journal::BufferRef buf, fs.journal->buffers().GetNew(run.start));
  RETURN_IF_ERROR(handle.GetWriteAccess(*buf));
  std::memset(buf->data(), 0, fs.block_size);
  std::memcpy(buf->data(), target.data(), target.size());
  RETURN_IF_ERROR(handle.DirtyMetadata(*buf));
  format::Extent e;
  e.logical = 0;
  e.physical = run.start;
  e.length = 1;
  RETURN_IF_ERROR(link.tree()->Insert(handle, e));
  {
    std::lock_guard<std::mutex> lock(link.meta_mu);
    link.rec().i_block = link.tree()->root();
    link.rec().size = target.size();
    link.rec().blocks = 1;
  }
  link.tree()->clear_root_dirty();
  map.unlock();
  return link.WriteRecord(handle);
}

Result<Attr> MakeNode(FsContext& fs, uint64_t parent_ino, std::string_view name,
                      const NewNode& node, const Caller& caller, bool open) {
  RETURN_IF_ERROR(fs.CheckWritable());
  RETURN_IF_ERROR(CheckName(name));
  const uint32_t type = node.mode & S_IFMT;
  if (type == S_IFLNK && (node.target.empty() || node.target.size() > kMaxSymlink)) {
    return Status::Error(node.target.empty() ? ENOENT : ENAMETOOLONG, "symlink target length");
  }
  ASSIGN_OR_RETURN(auto parent, GetDir(fs, parent_ino));
  std::unique_lock<std::shared_mutex> prw(parent->rw);
  DirView pview(fs, *parent);
  {
    uint32_t nlink = 0;
    {
      std::lock_guard<std::mutex> lock(parent->meta_mu);
      nlink = parent->rec().nlink;
    }
    if (nlink == 0) return Status::Error(ENOENT, "directory was removed");
  }
  ASSIGN_OR_RETURN(auto existing, pview.dir.Lookup(name));
  if (existing) return Status::Error(EEXIST, "name exists");
  ASSIGN_OR_RETURN(int insert_credits, pview.dir.InsertCredits());
  const bool is_dir = type == S_IFDIR;
  int credits = insert_credits + Allocator::kCreditsPerGroup + 2 * kInodeCredits;
  // A new tree is depth 0: its first block needs CreditsPerChange(0) + 2 + the record.
  const int first_block = ExtentTree::CreditsPerChange(0) + Allocator::kCreditsPerGroup + 2;
  if (is_dir) credits += Directory::InitCredits(first_block);
  if (type == S_IFLNK) credits += first_block;
  ASSIGN_OR_RETURN(auto handle, fs.journal->Start(credits, "create"));

  format::Inode parent_rec;
  {
    std::lock_guard<std::mutex> lock(parent->meta_mu);
    parent_rec = parent->rec();
  }
  auto ino = fs.alloc->AllocInode(*handle, parent_ino, is_dir);
  if (!ino.ok()) {
    (void)handle->Stop();
    return ino.status();
  }
  const format::Inode rec = FreshRecord(fs, *ino, node, caller, parent_rec);
  std::shared_ptr<Inode> child;
  Status st = fs.WriteInodeRecord(*handle, rec);
  if (st.ok()) {
    auto inserted = fs.icache->Insert(rec);
    if (inserted.ok()) child = *inserted; else st = inserted.status();
  }
  if (st.ok() && is_dir) {
    DirView cview(fs, *child);
    st = cview.dir.Init(*handle);
  }
  if (st.ok() && type == S_IFLNK && (rec.flags & format::kInodeFlagInlineData) == 0) {
    st = WriteSymlinkBlock(fs, *handle, *child, node.target);
  }
  if (st.ok()) st = pview.dir.Insert(*handle, name, *ino, TypeOfMode(node.mode));
  if (st.ok()) {
    {
      std::lock_guard<std::mutex> lock(parent->meta_mu);
      const format::Timespec now = FsContext::Now();
      parent->rec().mtime = parent->rec().ctime = now;
      if (is_dir) parent->rec().nlink += 1;
    }
    st = parent->WriteRecord(*handle);
  }
  if (!st.ok()) {
    // Part of the change may be in the handle; committing it would leave the
    // inode allocated without a name. Nothing is safe but stopping here.
    fs.journal->Abort(st.WithContext("create " + std::string(name)));
    (void)handle->Stop();
    return st;
  }
  if (child) child->NoteTid(handle->tid());
  RETURN_IF_ERROR(handle->Stop());
  child->nlookup.fetch_add(1);
  if (open) child->opens.fetch_add(1);
  return child->GetAttr();
}

}  // namespace

Result<Attr> Filesystem::Mknod(uint64_t parent, std::string_view name, uint32_t mode,
                               uint64_t rdev, const Caller& caller) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  const uint32_t type = mode & S_IFMT;
  if (type == 0) mode |= S_IFREG;
  else if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO &&
           type != S_IFSOCK) {
    return Status::Error(EINVAL, "mknod: bad file type");
  }
  return MakeNode(*ctx_, parent, name, NewNode{mode, rdev, {}}, caller, false);
}

Result<Attr> Filesystem::Create(uint64_t parent, std::string_view name, uint32_t mode,
                                const Caller& caller) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  return MakeNode(*ctx_, parent, name, NewNode{(mode & 07777) | S_IFREG, 0, {}}, caller, true);
}

Result<Attr> Filesystem::Mkdir(uint64_t parent, std::string_view name, uint32_t mode,
                               const Caller& caller) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  return MakeNode(*ctx_, parent, name, NewNode{(mode & 07777) | S_IFDIR, 0, {}}, caller, false);
}

Result<Attr> Filesystem::Symlink(uint64_t parent, std::string_view name, std::string_view target,
                                 const Caller& caller) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  return MakeNode(*ctx_, parent, name, NewNode{S_IFLNK | 0777, 0, target}, caller, false);
}

Result<Attr> Filesystem::Link(uint64_t ino, uint64_t new_parent, std::string_view new_name) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  RETURN_IF_ERROR(fs.CheckWritable());
  RETURN_IF_ERROR(CheckName(new_name));
  ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
  if (inode->is_dir()) return Status::Error(EPERM, "hard link to a directory");
  ASSIGN_OR_RETURN(auto parent, GetDir(fs, new_parent));
  std::unique_lock<std::shared_mutex> prw(parent->rw);
  DirView pview(fs, *parent);
  ASSIGN_OR_RETURN(auto existing, pview.dir.Lookup(new_name));
  if (existing) return Status::Error(EEXIST, "name exists");
  {
    std::lock_guard<std::mutex> lock(inode->meta_mu);
    if (inode->rec().nlink == 0) return Status::Error(ENOENT, "inode was unlinked");
    if (inode->rec().nlink >= 65000) return Status::Error(EMLINK, "too many links");
  }
  ASSIGN_OR_RETURN(int insert_credits, pview.dir.InsertCredits());
  ASSIGN_OR_RETURN(auto handle, fs.journal->Start(insert_credits + 2 * kInodeCredits, "link"));
  Status st = pview.dir.Insert(*handle, new_name, ino, TypeOfMode(inode->type()));
  if (st.ok()) {
    {
      std::lock_guard<std::mutex> lock(inode->meta_mu);
      inode->rec().nlink += 1;
      inode->rec().ctime = FsContext::Now();
    }
    st = inode->WriteRecord(*handle);
  }
  if (st.ok()) {
    {
      std::lock_guard<std::mutex> lock(parent->meta_mu);
      parent->rec().mtime = parent->rec().ctime = FsContext::Now();
    }
    st = parent->WriteRecord(*handle);
  }
  if (!st.ok()) {
    fs.journal->Abort(st.WithContext("link"));
    (void)handle->Stop();
    return st;
  }
  RETURN_IF_ERROR(handle->Stop());
  inode->nlookup.fetch_add(1);
  return inode->GetAttr();
}

}  // namespace foliofs::fs
