// InodeCache: the in-memory inodes of one mount, by inode number. Internal to fs/.
//
// What it promises:
//  - At most one Inode object per inode number: Get loads the record on a
//    miss (EUCLEAN naming the inode for a damaged record, ESTALE for an
//    inode that is not in use) and every caller shares it.
//  - An inode stays cached while anyone holds a shared_ptr, the kernel holds
//    lookups (nlookup > 0), it is open, or its mapping has dirty or
//    writeback folios. Put() is called when a count drops; when nlookup and
//    opens are both 0:
//      * nlink == 0: the inode is freed — its blocks and xattr block
//        released (across handles if long; it is on the orphan list until
//        done), the inode returned to the allocator, removed from the list;
//      * otherwise it is dropped from the cache once clean (its dirty data
//        is written first by the flushers; Trim() drops clean unused ones).
//
// Lock: mu_ (the map) is a leaf; no inode lock is taken under it, and it is
// never held across I/O.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "fs/inode.h"
#include "pagecache/base/status.h"

namespace foliofs::fs {

class InodeCache {
 public:
  explicit InodeCache(FsContext& fs) : fs_(fs) {}

  Result<std::shared_ptr<Inode>> Get(uint64_t ino);
  // Adds a freshly created inode (its record already written in a handle).
  Result<std::shared_ptr<Inode>> Insert(const format::Inode& rec);
  // Drops `n` kernel lookups / one open; frees or evicts as described.
  void Forget(uint64_t ino, uint64_t n);
  void Release(uint64_t ino);
  // Frees `inode` now if it is unlinked and unused (after Unlink/Rmdir/Rename
  // dropped the last name).
  void MaybeFree(const std::shared_ptr<Inode>& inode);
  // Drops unused, clean, linked inodes (memory bound; unmount).
  void Trim();
  // Every cached inode (sync, unmount).
  std::vector<std::shared_ptr<Inode>> All();
  size_t size();

 private:
  void Evict(const std::shared_ptr<Inode>& inode);
  Status FreeInode(Inode& inode);

  FsContext& fs_;
  std::atomic<uint64_t> forgets_{0};
  std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Inode>> map_;  // GUARDED_BY(mu_)
};

}  // namespace foliofs::fs
