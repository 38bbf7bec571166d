// FsContext: everything one mounted filesystem shares — device, geometry,
// journal, allocator, page cache, inode cache, superblock — and the few
// filesystem-wide services the inode and namespace code build on (inode
// records in the inode table, the superblock buffer, the orphan list).
// Internal to fs/ (the public header is fs/filesystem.h).
//
// Locks here (fs/LOCKING.md has the global order):
//   sb_mu           the in-memory superblock `sb` (orphan_head, state, times,
//                   counters) and block 0's buffer contents; held across
//                   GetWriteAccess/DirtyMetadata of block 0. Leaf except for
//                   journal internals.
//   orphan_mu       the orphan list (in-memory mirror + on-disk links).
//                   Order: Inode::meta_mu of the inodes involved are taken
//                   one at a time under it; orphan_mu → itable stripe → sb_mu.
//   itable stripe   one of kItableStripes mutexes, by inode-table block:
//                   that buffer's contents while a record is re-encoded into
//                   it (so a journal freeze copy never sees half a record).
//                   Taken under Inode::meta_mu; leaf except for journal internals.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "fs/allocator.h"
#include "fs/extent_tree.h"
#include "fs/filesystem.h"
#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/blockdev/block_device.h"
#include "pagecache/page_cache.h"

namespace foliofs::fs {

class Inode;
class InodeCache;
class XattrBlockSource;  // fs/xattr_store.h

// Credits for one inode record / the superblock / one orphan list change.
inline constexpr int kInodeCredits = 1;
inline constexpr int kSuperblockCredits = 1;
// Add: superblock or old head's predecessor is not touched (we push at the
// head): the inode + superblock. Remove: the inode + its predecessor (an
// inode record) or the superblock.
inline constexpr int kOrphanCredits = 2;

// NodeAllocator over the block allocator: extent-tree nodes, directory
// blocks and xattr blocks are kMetadata (they may use the reserve; frees are
// revoked).
class MetadataBlocks final : public NodeAllocator {
 public:
  explicit MetadataBlocks(Allocator& alloc) : alloc_(alloc) {}
  Result<uint64_t> AllocNode(journal::Handle& handle, uint64_t goal) override;
  Status FreeNode(journal::Handle& handle, uint64_t blocknr) override;

 private:
  Allocator& alloc_;
};

struct FsContext {
  FsContext();
  ~FsContext();

  std::string device_name;
  std::unique_ptr<BlockDevice> dev;
  MountOptions options;
  bool read_only = false;
  format::Layout layout;
  uint32_t block_size = 0;
  uint32_t seed = 0;  // csum seed
  std::array<uint8_t, 16> hash_seed{};
  std::unique_ptr<journal::Journal> journal;
  std::unique_ptr<Allocator> alloc;
  std::unique_ptr<MetadataBlocks> meta_blocks;
  std::unique_ptr<XattrBlockSource> xattr_blocks;  // over alloc, kMetadata
  std::unique_ptr<PageCache> cache;
  std::unique_ptr<InodeCache> icache;
  std::atomic<bool> unmounted{false};
  // Every Filesystem operation holds it shared (OpGate); Unmount exclusive,
  // so the inode cache and journal are never torn down under an operation.
  std::shared_mutex op_gate;
  // Serialises renames (the VFS's s_vfs_rename_mutex): with it held, the
  // directory tree's shape cannot change, so ancestry checks hold.
  std::mutex rename_mu;

  std::mutex sb_mu;
  format::Superblock sb;  // GUARDED_BY(sb_mu)

  // ---- inode records (fs/inode_record.cc) ----
  static constexpr size_t kItableStripes = 64;
  std::array<std::mutex, kItableStripes> itable_mu;
  // Block of the inode table holding `ino`, and the record's byte offset in it.
  uint64_t InodeBlock(uint64_t ino, size_t* offset) const;
  // Reads and decodes a record (EUCLEAN naming the inode on a bad record;
  // ENOENT-like ESTALE for a zero record or an inode whose bitmap bit is clear
  // is the caller's judgement).
  Result<format::Inode> ReadInodeRecord(uint64_t ino);
  // Encodes `rec` into its inode-table buffer inside `handle` (1 credit).
  Status WriteInodeRecord(journal::Handle& handle, const format::Inode& rec);

  // ---- superblock (fs/superblock.cc) ----
  // Re-encodes `sb` into block 0's buffer inside `handle` (1 credit). Caller
  // holds sb_mu.
  Status WriteSuperblockLocked(journal::Handle& handle);

  // ---- orphan list (fs/orphan.cc; FORMAT.md §11) ----
  // Pushes `inode` at the head of the list (sets ORPHAN, orphan_next) and
  // writes the inode record and the superblock in `handle`
  // (kOrphanCredits). No-op if already listed.
  Status OrphanAdd(journal::Handle& handle, Inode& inode);
  // Unlinks `inode` from the list (clears ORPHAN), rewriting its predecessor
  // (inode record or superblock) and the inode in `handle`
  // (kOrphanCredits). No-op if not listed.
  Status OrphanRemove(journal::Handle& handle, Inode& inode);
  std::mutex orphan_mu;
  std::list<uint64_t> orphans;  // GUARDED_BY(orphan_mu): head first, mirrors the disk

  // Wall-clock time for timestamps.
  static format::Timespec Now();
  // EROFS when mounted read-only or the journal aborted.
  Status CheckWritable() const;
};

// Holds FsContext::op_gate shared for one Filesystem operation; status() is
// EIO once the filesystem is unmounted.
class OpGate {
 public:
  explicit OpGate(FsContext& fs) : lock_(fs.op_gate), ok_(!fs.unmounted.load()) {}
  bool ok() const { return ok_; }
  Status status() const {
    return ok_ ? Status::Ok() : Status::Error(EIO, "filesystem unmounted");
  }

 private:
  std::shared_lock<std::shared_mutex> lock_;
  bool ok_;
};

}  // namespace foliofs::fs
