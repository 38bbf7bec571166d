// Filesystem (filesystem.h): unmount, sync, statfs and the file operations,
// which are thin: each finds the inode and calls it (inode.h).
#include "fs/filesystem.h"

#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs_context.h"
#include "fs/inode.h"
#include "fs/inode_cache.h"
#include "fs/namespace_internal.h"
#include "pagecache/base/log.h"

namespace foliofs::fs {

Filesystem::Filesystem(std::unique_ptr<FsContext> ctx) : ctx_(std::move(ctx)) {}

Filesystem::~Filesystem() {
  Status st = Unmount();
  if (!st.ok()) GetLogger("fs")->error("{}: unmount: {}", ctx_->device_name, st.ToString());
}

uint64_t Filesystem::root_ino() const { return ctx_->sb.root_ino; }
uint32_t Filesystem::block_size() const { return ctx_->block_size; }
bool Filesystem::read_only() const { return ctx_->read_only; }

Status Filesystem::Sync() {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  if (fs.unmounted.load()) return Status::Error(EIO, "filesystem unmounted");
  if (fs.read_only) return Status::Ok();
  RETURN_IF_ERROR(fs.cache->SyncAll());
  return fs.journal->ForceCommit(fs.journal->current_tid());
}

Status Filesystem::Unmount() {
  FsContext& fs = *ctx_;
  // Waits for operations in flight (FUSE may still be answering forgets
  // while the kernel's destroy arrives); later ones see `unmounted`.
  std::unique_lock<std::shared_mutex> gate(fs.op_gate);
  if (fs.unmounted.exchange(true)) return Status::Ok();
  Status result;
  auto note = [&result](Status st) {
    if (result.ok() && !st.ok()) result = st;
  };
  if (!fs.read_only && !fs.journal->aborted()) {
    note(fs.cache->SyncAll());
    // Inodes unlinked but still referenced by the kernel are freed now; what
    // fails stays on the orphan list for the next mount.
    for (auto& inode : fs.icache->All()) {
      inode->nlookup.store(0);
      inode->opens.store(0);
      fs.icache->MaybeFree(inode);
    }
    auto handle = fs.journal->Start(kSuperblockCredits, "unmount");
    if (handle.ok()) {
      std::lock_guard<std::mutex> lock(fs.sb_mu);
      if (result.ok()) fs.sb.state |= format::kStateClean;
      note(fs.WriteSuperblockLocked(**handle));
      note((*handle)->Stop());
    } else {
      note(handle.status());
    }
  }
  fs.icache.reset();  // every mapping, before the page cache
  note(fs.journal->Close());
  if (!fs.read_only) note(fs.dev->Flush());
  return result;
}

Result<FsStats> Filesystem::StatFs() {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  FsContext& fs = *ctx_;
  FsStats s;
  s.block_size = fs.block_size;
  s.blocks = fs.layout.blocks_count;
  s.free_blocks = fs.alloc->free_blocks();
  const uint64_t reserved = fs.alloc->reserved_blocks();
  s.avail_blocks = s.free_blocks > reserved ? s.free_blocks - reserved : 0;
  s.inodes = fs.layout.inodes_count;
  s.free_inodes = fs.alloc->free_inodes();
  s.name_max = 255;
  return s;
}

void Filesystem::Forget(uint64_t ino, uint64_t nlookup) {
  OpGate gate(*ctx_);
  if (!gate.ok()) return;
  if (ctx_->unmounted.load()) return;
  ctx_->icache->Forget(ino, nlookup);
}

Result<Attr> Filesystem::GetAttr(uint64_t ino) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  return inode->GetAttr();
}

Status Filesystem::Open(uint64_t ino) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  inode->opens.fetch_add(1);
  return Status::Ok();
}

void Filesystem::Release(uint64_t ino) {
  OpGate gate(*ctx_);
  if (!gate.ok()) return;
  if (ctx_->unmounted.load()) return;
  ctx_->icache->Release(ino);
}

Result<size_t> Filesystem::Read(uint64_t ino, uint64_t offset, std::span<uint8_t> out) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  return inode->Read(offset, out);
}

Result<size_t> Filesystem::Write(uint64_t ino, uint64_t offset, std::span<const uint8_t> data) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  RETURN_IF_ERROR(ctx_->CheckWritable());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  return inode->Write(offset, data);
}

Status Filesystem::Fsync(uint64_t ino, bool datasync) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  if (ctx_->read_only) return Status::Ok();
  if (!inode->is_reg()) return ctx_->journal->ForceCommit(std::max<uint64_t>(inode->last_tid(), 1));
  return inode->Fsync(datasync);
}

Status Filesystem::FsyncDir(uint64_t ino) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  if (ctx_->read_only) return Status::Ok();
  return ctx_->journal->ForceCommit(std::max<uint64_t>(inode->last_tid(), 1));
}

Status Filesystem::Flush(uint64_t ino) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  if (Mapping* m = inode->mapping()) {
    // close(2) reports an error a background writeback met (like NFS/fuse do);
    // it stays reported for fsync too.
    Status err = m->TakeError();
    if (!err.ok()) {
      m->SetError(err);
      return err;
    }
  }
  return Status::Ok();
}

Status Filesystem::Fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  RETURN_IF_ERROR(ctx_->CheckWritable());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  if (inode->is_dir()) return Status::Error(EISDIR, "fallocate on a directory");
  if (!inode->is_reg()) return Status::Error(ENODEV, "fallocate on a special file");
  std::unique_lock<std::shared_mutex> rw(inode->rw);
  return inode->Fallocate(mode, offset, length);
}

Result<uint64_t> Filesystem::Lseek(uint64_t ino, uint64_t offset, int whence) {
  OpGate gate(*ctx_);
  RETURN_IF_ERROR(gate.status());
  ASSIGN_OR_RETURN(auto inode, GetInode(*ctx_, ino));
  if (!inode->is_reg()) return Status::Error(EINVAL, "lseek data/hole on a non-regular file");
  return inode->Lseek(offset, whence);
}

}  // namespace foliofs::fs
