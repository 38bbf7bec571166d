// Internal to the allocator (fs/allocator*.cc): Allocator::Impl, the
// per-group state and the bit-run helpers. See fs/allocator.h for the
// contract and the lock order.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "fs/allocator.h"

namespace foliofs::fs {

// Blocks [start, start + length) of one group (group-relative), freed in
// transaction `tid` and not allocatable until it commits.
struct PendingRun {
  uint64_t tid = 0;
  uint32_t start = 0;
  uint32_t length = 0;
};

struct GroupState {
  // Guards the contents of this group's block and inode bitmap buffers, the
  // pending list, and every change of the counters below (which are atomics
  // only so that readers — statfs, the group choice heuristics — need no lock).
  std::mutex mu;
  // Bitmap-clear blocks: equals the descriptor's free_blocks (pending included).
  std::atomic<uint32_t> free_blocks{0};
  // Blocks of `pending` (a subset of free_blocks).
  std::atomic<uint32_t> pending_blocks{0};
  std::atomic<uint32_t> free_inodes{0};
  std::atomic<uint32_t> used_dirs{0};
  uint32_t desc_flags = 0;          // descriptor flags, const after Load
  std::vector<PendingRun> pending;  // GUARDED_BY(mu)
};

// One group's block bitmap as 64-bit words, with pending runs and the bits
// past the group's end set: a clear bit is a block allocatable now.
struct BitView {
  std::vector<uint64_t> words;
  uint32_t nbits = 0;  // blocks in the group
  bool Test(uint32_t bit) const { return (words[bit / 64] >> (bit % 64)) & 1; }
  // First clear (resp. set) bit in [from, nbits), or nbits.
  uint32_t NextClear(uint32_t from) const;
  uint32_t NextSet(uint32_t from) const;
};

// A run inside one group (group-relative start).
struct GroupRun {
  uint32_t start = 0;
  uint32_t length = 0;
};

struct Allocator::Impl {
  Impl(journal::Journal& j, const format::Layout& l, uint32_t s) : journal(j), layout(l), seed(s) {}

  journal::Journal& journal;
  const format::Layout layout;
  const uint32_t seed;
  uint32_t first_ino = format::kFirstIno;  // const after Load
  uint64_t reserved = 0;                   // const after Load
  std::unique_ptr<GroupState[]> groups;    // layout.group_count entries
  // One per GDT block: guards that buffer's contents while a descriptor is
  // rewritten and the block resealed (taken under a group mutex).
  std::unique_ptr<std::mutex[]> gdt_mu;

  // Filesystem-wide counters, each the sum of the per-group ones (exact when
  // no call is in flight). avail_blocks = free_blocks − pending_blocks is
  // kept as its own atomic so that an allocation reserves its blocks with
  // one compare-and-swap that keeps it ≥ the kind's floor (exact ENOSPC).
  std::atomic<uint64_t> free_blocks{0};
  std::atomic<uint64_t> pending_blocks{0};
  std::atomic<uint64_t> avail_blocks{0};
  std::atomic<uint64_t> free_inodes{0};
  // Highest committed tid whose pending frees have all been released.
  std::atomic<uint64_t> released_tid{0};

  // ---- allocator.cc
  uint32_t GroupOf(uint64_t block) const {
    return static_cast<uint32_t>(block / layout.blocks_per_group);
  }
  uint32_t GdtBlockOf(uint32_t g) const { return g / format::DescsPerBlock(layout.block_size); }
  bool OverlapsMetadata(uint64_t start, uint64_t length) const;
  format::GroupDesc DescOf(uint32_t g) const;  // from the in-memory counters
  // The group's bitmap buffer (block or inode), header and checksum checked.
  // Group mutex held.
  Result<journal::BufferRef> ReadBitmap(uint32_t g, bool inode_bitmap);
  // Under the group mutex: write access to `bitmap` and the group's GDT block,
  // `change` modifies the bitmap, then the descriptor is re-encoded from the
  // in-memory counters (which `change` updated), both blocks are sealed and
  // dirtied. Nothing is modified unless both write accesses succeed.
  // `change` returns a Status; it may fail only before it modifies anything
  // (FreeBlocks revokes there), and then nothing is sealed or dirtied.
  template <typename Change>
  Status UpdateGroup(journal::Handle& h, uint32_t g, journal::Buffer& bitmap, Change change);
  // The group's GDT buffer, header and checksum checked. GDT mutex held.
  Status CheckGdtBlock(uint32_t g, journal::Buffer& gdt) const;

  // ---- allocator_load.cc
  Status LoadDescriptors();
  Status LoadGroup(uint32_t g, const format::GroupDesc& d);
  Status CheckMetadataMarked();

  // ---- allocator_blocks.cc
  void ReleaseCommitted();
  bool ReserveAvail(uint64_t floor, uint64_t min_len, uint64_t* len);
  void ReleaseGroupLocked(GroupState& gs, uint64_t committed);   // gs.mu held
  BitView BuildView(uint32_t g, journal::Buffer& bitmap) const;  // group mutex held
  // A run in group g (see allocator.h for the order); length 0 if the group
  // has none that fits.
  Result<BlockRun> TryGroup(journal::Handle& h, uint32_t g, int64_t goal_bit, uint64_t min_len,
                            uint64_t max_len, uint64_t floor, bool accept_partial);
  Result<BlockRun> TakeRun(journal::Handle& h, uint32_t g, journal::Buffer& bitmap, GroupRun run,
                           uint64_t min_len, uint64_t floor);
  Status FreeInGroup(journal::Handle& h, uint32_t g, uint32_t start, uint32_t length,
                     AllocKind kind);
  Status CheckAllocated(uint32_t g, uint32_t start, uint32_t length);

  // ---- allocator_inodes.cc
  uint32_t PickDirGroup(uint32_t parent_group) const;
  Result<uint64_t> TryInodeGroup(journal::Handle& h, uint32_t g, bool is_dir);

  // ---- allocator_check.cc
  // Adds the group's free blocks, pending blocks and free inodes to sums[0..2].
  Status CheckGroup(uint32_t g, uint64_t sums[3]);
  Status CheckPending(uint32_t g, journal::Buffer& bitmap);  // group mutex held
};

// Clears bit `bit` of a bitmap block (the inverse of format::SetBit).
inline void ClearBit(std::span<uint8_t> bitmap_block, uint32_t bit) {
  bitmap_block[format::kBlockHeaderSize + bit / 8] &= static_cast<uint8_t>(~(1U << (bit % 8)));
}

// Runs of clear bits (allocator_bits.cc).
// Length of the clear run starting at `start` (0 if `start` is set), capped at `cap`.
uint32_t RunAt(const BitView& v, uint32_t start, uint32_t cap);
// Scans runs starting at or after `from`, then (wrapping) those starting before
// it. Stops at the first run of ≥ `want` blocks and returns it in *full;
// otherwise *full stays empty and *longest is the longest run seen.
void ScanRuns(const BitView& v, uint32_t from, uint32_t want, GroupRun* full, GroupRun* longest);
// Clear bits of a bitmap block in [from, to).
uint32_t CountClear(std::span<const uint8_t> bitmap_block, uint32_t from, uint32_t to);

std::string GroupName(uint32_t g);

template <typename Change>
Status Allocator::Impl::UpdateGroup(journal::Handle& h, uint32_t g, journal::Buffer& bitmap,
                                    Change change) {
  const uint32_t b = GdtBlockOf(g);
  ASSIGN_OR_RETURN(journal::BufferRef gdt, journal.buffers().Read(1 + uint64_t{b}));
  RETURN_IF_ERROR(h.GetWriteAccess(bitmap));
  std::lock_guard<std::mutex> gdt_lock(gdt_mu[b]);
  RETURN_IF_ERROR(CheckGdtBlock(g, *gdt));
  RETURN_IF_ERROR(h.GetWriteAccess(*gdt));
  RETURN_IF_ERROR(change());
  format::SealBlock(seed, bitmap.bytes());
  const uint32_t slot = g % format::DescsPerBlock(layout.block_size);
  DescOf(g).Encode(gdt->data() + format::kBlockHeaderSize + slot * format::kGroupDescSize);
  format::SealBlock(seed, gdt->bytes());
  Status st = h.DirtyMetadata(bitmap);
  Status st2 = h.DirtyMetadata(*gdt);
  return st.ok() ? st2 : st;
}

}  // namespace foliofs::fs
