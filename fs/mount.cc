// Filesystem::Mount (filesystem.h): superblock checks with clear errors,
// journal replay, allocator and caches, the orphan list, the mount stamp.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "fs/filesystem.h"
#include "fs/fs_context.h"
#include "fs/inode.h"
#include "fs/inode_cache.h"
#include "fs/xattr_store.h"
#include "pagecache/base/log.h"

namespace foliofs::fs {

namespace {

class MetadataXattrBlocks final : public XattrBlockSource {
 public:
  explicit MetadataXattrBlocks(Allocator& alloc) : alloc_(alloc) {}
  Result<uint64_t> AllocBlock(journal::Handle& handle, uint64_t goal) override {
    ASSIGN_OR_RETURN(BlockRun run, alloc_.AllocBlocks(handle, goal, 1, 1, AllocKind::kMetadata));
    return run.start;
  }
  Status FreeBlock(journal::Handle& handle, uint64_t blocknr) override {
    return alloc_.FreeBlocks(handle, blocknr, 1, AllocKind::kMetadata);
  }
  int AllocCredits() const override { return Allocator::kCreditsPerGroup; }
  int FreeCredits() const override { return Allocator::kCreditsPerGroup + 1; }

 private:
  Allocator& alloc_;
};

// The superblock as found on the device, judged before anything else reads it.
Result<format::Superblock> CheckSuperblock(BlockDevice& dev, const std::string& name,
                                           bool* read_only) {
  auto sb = format::ReadSuperblock(dev);
  if (!sb.ok()) {
    return Status::Error(sb.err() == EIO ? EIO : EUCLEAN,
                         name + ": not a valid foliofs filesystem: " + sb.status().message());
  }
  std::string why;
  switch (format::CheckFeatures(*sb, &why)) {
    case format::MountMode::kRefuse:
      return Status::Error(EOPNOTSUPP, name + ": unsupported incompatible features: " + why);
    case format::MountMode::kReadOnly:
      if (!*read_only) {
        return Status::Error(EROFS, name + ": unsupported read-only-compatible features (" + why +
                                        "): mount with -o ro");
      }
      break;
    case format::MountMode::kReadWrite:
      break;
  }
  const uint64_t bytes = sb->blocks_count * sb->block_size();
  if (bytes > dev.size_bytes()) {
    return Status::Error(EINVAL, name + ": device has " + std::to_string(dev.size_bytes()) +
                                     " bytes, the filesystem records " + std::to_string(bytes));
  }
  return sb;
}

// The daemon's cache budget, cache_size, split between the two caches so that
// together they stay within it: clean metadata buffers (journal BufferCache)
// get an eighth of it — at least 64 buffers, at most options.metadata_buffers
// — and the page cache's folios the rest (never under the page cache's 1 MiB
// minimum). With the default 256 MiB and 4 KiB blocks: 8192 metadata buffers
// (32 MiB) and 224 MiB of folios. What the budget does not cover (per-folio
// and per-inode objects, buffers pinned by the journal, FUSE request buffers,
// thread stacks) is listed in pagecache/folio_memory.h.
struct CacheBudget {
  size_t metadata_buffers;
  uint64_t page_cache_bytes;
};

CacheBudget SplitCacheBudget(const MountOptions& options, uint32_t block_size) {
  const uint64_t bs = block_size;
  const uint64_t meta = std::min<uint64_t>(std::max<uint64_t>(options.cache_size / 8 / bs, 64),
                                           options.metadata_buffers);
  const uint64_t min_pages = 1ull << 20;
  const uint64_t pages =
      options.cache_size > meta * bs + min_pages ? options.cache_size - meta * bs : min_pages;
  return CacheBudget{static_cast<size_t>(meta), pages};
}

}  // namespace

Result<std::unique_ptr<Filesystem>> Filesystem::Mount(std::unique_ptr<BlockDevice> device,
                                                      std::string device_name,
                                                      const MountOptions& options) {
  auto ctx = std::make_unique<FsContext>();
  ctx->device_name = std::move(device_name);
  ctx->options = options;
  ctx->read_only = options.read_only;
  ctx->dev = std::move(device);
  const std::string& name = ctx->device_name;
  ASSIGN_OR_RETURN(format::Superblock sb0, CheckSuperblock(*ctx->dev, name, &ctx->read_only));
  auto layout = format::LayoutFromSuperblock(sb0);
  if (!layout.ok()) return layout.status().WithContext(name);
  ctx->layout = *layout;
  ctx->block_size = sb0.block_size();
  ctx->seed = sb0.checksum_seed;
  ctx->hash_seed = sb0.hash_seed;

  journal::JournalOptions jo;
  jo.first_block = sb0.journal_first_block;
  jo.num_blocks = sb0.journal_blocks;
  jo.block_size = ctx->block_size;
  jo.uuid = sb0.uuid;
  jo.commit_interval = options.commit_interval;
  const CacheBudget budget = SplitCacheBudget(options, ctx->block_size);
  jo.max_clean_buffers = budget.metadata_buffers;
  jo.read_only = ctx->read_only;
  auto journal = journal::Journal::Open(*ctx->dev, jo);
  if (!journal.ok()) return journal.status().WithContext(name + ": journal");
  ctx->journal = std::move(*journal);
  const auto& ri = ctx->journal->recovery_info();
  if (ri.transactions_replayed > 0) {
    GetLogger("fs")->info("{}: journal replayed {} transactions ({} blocks)", name,
                          ri.transactions_replayed, ri.blocks_replayed);
  }
  // Replay may have rewritten block 0: read the superblock through the journal.
  {
    ASSIGN_OR_RETURN(journal::BufferRef b0, ctx->journal->buffers().Read(0));
    auto sb = format::Superblock::Decode(b0->data());
    if (!sb.ok()) return sb.status().WithContext(name + ": superblock after journal replay");
    ctx->sb = *sb;
  }
  auto alloc = Allocator::Load(*ctx->journal, ctx->sb, ctx->layout);
  if (!alloc.ok()) return alloc.status().WithContext(name + ": run fsck.foliofs");
  ctx->alloc = std::move(*alloc);
  ctx->meta_blocks = std::make_unique<MetadataBlocks>(*ctx->alloc);
  ctx->xattr_blocks = std::make_unique<MetadataXattrBlocks>(*ctx->alloc);
  PageCacheOptions po;
  po.cache_size = budget.page_cache_bytes;
  po.flusher_threads = options.flusher_threads;
  ASSIGN_OR_RETURN(ctx->cache, PageCache::Create(po));
  ctx->icache = std::make_unique<InodeCache>(*ctx);

  ASSIGN_OR_RETURN(std::shared_ptr<Inode> root, ctx->icache->Get(ctx->sb.root_ino));
  if (!root->is_dir()) return Status::Error(EUCLEAN, name + ": the root inode is not a directory");
  root->nlookup.fetch_add(1);  // the kernel's root reference, never forgotten

  std::unique_ptr<Filesystem> fs(new Filesystem(std::move(ctx)));
  if (!fs->ctx_->read_only) RETURN_IF_ERROR(fs->ProcessOrphans());
  if (!fs->ctx_->read_only) RETURN_IF_ERROR(fs->StampMount());
  return fs;
}

Status Filesystem::ProcessOrphans() {
  FsContext& fs = *ctx_;
  // Load the list as the disk has it (cycle-safe: bounded by inode count).
  uint64_t ino = fs.sb.orphan_head;
  for (uint64_t n = 0; ino != 0; ++n) {
    if (n > fs.layout.inodes_count) return Status::Error(EUCLEAN, "orphan list has a cycle");
    ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, fs.icache->Get(ino));
    fs.orphans.push_back(ino);
    std::lock_guard<std::mutex> meta(inode->meta_mu);
    ino = inode->rec().orphan_next;
  }
  const std::vector<uint64_t> list(fs.orphans.begin(), fs.orphans.end());
  for (uint64_t o : list) {
    ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, fs.icache->Get(o));
    uint32_t nlink = 0;
    {
      std::lock_guard<std::mutex> meta(inode->meta_mu);
      nlink = inode->rec().nlink;
    }
    if (nlink == 0) {
      GetLogger("fs")->info("{}: freeing orphan inode {}", fs.device_name, o);
      fs.icache->MaybeFree(inode);
      continue;
    }
    // An interrupted truncate: finish it, then take it off the list.
    GetLogger("fs")->info("{}: completing truncate of inode {}", fs.device_name, o);
    const uint64_t bs = fs.block_size;
    RETURN_IF_ERROR(inode->TruncateBlocks((inode->size() + bs - 1) / bs));
    ASSIGN_OR_RETURN(auto handle, fs.journal->Start(kOrphanCredits, "orphan cleanup"));
    Status st = fs.OrphanRemove(*handle, *inode);
    Status stop = handle->Stop();
    RETURN_IF_ERROR(st);
    RETURN_IF_ERROR(stop);
  }
  return Status::Ok();
}

Status Filesystem::StampMount() {
  FsContext& fs = *ctx_;
  ASSIGN_OR_RETURN(auto handle, fs.journal->Start(kSuperblockCredits, "mount"));
  Status st;
  {
    std::lock_guard<std::mutex> lock(fs.sb_mu);
    fs.sb.state &= static_cast<uint16_t>(~format::kStateClean);
    fs.sb.mount_time = FsContext::Now().sec;
    fs.sb.mount_count += 1;
    st = fs.WriteSuperblockLocked(*handle);
  }
  const uint64_t tid = handle->tid();
  Status stop = handle->Stop();
  RETURN_IF_ERROR(st);
  RETURN_IF_ERROR(stop);
  return fs.journal->ForceCommit(tid);
}

}  // namespace foliofs::fs
