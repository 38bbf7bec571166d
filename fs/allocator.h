// Allocator: free-space and free-inode management over the block and inode
// bitmaps and the group descriptors (FORMAT.md §4, §5), every change journaled.
//
// What it promises:
//  - Blocks: AllocBlocks returns one contiguous run of min_len..max_len free
//    blocks inside one group. Search order (ext4 mballoc's goal + group scan,
//    simplified):
//      1. the run starting exactly at `goal`, if at least min_len long (so a
//         file growing sequentially stays contiguous);
//      2. the first run of max_len free blocks at or after the goal inside
//         the goal's group (wrapping inside the group), then in each next
//         group, wrapping around the filesystem;
//      3. otherwise the longest run (≥ min_len) of the first group, in the
//         same order, that has one.
//    max_len is clamped to blocks_per_group; min_len must be 1..max_len.
//    A goal outside the data area means "front_end". It never returns a
//    block of the front region, of a backup copy, one in use, or one freed
//    by a transaction that has not committed yet.
//  - Exact ENOSPC: kData allocations fail with ENOSPC once the free count
//    would fall below reserved_blocks(); kMetadata allocations (extent nodes,
//    directory blocks, xattr blocks) may use the reserve, so metadata and the
//    journal never run out first. "Free" here is what is allocatable now:
//    blocks waiting for their freeing transaction to commit do not count
//    until it has. A failed allocation changes no buffer and no counter
//    (the handle may still hold the bitmap buffer, unmodified, if the
//    descriptor's GetWriteAccess failed).
//  - Credits: one allocation or free touches at most
//    kCreditsPerGroup = 2 buffers (bitmap + descriptor block) per group it
//    touches; AllocBlocks and AllocInode/FreeInode touch exactly one group;
//    FreeBlocks of a run spanning g groups needs 2·g, plus one revoke
//    record per block (`length`) for kMetadata — FreeCredits() computes it,
//    and FreeBlocks refuses (ENOSPC, nothing changed) a handle with fewer
//    credits left, so a free is never half applied for lack of credits.
//  - Frees of metadata blocks (kMetadata) revoke each block in the journal,
//    so replay never writes a stale copy over data that reuses it.
//  - A block freed in transaction T is not handed out again until T has
//    committed (jbd2's rule, so a crash before T commits cannot leave the old
//    owner's metadata pointing at a new owner's data): freed blocks wait in
//    a per-group pending list tagged with T (their bitmap bits are cleared in
//    T, so descriptors and bitmaps always agree) and become allocatable when
//    journal.committed_tid() ≥ T; the release is lazy (next AllocBlocks or
//    Check after the commit).
//  - FreeBlocks validates before changing anything: a run outside
//    [front_end, blocks_count), overlapping a backup copy, or containing a
//    free block fails with EUCLEAN ("freeing free block N"). (A double free
//    racing with another thread's free of the same blocks is caught per
//    group; groups freed before the detection stay freed.)
//  - Inodes: AllocInode picks a free inode, near the parent directory's group
//    for files (first group from the parent's with a free inode), and for
//    new directories a group with at least the average number of free
//    inodes and the fewest directories (ties: more free blocks, then nearest
//    to the parent's group) — Orlov-lite. FreeInode returns it (EUCLEAN for
//    a reserved, out-of-range or already free inode). The record itself is
//    the caller's (fs/inode) to write.
//  - Counters: per-group free blocks/inodes and used_dirs in the descriptors
//    (journaled) and in memory (atomics, so statfs reads them without
//    locks); the superblock's totals are written by the fs at sync/unmount,
//    not per allocation.
//  - Load() checks every GDT and bitmap block (header, own block number,
//    checksum), the descriptors' locations, that the front region and the
//    backup copies are marked in use, and cross-checks every group's bitmaps
//    against its descriptor counts; it fails with EUCLEAN naming the group
//    when something disagrees (fsck repairs).
//
// Thread safety: all methods may be called concurrently. Locks (all internal):
//   group mutex (one per group): the group's bitmap buffers' contents, its
//       pending-free list, and changes to its counters. Held while scanning
//       and updating the group, including across GetWriteAccess/DirtyMetadata
//       of its buffers (so a journal freeze copy never sees half an update)
//       and across a metadata read of a bitmap that fell out of the cache.
//   GDT block mutex (one per descriptor block): that buffer's contents while
//       a descriptor is rewritten and the block resealed; taken under a group
//       mutex, never the other way round.
// Lock order: fs inode locks (extent lock) → one group mutex → GDT block
// mutex → journal locks (Buffer::jmu_, state_mu_, BufferCache::mu_). A thread
// never holds two group mutexes: searches try groups one at a time.
// No allocator lock is held while waiting for a commit.
#pragma once

#include <cstdint>
#include <memory>

#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/base/status.h"

namespace foliofs::fs {

enum class AllocKind { kData, kMetadata };

struct BlockRun {
  uint64_t start = 0;
  uint64_t length = 0;
};

class Allocator {
 public:
  static constexpr int kCreditsPerGroup = 2;

  // Reads every descriptor and bitmap through journal.buffers() and checks
  // them (see above). `sb` and `layout` describe the mounted filesystem.
  // reserved_blocks: min(5% of blocks_count, 64 MiB worth of blocks), at
  // least 64 blocks — or the explicit override if non-zero (tests).
  static Result<std::unique_ptr<Allocator>> Load(journal::Journal& journal,
                                                 const format::Superblock& sb,
                                                 const format::Layout& layout,
                                                 uint64_t reserved_override = 0);
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  Result<BlockRun> AllocBlocks(journal::Handle& handle, uint64_t goal, uint64_t min_len,
                               uint64_t max_len, AllocKind kind);
  Status FreeBlocks(journal::Handle& handle, uint64_t start, uint64_t length, AllocKind kind);
  // Credits FreeBlocks(start, length, kind) needs (see above).
  int FreeCredits(uint64_t start, uint64_t length, AllocKind kind) const;

  // `parent_ino` 0 for the root's own allocation (never used: mkfs made it).
  Result<uint64_t> AllocInode(journal::Handle& handle, uint64_t parent_ino, bool is_dir);
  Status FreeInode(journal::Handle& handle, uint64_t ino, bool was_dir);

  uint64_t free_blocks() const;  // allocatable now + pending frees, reserve included
  uint64_t free_inodes() const;
  uint64_t reserved_blocks() const;
  // Blocks freed but not yet allocatable: their transaction has not
  // committed, or it has and the next AllocBlocks/Check has not released them.
  uint64_t pending_free_blocks() const;

  // Group of a block / inode; the goal for an inode with no blocks yet.
  uint32_t GroupOfBlock(uint64_t block) const;
  uint32_t GroupOfInode(uint64_t ino) const;
  uint64_t GoalForInode(uint64_t ino) const;

  // Tests, fsck: recount every bitmap and compare with the in-memory
  // counters, the descriptors in the GDT buffers and the pending lists
  // (releasing committed frees first); EUCLEAN naming the group on a
  // difference. Call it when no other allocator call runs: the per-group
  // checks hold under concurrency, but the filesystem-wide totals it also
  // compares are exact only when quiescent.
  Status Check();

 private:
  struct Impl;  // fs/allocator_internal.h
  explicit Allocator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace foliofs::fs
