// Allocator::Check: every bitmap recounted against the in-memory counters,
// the descriptors in the GDT buffers and the pending lists.
#include <algorithm>

#include "fs/allocator_internal.h"

namespace foliofs::fs {

namespace {
Status Mismatch(uint32_t g, const std::string& what, uint64_t have, uint64_t counted) {
  return Status::Corrupted(GroupName(g) + ": " + what + " " + std::to_string(have) + ", counted " +
                           std::to_string(counted));
}
}  // namespace

// Pending runs lie inside the group, do not overlap, are clear in the bitmap
// and add up to pending_blocks.
Status Allocator::Impl::CheckPending(uint32_t g, journal::Buffer& bitmap) {
  GroupState& gs = groups[g];
  std::vector<PendingRun> runs = gs.pending;
  std::sort(runs.begin(), runs.end(),
            [](const PendingRun& x, const PendingRun& y) { return x.start < y.start; });
  uint64_t sum = 0, end = 0;
  for (const PendingRun& r : runs) {
    if (r.start < end || r.start + uint64_t{r.length} > layout.group_blocks(g)) {
      return Status::Corrupted(GroupName(g) + ": pending frees overlap or leave the group");
    }
    if (CountClear(bitmap.bytes(), r.start, r.start + r.length) != r.length) {
      return Status::Corrupted(GroupName(g) + ": a pending free block is marked in use");
    }
    end = r.start + uint64_t{r.length};
    sum += r.length;
  }
  if (sum != gs.pending_blocks.load()) return Mismatch(g, "pending_blocks", gs.pending_blocks, sum);
  return Status::Ok();
}

Status Allocator::Impl::CheckGroup(uint32_t g, uint64_t sums[3]) {
  GroupState& gs = groups[g];
  std::lock_guard<std::mutex> lock(gs.mu);
  ASSIGN_OR_RETURN(journal::BufferRef bb, ReadBitmap(g, false));
  ASSIGN_OR_RETURN(journal::BufferRef ib, ReadBitmap(g, true));
  const uint32_t free_blocks = CountClear(bb->bytes(), 0, layout.group_blocks(g));
  const uint32_t free_inodes = CountClear(ib->bytes(), 0, layout.inodes_per_group);
  if (free_blocks != gs.free_blocks) return Mismatch(g, "free_blocks", gs.free_blocks, free_blocks);
  if (free_inodes != gs.free_inodes) return Mismatch(g, "free_inodes", gs.free_inodes, free_inodes);
  if (gs.used_dirs > layout.inodes_per_group - free_inodes) {
    return Mismatch(g, "used_dirs (at most the inodes in use)", gs.used_dirs,
                    layout.inodes_per_group - free_inodes);
  }
  RETURN_IF_ERROR(CheckPending(g, *bb));
  const uint32_t b = GdtBlockOf(g);
  ASSIGN_OR_RETURN(journal::BufferRef gdt, journal.buffers().Read(1 + uint64_t{b}));
  std::lock_guard<std::mutex> gdt_lock(gdt_mu[b]);
  RETURN_IF_ERROR(CheckGdtBlock(g, *gdt));
  const uint32_t slot = g % format::DescsPerBlock(layout.block_size);
  const format::GroupDesc d = format::GroupDesc::Decode(gdt->data() + format::kBlockHeaderSize +
                                                        slot * format::kGroupDescSize);
  const format::GroupDesc want = DescOf(g);
  if (d.free_blocks != want.free_blocks || d.free_inodes != want.free_inodes ||
      d.used_dirs != want.used_dirs || d.block_bitmap != want.block_bitmap ||
      d.inode_bitmap != want.inode_bitmap || d.inode_table != want.inode_table) {
    return Status::Corrupted(GroupName(g) + ": descriptor in the GDT buffer differs from memory");
  }
  sums[0] += free_blocks;
  sums[1] += gs.pending_blocks;
  sums[2] += free_inodes;
  return Status::Ok();
}

Status Allocator::Check() {
  Impl& a = *impl_;
  a.ReleaseCommitted();
  uint64_t sums[3] = {0, 0, 0};
  for (uint32_t g = 0; g < a.layout.group_count; ++g) RETURN_IF_ERROR(a.CheckGroup(g, sums));
  const uint64_t free = a.free_blocks, pending = a.pending_blocks, avail = a.avail_blocks;
  if (sums[0] != free || sums[1] != pending || sums[2] != a.free_inodes ||
      avail != free - pending) {
    return Status::Corrupted("allocator totals: free/pending/avail/inodes " + std::to_string(free) +
                             "/" + std::to_string(pending) + "/" + std::to_string(avail) + "/" +
                             std::to_string(a.free_inodes.load()) + ", groups add up to " +
                             std::to_string(sums[0]) + "/" + std::to_string(sums[1]) + "/" +
                             std::to_string(sums[0] - sums[1]) + "/" + std::to_string(sums[2]));
  }
  return Status::Ok();
}

}  // namespace foliofs::fs
