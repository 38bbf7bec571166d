// Helpers shared by the namespace operations (namespace_*.cc, attr.cc,
// filesystem.cc). Internal to fs/.
#pragma once

#include <memory>
#include <string_view>

#include "fs/directory.h"
#include "fs/fs_context.h"
#include "fs/inode.h"
#include "fs/inode_cache.h"

namespace foliofs::fs {

// The inode, or EIO after unmount / ESTALE for a free inode.
Result<std::shared_ptr<Inode>> GetInode(FsContext& fs, uint64_t ino);
// The inode if it is a directory, ENOTDIR otherwise.
Result<std::shared_ptr<Inode>> GetDir(FsContext& fs, uint64_t ino);

// A directory's blocks are its extent tree's, appended one at a time as
// kMetadata blocks (FORMAT.md §8: contiguous from logical block 0, written
// extents, size = blocks · block_size). Callers hold the directory's rw lock
// (exclusive for AppendBlock).
class InodeDirStorage final : public DirStorage {
 public:
  InodeDirStorage(FsContext& fs, Inode& dir) : fs_(fs), dir_(dir) {}
  uint32_t block_count() const override;
  Result<uint64_t> PhysicalBlock(uint32_t lblk) override;
  Result<uint64_t> AppendBlock(journal::Handle& handle) override;
  int AppendCredits() const override;

 private:
  FsContext& fs_;
  Inode& dir_;
};

// A Directory over `dir` (which must be a directory inode).
struct DirView {
  DirView(FsContext& fs, Inode& dir)
      : storage(fs, dir),
        dir(*fs.journal, storage, dir.ino(), fs.seed, fs.hash_seed, fs.block_size) {}
  InodeDirStorage storage;
  Directory dir;
};

format::FileType TypeOfMode(uint32_t mode);
uint32_t ModeOfType(format::FileType type);
// ENAMETOOLONG / EINVAL for names a directory cannot hold.
Status CheckName(std::string_view name);

// Credits of one tree change that may also allocate a block: the tree's
// change bound plus the allocator's buffers.
int TreeChangeCredits(Inode& inode);

}  // namespace foliofs::fs
