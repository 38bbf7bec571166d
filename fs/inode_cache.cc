// InodeCache (inode_cache.h): one Inode per number, lookup/open counting,
// freeing unlinked inodes at last use.
#include "fs/inode_cache.h"

#include <sys/stat.h>

#include "fs/xattr_store.h"
#include "pagecache/base/log.h"

namespace foliofs::fs {

namespace {
// Unused, clean, linked inodes beyond this many are dropped by Trim.
constexpr size_t kTrimThreshold = 65536;
constexpr uint64_t kTrimEvery = 4096;
}  // namespace

Result<std::shared_ptr<Inode>> InodeCache::Get(uint64_t ino) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(ino);
    if (it != map_.end()) {
      if (it->second->dead.load()) {
        return Status::Error(ESTALE, "inode " + std::to_string(ino) + " was freed");
      }
      return it->second;
    }
  }
  // Load outside mu_ (I/O); a racing loader of the same inode loses below.
  ASSIGN_OR_RETURN(format::Inode rec, fs_.ReadInodeRecord(ino));
  if (rec.mode == 0) return Status::Error(ESTALE, "inode " + std::to_string(ino) + " is free");
  auto inode = std::make_shared<Inode>(fs_, rec);
  RETURN_IF_ERROR(inode->Init());
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = map_.emplace(ino, inode);
  if (it->second->dead.load()) {
    return Status::Error(ESTALE, "inode " + std::to_string(ino) + " was freed");
  }
  return it->second;
}

Result<std::shared_ptr<Inode>> InodeCache::Insert(const format::Inode& rec) {
  auto inode = std::make_shared<Inode>(fs_, rec);
  RETURN_IF_ERROR(inode->Init());
  std::lock_guard<std::mutex> lock(mu_);
  map_[rec.ino] = inode;
  return inode;
}

void InodeCache::Forget(uint64_t ino, uint64_t n) {
  std::shared_ptr<Inode> inode;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(ino);
    if (it == map_.end()) return;
    inode = it->second;
  }
  uint64_t cur = inode->nlookup.load();
  while (!inode->nlookup.compare_exchange_weak(cur, cur >= n ? cur - n : 0)) {
  }
  MaybeFree(inode);
  // Trim is a full scan: do it once per kTrimEvery forgets, and only when big.
  if (forgets_.fetch_add(1, std::memory_order_relaxed) % kTrimEvery == 0 &&
      size() > kTrimThreshold) {
    Trim();
  }
}

void InodeCache::Release(uint64_t ino) {
  std::shared_ptr<Inode> inode;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(ino);
    if (it == map_.end()) return;
    inode = it->second;
  }
  if (inode->opens.load() > 0) inode->opens.fetch_sub(1);
  MaybeFree(inode);
}

void InodeCache::MaybeFree(const std::shared_ptr<Inode>& inode) {
  if (inode->nlookup.load() != 0 || inode->opens.load() != 0) return;
  {
    std::lock_guard<std::mutex> lock(inode->meta_mu);
    if (inode->rec().nlink != 0) return;
  }
  if (fs_.read_only) return;  // the orphan list frees it at the next rw mount
  // Claim it: only one thread frees. The inode stays in the map while it is
  // freed, so a Get of it meanwhile (the orphan list rewriting its
  // predecessor's link) finds this object and never loads a second copy
  // whose record would go stale.
  bool expected = false;
  if (!inode->freeing.compare_exchange_strong(expected, true)) return;
  Status st = FreeInode(*inode);
  if (!st.ok()) {
    GetLogger("fs")->error("freeing unlinked inode {}: {} (it stays on the orphan list)",
                           inode->ino(), st.ToString());
    inode->freeing.store(false);
    return;
  }
  inode->dead.store(true);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(inode->ino());
  if (it != map_.end() && it->second == inode) map_.erase(it);
}

Status InodeCache::FreeInode(Inode& inode) {
  std::unique_lock<std::shared_mutex> rw(inode.rw);
  if (Mapping* m = inode.mapping()) m->TruncateRange(0, UINT64_MAX);
  RETURN_IF_ERROR(inode.TruncateBlocks(0));
  XattrStore xattrs(*fs_.journal, *fs_.xattr_blocks, fs_.seed, fs_.block_size);
  const int credits = xattrs.SetCredits() + Allocator::kCreditsPerGroup + kOrphanCredits +
                      kInodeCredits;
  ASSIGN_OR_RETURN(auto handle, fs_.journal->Start(credits, "free inode"));
  Status st;
  {
    std::lock_guard<std::mutex> lock(inode.meta_mu);
    st = xattrs.FreeAll(*handle, inode.rec());
  }
  if (st.ok()) st = fs_.OrphanRemove(*handle, inode);
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(inode.meta_mu);
    inode.rec().mode = 0;  // a free record: the bitmap is authoritative, this helps fsck
  }
  if (st.ok()) st = inode.WriteRecord(*handle);
  if (st.ok()) st = fs_.alloc->FreeInode(*handle, inode.ino(), inode.is_dir());
  Status stop = handle->Stop();
  return st.ok() ? stop : st;
}

void InodeCache::Trim() {
  std::vector<std::shared_ptr<Inode>> drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = map_.begin(); it != map_.end();) {
      Inode& inode = *it->second;
      const bool unused = it->second.use_count() == 1 && inode.nlookup.load() == 0 &&
                          inode.opens.load() == 0;
      const bool clean = inode.mapping() == nullptr ||
                         (inode.mapping()->dirty_count() == 0 &&
                          !inode.mapping()->RangeNeedsWriteback(0, UINT64_MAX));
      if (unused && clean && inode.ino() != fs_.sb.root_ino) {
        drop.push_back(std::move(it->second));
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Destroyed here, outside mu_ (~Mapping may wait for a flusher).
}

std::vector<std::shared_ptr<Inode>> InodeCache::All() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Inode>> out;
  out.reserve(map_.size());
  for (auto& [ino, inode] : map_) out.push_back(inode);
  return out;
}

size_t InodeCache::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

void InodeCache::Evict(const std::shared_ptr<Inode>& inode) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(inode->ino());
  if (it != map_.end() && it->second == inode) map_.erase(it);
}

}  // namespace foliofs::fs
