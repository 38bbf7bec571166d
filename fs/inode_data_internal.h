// Helpers shared by the data path of fs/Inode (inode_data.cc,
// inode_truncate.cc, inode_fallocate.cc, inode_tree_change.cc): extent lookups
// in iomap units, the "start a handle, then take map_mu exclusive" sequence,
// allocation of unwritten blocks for a hole, and the bookkeeping every tree
// change ends with (root → i_block, rec.blocks, the record, seq). Internal to
// fs/; everything here goes through Inode's public members.
//
// Lock order (fs/inode.h): rw → [folio locks] → journal handle start →
// map_mu → meta_mu. The helpers that take a *locked* TreeChange run with
// map_mu held exclusive and take meta_mu only briefly (SyncRoot, WriteRecord).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "fs/extent_tree.h"
#include "fs/format/format.h"
#include "fs/fs_context.h"
#include "fs/inode.h"
#include "fs/iomap/iomap.h"
#include "journal/journal.h"
#include "pagecache/base/status.h"

namespace foliofs::fs::inode_data {

inline uint64_t DivRoundUp(uint64_t x, uint64_t d) { return x / d + (x % d != 0); }
inline uint64_t RoundUp(uint64_t x, uint64_t d) { return DivRoundUp(x, d) * d; }

// Largest file size: 2^32 blocks (FORMAT.md §7 logical block limit).
inline uint64_t MaxFileBytes(const FsContext& fs) {
  return format::kMaxLogicalBlocks * uint64_t{fs.block_size};
}

// SEEK_DATA / SEEK_HOLE (Linux values; <unistd.h> only defines them with
// _GNU_SOURCE).
inline constexpr int kSeekData = 3;
inline constexpr int kSeekHole = 4;

// Buffers one data allocation touches (bitmap + descriptor), and what an
// undo of it (FreeBlocks after a failed Insert) may need on top.
inline constexpr int kAllocCredits = 2;
inline constexpr int kAllocUndoCredits = 2;

// map_mu held (shared or exclusive): the mapping of the block holding `pos`,
// clipped to [block of pos, round_up(end)) — an extent (MAPPED/UNWRITTEN) or
// a hole up to the next mapped block. iomap.seq is the inode's seq now.
Result<Iomap> LookupIomap(Inode& inode, uint64_t pos, uint64_t end);

// A journal handle started before map_mu was taken exclusive (the lock order),
// with credits for `changes` tree changes at the tree's current depth.
struct TreeChange {
  std::unique_ptr<journal::Handle> handle;
  std::unique_lock<std::shared_mutex> lock;  // map_mu, exclusive
  uint64_t nodes_before = 0;                 // tree->node_blocks() when locked
};
// Starts the handle (CreditsPerChange(depth)·changes + extra, clamped to the
// journal's per-transaction maximum) and then locks map_mu; retries if the
// tree grew deeper in between (its credits would be short).
Result<TreeChange> StartTreeChange(Inode& inode, int changes, int extra, const char* what);
// Releases map_mu, then stops the handle; returns `st` if it is an error,
// else Stop's status.
Status FinishTreeChange(TreeChange& tc, Status st);

// map_mu exclusive: after a tree change in tc.handle — copies a dirty root into
// i_block, adds data_delta (may be negative) plus the change in node blocks
// to rec.blocks, writes the record (or, when nothing in it changed, only
// notes the tid for fsync) and bumps seq (I7).
Status CommitTreeChange(Inode& inode, TreeChange& tc, int64_t data_delta);

// map_mu exclusive: if block `lblk` is mapped, its mapping (clipped to
// limit_blk); otherwise allocates unwritten blocks (I8) for the hole from lblk
// up to min(next mapped block, limit_blk) — one contiguous run, as long as
// the allocator gives near the goal — inserts them and commits the change.
// The returned mapping then has kIomapFlagNew. ENOSPC (nothing changed) when
// no data block is left.
Result<Iomap> AllocateAt(Inode& inode, TreeChange& tc, uint64_t lblk, uint64_t limit_blk);

// AllocateAt in a TreeChange of its own; on ENOSPC while freed blocks wait
// for their transaction, forces that commit and retries. The caller holds no
// handle and no map_mu.
Result<Iomap> AllocateHole(Inode& inode, uint64_t lblk, uint64_t limit_blk, const char* what);

// Allocates unwritten blocks for every hole of blocks [first, last), one
// handle per run (fallocate). On an error what was allocated stays.
Status AllocateRange(Inode& inode, uint64_t first, uint64_t last);

// Converts [first, last) to written (writeback completion), in as many
// handles as the number of leaves requires.
Status ConvertToWritten(Inode& inode, uint64_t first, uint64_t last);

// True when some block at or after `from` is mapped (map_mu taken shared).
Result<bool> HasBlocksFrom(Inode& inode, uint64_t from);

// Sets mtime and/or ctime to now and, if new_size is given, rec.size, in a
// handle of its own.
Status UpdateRecord(Inode& inode, bool mtime, bool ctime, const uint64_t* new_size);

}  // namespace foliofs::fs::inode_data
