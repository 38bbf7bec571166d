// Shared namespace helpers (namespace_internal.h).
#include <sys/stat.h>

#include "fs/namespace_internal.h"

namespace foliofs::fs {

Result<std::shared_ptr<Inode>> GetInode(FsContext& fs, uint64_t ino) {
  if (fs.unmounted.load(std::memory_order_acquire)) {
    return Status::Error(EIO, "filesystem unmounted");
  }
  return fs.icache->Get(ino);
}

Result<std::shared_ptr<Inode>> GetDir(FsContext& fs, uint64_t ino) {
  ASSIGN_OR_RETURN(auto inode, GetInode(fs, ino));
  if (!inode->is_dir()) {
    return Status::Error(ENOTDIR, "inode " + std::to_string(ino) + " is not a directory");
  }
  return inode;
}

uint32_t InodeDirStorage::block_count() const {
  std::lock_guard<std::mutex> lock(dir_.meta_mu);
  return static_cast<uint32_t>(dir_.rec().size / fs_.block_size);
}

Result<uint64_t> InodeDirStorage::PhysicalBlock(uint32_t lblk) {
  std::shared_lock<std::shared_mutex> map(dir_.map_mu);
  ASSIGN_OR_RETURN(ExtentLookup found, dir_.tree()->Lookup(lblk));
  if (!found.extent || found.extent->unwritten) {
    return Status::Error(EUCLEAN, "directory " + std::to_string(dir_.ino()) + ": block " +
                                      std::to_string(lblk) + " is not mapped");
  }
  return found.extent->physical + (lblk - found.extent->logical);
}

int InodeDirStorage::AppendCredits() const {
  std::shared_lock<std::shared_mutex> map(dir_.map_mu);
  return ExtentTree::CreditsPerChange(dir_.tree()->depth()) + Allocator::kCreditsPerGroup +
         kInodeCredits;
}

Result<uint64_t> InodeDirStorage::AppendBlock(journal::Handle& handle) {
  const uint32_t n = block_count();
  if (n == UINT32_MAX) return Status::Error(ENOSPC, "directory has the maximum size");
  std::unique_lock<std::shared_mutex> map(dir_.map_mu);
  ExtentTree& tree = *dir_.tree();
  uint64_t goal = fs_.alloc->GoalForInode(dir_.ino());
  if (n > 0) {
    ASSIGN_OR_RETURN(ExtentLookup prev, tree.Lookup(n - 1));
    if (prev.extent) goal = prev.extent->physical + (n - 1 - prev.extent->logical) + 1;
  }
  ASSIGN_OR_RETURN(BlockRun run, fs_.alloc->AllocBlocks(handle, goal, 1, 1, AllocKind::kMetadata));
  const uint64_t nodes_before = tree.node_blocks();
  format::Extent e;
  e.logical = n;
  e.physical = run.start;
  e.length = 1;
  Status st = tree.Insert(handle, e);
  if (!st.ok()) {
    Status undo = fs_.alloc->FreeBlocks(handle, run.start, 1, AllocKind::kMetadata);
    if (!undo.ok()) fs_.journal->Abort(undo);
    return st;
  }
  dir_.bump_seq();
  {
    std::lock_guard<std::mutex> lock(dir_.meta_mu);
    dir_.rec().i_block = tree.root();
    dir_.rec().size += fs_.block_size;
    dir_.rec().blocks += 1 + tree.node_blocks() - nodes_before;
  }
  tree.clear_root_dirty();
  map.unlock();
  RETURN_IF_ERROR(dir_.WriteRecord(handle));
  return run.start;
}

format::FileType TypeOfMode(uint32_t mode) { return format::FileTypeFromMode(mode); }

uint32_t ModeOfType(format::FileType type) {
  switch (type) {
    case format::FileType::kRegular: return S_IFREG;
    case format::FileType::kDirectory: return S_IFDIR;
    case format::FileType::kCharDev: return S_IFCHR;
    case format::FileType::kBlockDev: return S_IFBLK;
    case format::FileType::kFifo: return S_IFIFO;
    case format::FileType::kSocket: return S_IFSOCK;
    case format::FileType::kSymlink: return S_IFLNK;
    default: return 0;
  }
}

Status CheckName(std::string_view name) {
  if (name.size() > 255) return Status::Error(ENAMETOOLONG, "name longer than 255 bytes");
  if (name.empty() || name == "." || name == "..") {
    return Status::Error(EINVAL, "invalid name");
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status::Error(EINVAL, "name contains '/' or NUL");
  }
  return Status::Ok();
}

int TreeChangeCredits(Inode& inode) {
  std::shared_lock<std::shared_mutex> map(inode.map_mu);
  const uint32_t depth = inode.tree() ? inode.tree()->depth() : 0;
  return ExtentTree::CreditsPerChange(depth) + Allocator::kCreditsPerGroup;
}

}  // namespace foliofs::fs
