// Inode: construction, record I/O and attributes (inode.h). The data path is
// in inode_data.cc / inode_truncate.cc / inode_fallocate.cc.
#include "fs/inode.h"

#include <sys/stat.h>

#include "pagecache/page_cache.h"

namespace foliofs::fs {

Inode::Inode(FsContext& fs, const format::Inode& rec)
    : fs_(fs), ino_(rec.ino), type_(rec.mode & S_IFMT), rec_(rec) {
  size_.store(rec.size, std::memory_order_relaxed);
}

Inode::~Inode() {
  // The mapping goes first, while every member its flusher callbacks may
  // still reach (tree_, rec_, sizes) is alive: ~Mapping waits for a flusher
  // or reclaimer that pinned it, and that flusher may call back into this
  // inode — through mapping_, which must therefore still point at the
  // mapping while it is destroyed (unique_ptr::reset would null it first).
  // The cache only destroys clean inodes (or freed ones, whose folios were
  // truncated).
  if (mapping_ != nullptr) {
    delete mapping_.get();
    (void)mapping_.release();
  }
}

bool Inode::is_dir() const { return type_ == S_IFDIR; }
bool Inode::is_reg() const { return type_ == S_IFREG; }
bool Inode::is_symlink() const { return type_ == S_IFLNK; }

Status Inode::Init() {
  // Devices, FIFOs, sockets and inline symlinks have no extent tree: their
  // i_block holds the device number or the target.
  const bool has_tree = is_reg() || is_dir() ||
                        (is_symlink() && (rec_.flags & format::kInodeFlagInlineData) == 0);
  if (has_tree) {
    tree_ = std::make_unique<ExtentTree>(*fs_.journal, *fs_.meta_blocks, ino_, fs_.seed,
                                         fs_.block_size, rec_.i_block);
    RETURN_IF_ERROR(tree_->Load().WithContext("inode " + std::to_string(ino_)));
  }
  if (is_reg()) {
    ASSIGN_OR_RETURN(mapping_, fs_.cache->NewMapping(fs_.block_size, this));
  }
  return Status::Ok();
}

void Inode::NoteTid(uint64_t tid) {
  uint64_t seen = last_tid_.load(std::memory_order_relaxed);
  while (tid > seen && !last_tid_.compare_exchange_weak(seen, tid, std::memory_order_acq_rel)) {
  }
}

Status Inode::WriteRecord(journal::Handle& handle) {
  std::lock_guard<std::mutex> lock(meta_mu);
  RETURN_IF_ERROR(fs_.WriteInodeRecord(handle, rec_));
  NoteTid(handle.tid());
  return Status::Ok();
}

void Inode::SyncRoot() {
  if (!tree_) return;
  std::lock_guard<std::mutex> lock(meta_mu);
  rec_.i_block = tree_->root();
  tree_->clear_root_dirty();
}

Attr Inode::GetAttr() const {
  std::lock_guard<std::mutex> lock(meta_mu);
  return AttrFromRecord(rec_, is_reg() ? size() : rec_.size, fs_.block_size);
}

Attr AttrFromRecord(const format::Inode& rec, uint64_t size, uint32_t block_size) {
  Attr a;
  a.ino = rec.ino;
  a.generation = rec.generation;
  a.mode = rec.mode;
  a.nlink = rec.nlink;
  a.uid = rec.uid;
  a.gid = rec.gid;
  const uint32_t type = rec.mode & S_IFMT;
  if (type == S_IFCHR || type == S_IFBLK) {
    uint64_t rdev = 0;
    for (int i = 0; i < 8; ++i) rdev |= uint64_t{rec.i_block[i]} << (8 * i);
    a.rdev = rdev;
  }
  a.size = size;
  a.blocks = rec.blocks * (block_size / 512);
  a.blksize = block_size;
  a.atime = rec.atime;
  a.mtime = rec.mtime;
  a.ctime = rec.ctime;
  a.crtime = rec.crtime;
  return a;
}

}  // namespace foliofs::fs
