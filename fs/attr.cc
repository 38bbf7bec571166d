// setattr and the xattr operations (filesystem.h).
#include <sys/stat.h>

#include "fs/namespace_internal.h"
#include "fs/xattr_store.h"

namespace foliofs::fs {

namespace {

bool ChangesRecord(const SetAttrRequest& r) {
  return (r.valid & ~SetAttrRequest::kSize) != 0;
}

void ApplyToRecord(const SetAttrRequest& r, format::Inode& rec) {
  const format::Timespec now = FsContext::Now();
  if (r.valid & SetAttrRequest::kMode) {
    rec.mode = static_cast<uint16_t>((rec.mode & S_IFMT) | (r.mode & 07777));
  }
  if (r.valid & SetAttrRequest::kUid) rec.uid = r.uid;
  if (r.valid & SetAttrRequest::kGid) rec.gid = r.gid;
  if ((r.valid & (SetAttrRequest::kUid | SetAttrRequest::kGid)) != 0 &&
      (rec.mode & S_IFMT) != S_IFDIR && (r.valid & SetAttrRequest::kMode) == 0) {
    // chown clears set-user-ID, and set-group-ID when group-executable (chown(2)).
    rec.mode &= static_cast<uint16_t>(~S_ISUID);
    if ((rec.mode & S_IXGRP) != 0) rec.mode &= static_cast<uint16_t>(~S_ISGID);
  }
  if (r.valid & SetAttrRequest::kAtimeNow) rec.atime = now;
  else if (r.valid & SetAttrRequest::kAtime) rec.atime = r.atime;
  if (r.valid & SetAttrRequest::kMtimeNow) rec.mtime = now;
  else if (r.valid & SetAttrRequest::kMtime) rec.mtime = r.mtime;
  rec.ctime = (r.valid & SetAttrRequest::kCtime) ? r.ctime : now;
}

}  // namespace

Result<Attr> Filesystem::SetAttr(uint64_t ino, const SetAttrRequest& request) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  RETURN_IF_ERROR(fs.CheckWritable());
  ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
  if (request.valid & SetAttrRequest::kSize) {
    if (inode->is_dir()) return Status::Error(EISDIR, "truncate of a directory");
    if (!inode->is_reg()) return Status::Error(EINVAL, "truncate of a special file");
    std::unique_lock<std::shared_mutex> rw(inode->rw);
    RETURN_IF_ERROR(inode->Truncate(request.size));
  }
  if (ChangesRecord(request)) {
    ASSIGN_OR_RETURN(auto handle, fs.journal->Start(kInodeCredits, "setattr"));
    {
      std::lock_guard<std::mutex> lock(inode->meta_mu);
      ApplyToRecord(request, inode->rec());
    }
    Status st = inode->WriteRecord(*handle);
    Status stop = handle->Stop();
    RETURN_IF_ERROR(st);
    RETURN_IF_ERROR(stop);
  }
  return inode->GetAttr();
}

Status Filesystem::SetXattr(uint64_t ino, std::string_view name, std::string_view value,
                            int flags) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  RETURN_IF_ERROR(fs.CheckWritable());
  ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
  XattrStore store(*fs.journal, *fs.xattr_blocks, fs.seed, fs.block_size);
  ASSIGN_OR_RETURN(auto handle, fs.journal->Start(store.SetCredits() + kInodeCredits, "setxattr"));
  Status st;
  {
    std::lock_guard<std::mutex> lock(inode->meta_mu);
    st = store.Set(*handle, inode->rec(), name, value, flags);
    if (st.ok()) {
      inode->rec().ctime = FsContext::Now();
      st = fs.WriteInodeRecord(*handle, inode->rec());
    }
  }
  if (st.ok()) inode->NoteTid(handle->tid());
  Status stop = handle->Stop();
  RETURN_IF_ERROR(st);
  return stop;
}

Result<std::string> Filesystem::GetXattr(uint64_t ino, std::string_view name) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
  XattrStore store(*fs.journal, *fs.xattr_blocks, fs.seed, fs.block_size);
  std::lock_guard<std::mutex> lock(inode->meta_mu);
  return store.Get(inode->rec(), name);
}

Result<std::vector<std::string>> Filesystem::ListXattr(uint64_t ino) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
  XattrStore store(*fs.journal, *fs.xattr_blocks, fs.seed, fs.block_size);
  std::lock_guard<std::mutex> lock(inode->meta_mu);
  return store.List(inode->rec());
}

Status Filesystem::RemoveXattr(uint64_t ino, std::string_view name) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  RETURN_IF_ERROR(fs.CheckWritable());
  ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
  XattrStore store(*fs.journal, *fs.xattr_blocks, fs.seed, fs.block_size);
  ASSIGN_OR_RETURN(auto handle,
                   fs.journal->Start(store.SetCredits() + kInodeCredits, "removexattr"));
  Status st;
  {
    std::lock_guard<std::mutex> lock(inode->meta_mu);
    st = store.Remove(*handle, inode->rec(), name);
    if (st.ok()) {
      inode->rec().ctime = FsContext::Now();
      st = fs.WriteInodeRecord(*handle, inode->rec());
    }
  }
  if (st.ok()) inode->NoteTid(handle->tid());
  Status stop = handle->Stop();
  RETURN_IF_ERROR(st);
  return stop;
}

}  // namespace foliofs::fs
