// Inode: one in-memory inode of a mounted foliofs — its record, its extent
// tree, its page-cache mapping (regular files) — and the filesystem's side of
// the iomap contract (fs/iomap/iomap.h). Internal to fs/.
//
// Locks (fs/LOCKING.md; take in this order, never the reverse):
//   rw        i_rwsem. Regular files: exclusive for write, truncate,
//             fallocate, setattr(size); shared for read, lseek. Directories:
//             exclusive to change entries, shared for lookup/readdir.
//             Writeback never takes it.
//   [folio locks]   (fs/iomap, ascending)
//   [journal handle start]   — a handle is started before map_mu is taken:
//             Start may wait for a commit, which waits for running handles.
//   map_mu    the extent tree (tree_) and seq_; exclusive to change the tree
//             (Begin(write) allocation, EndWriteback conversion, truncate,
//             punch), shared to look up (Begin(read), MapBlocks). Held while
//             Begin(kIomapZero) fills the folio batch (I2).
//   meta_mu   the record fields in rec_ (times, mode, owner, nlink, flags,
//             size as on disk, blocks, xattrs, orphan_next). Leaf except for
//             the itable stripe lock and journal internals. i_block in rec_
//             is written only with map_mu exclusive AND meta_mu held.
//
// Sizes: size_ is the in-memory i_size (atomic: read by writeback without
// rw). rec_.size is what is (or is about to be) on disk; they differ only
// inside a write/truncate, which brings rec_ up to date in a handle before it
// returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>

#include "fs/extent_tree.h"
#include "fs/filesystem.h"
#include "fs/fs_context.h"
#include "fs/format/format.h"
#include "fs/iomap/iomap.h"
#include "pagecache/pagecache.h"
#include "pagecache/readahead.h"

namespace foliofs::fs {

class Inode final : public IomapInode {
 public:
  // `rec` is a decoded, in-use record. Call Init() before anything else.
  Inode(FsContext& fs, const format::Inode& rec);
  ~Inode() override;
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;

  // Loads the extent tree (regular files, directories, symlinks without
  // INLINE_DATA) and creates the page-cache mapping (regular files).
  Status Init();

  FsContext& fs() { return fs_; }
  uint64_t ino() const { return ino_; }
  uint32_t type() const { return type_; }  // S_IFMT bits; never changes
  bool is_dir() const;
  bool is_reg() const;
  bool is_symlink() const;

  std::shared_mutex rw;
  std::shared_mutex map_mu;
  mutable std::mutex meta_mu;

  // ---- record (inode.cc) ----
  format::Inode& rec() { return rec_; }  // caller holds meta_mu
  // Writes rec_ (takes meta_mu) into the inode table in `handle`, and records
  // the handle's tid for fsync.
  Status WriteRecord(journal::Handle& handle);
  // Copies the tree's root into rec_.i_block (caller holds map_mu exclusive;
  // takes meta_mu). Call after a tree change, before WriteRecord.
  void SyncRoot();
  Attr GetAttr() const;  // takes meta_mu
  uint64_t last_tid() const { return last_tid_.load(std::memory_order_acquire); }
  void NoteTid(uint64_t tid);

  ExtentTree* tree() { return tree_.get(); }  // caller holds map_mu; null if inline

  // ---- references (InodeCache) ----
  std::atomic<uint64_t> nlookup{0};
  std::atomic<uint32_t> opens{0};
  // Set by the one thread that frees this unlinked inode (InodeCache::MaybeFree);
  // `dead` once it is free, so the cache never hands it out again.
  std::atomic<bool> freeing{false};
  std::atomic<bool> dead{false};

  // ---- data (inode_data.cc, inode_truncate.cc) ----
  // Read: rw shared (taken inside). Write: rw exclusive (taken inside),
  // allocates unwritten (I8), extends size (on disk in End's handle), updates
  // mtime/ctime. Both EISDIR/EINVAL for non-regular files.
  Result<size_t> Read(uint64_t offset, std::span<uint8_t> out);
  Result<size_t> Write(uint64_t offset, std::span<const uint8_t> data);
  // Writes dirty data (no handle), then forces the inode's last transaction.
  Status Fsync(bool datasync);
  // Caller holds rw exclusive. Truncate up: I6 zeroing of the old EOF block,
  // size grows (no blocks allocated). Truncate down: zero the new EOF block's
  // tail, drop cached folios past it, free the blocks past it across as many
  // handles as needed with the inode on the orphan list (FORMAT.md §11).
  // Updates mtime/ctime.
  Status Truncate(uint64_t new_size);
  // Caller holds rw exclusive. Modes: 0 and kFallocKeepSize (unwritten
  // preallocation; size grows without KEEP_SIZE, with I6); the others
  // EOPNOTSUPP (issue 5 adds punch and zero range).
  Status Fallocate(int mode, uint64_t offset, uint64_t length);
  // SEEK_DATA / SEEK_HOLE (rw shared, taken inside).
  Result<uint64_t> Lseek(uint64_t offset, int whence);
  // Removes every block (data, tree nodes) — for freeing an unlinked inode;
  // may span handles (the inode is on the orphan list). Caller holds rw
  // exclusive or is the last user.
  Status TruncateBlocks(uint64_t from_block);

  // ---- IomapInode ----
  Mapping& page_mapping() override { return *mapping_; }
  BlockDevice& device() override { return *fs_.dev; }
  uint64_t size() const override { return size_.load(std::memory_order_acquire); }
  Status Begin(IomapIter& iter) override;
  Status End(IomapIter& iter, uint64_t processed) override;
  bool IomapValid(const IomapIter& iter) override;
  Result<Iomap> MapBlocks(uint64_t pos, uint64_t len) override;
  Status EndWriteback(uint64_t pos, uint64_t len, const Iomap& map, Status io_status) override;
  void ExtendSize(uint64_t new_size) override;

  Mapping* mapping() { return mapping_.get(); }  // null unless regular
  void set_size(uint64_t size) { size_.store(size, std::memory_order_release); }
  uint64_t seq() const { return seq_.load(std::memory_order_acquire); }
  void bump_seq() { seq_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  FsContext& fs_;
  const uint64_t ino_;
  const uint32_t type_;
  format::Inode rec_;                  // GUARDED_BY(meta_mu)
  std::unique_ptr<ExtentTree> tree_;   // GUARDED_BY(map_mu)
  std::unique_ptr<Mapping> mapping_;
  std::atomic<uint64_t> size_{0};
  std::atomic<uint64_t> seq_{0};
  std::atomic<uint64_t> last_tid_{0};
  ReadaheadState ra_;
};

// Converts a record's times/mode/... into Attr (size from `size`).
Attr AttrFromRecord(const format::Inode& rec, uint64_t size, uint32_t block_size);

}  // namespace foliofs::fs
