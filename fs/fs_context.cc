// FsContext services (fs_context.h): inode records in the inode table, the
// superblock buffer, time, metadata blocks.
#include "fs/fs_context.h"

#include <time.h>

#include <cstring>

#include "fs/inode.h"
#include "fs/inode_cache.h"
#include "fs/xattr_store.h"

namespace foliofs::fs {

FsContext::FsContext() = default;
FsContext::~FsContext() = default;

Result<uint64_t> MetadataBlocks::AllocNode(journal::Handle& handle, uint64_t goal) {
  ASSIGN_OR_RETURN(BlockRun run, alloc_.AllocBlocks(handle, goal, 1, 1, AllocKind::kMetadata));
  return run.start;
}

Status MetadataBlocks::FreeNode(journal::Handle& handle, uint64_t blocknr) {
  return alloc_.FreeBlocks(handle, blocknr, 1, AllocKind::kMetadata);
}

uint64_t FsContext::InodeBlock(uint64_t ino, size_t* offset) const {
  const uint64_t index = ino - 1;
  const uint64_t group = index / layout.inodes_per_group;
  const uint64_t slot = index % layout.inodes_per_group;
  const uint64_t byte = slot * format::kInodeSize;
  *offset = static_cast<size_t>(byte % block_size);
  return layout.inode_table_start + group * layout.inode_table_blocks + byte / block_size;
}

Result<format::Inode> FsContext::ReadInodeRecord(uint64_t ino) {
  if (ino == 0 || ino > layout.inodes_count) {
    return Status::Error(ESTALE, "inode " + std::to_string(ino) + " out of range");
  }
  size_t off = 0;
  const uint64_t block = InodeBlock(ino, &off);
  ASSIGN_OR_RETURN(journal::BufferRef buf, journal->buffers().Read(block));
  std::array<uint8_t, format::kInodeSize> copy;
  {
    // The stripe lock keeps a concurrent WriteInodeRecord from being seen half done.
    std::lock_guard<std::mutex> lock(itable_mu[block % kItableStripes]);
    std::memcpy(copy.data(), buf->data() + off, copy.size());
  }
  if (format::InodeRecordIsZero(copy.data())) {
    return Status::Error(ESTALE, "inode " + std::to_string(ino) + " is not in use");
  }
  auto rec = format::Inode::Decode(copy.data(), seed, ino);
  if (!rec.ok()) return rec.status().WithContext("inode " + std::to_string(ino));
  return rec;
}

Status FsContext::WriteInodeRecord(journal::Handle& handle, const format::Inode& rec) {
  size_t off = 0;
  const uint64_t block = InodeBlock(rec.ino, &off);
  ASSIGN_OR_RETURN(journal::BufferRef buf, journal->buffers().Read(block));
  std::lock_guard<std::mutex> lock(itable_mu[block % kItableStripes]);
  RETURN_IF_ERROR(handle.GetWriteAccess(*buf));
  rec.Encode(seed, buf->data() + off);
  return handle.DirtyMetadata(*buf);
}

Status FsContext::WriteSuperblockLocked(journal::Handle& handle) {
  ASSIGN_OR_RETURN(journal::BufferRef buf, journal->buffers().Read(0));
  RETURN_IF_ERROR(handle.GetWriteAccess(*buf));
  sb.free_blocks_count = alloc->free_blocks();
  sb.free_inodes_count = alloc->free_inodes();
  sb.write_time = Now().sec;
  sb.Encode(buf->data());
  return handle.DirtyMetadata(*buf);
}

format::Timespec FsContext::Now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return format::Timespec{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

Status FsContext::CheckWritable() const {
  if (unmounted.load(std::memory_order_acquire)) return Status::Error(EIO, "filesystem unmounted");
  if (read_only) return Status::Error(EROFS, "mounted read-only");
  if (journal->aborted()) {
    return Status::Error(EROFS, "journal aborted: " + journal->error().ToString());
  }
  return Status::Ok();
}

}  // namespace foliofs::fs
