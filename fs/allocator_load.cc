// Allocator::Load's checks: descriptor blocks, each group's bitmaps against
// its descriptor, and the metadata blocks' bits (FORMAT.md §4, §5).
#include "fs/allocator_internal.h"

namespace foliofs::fs {

using format::kBlockHeaderSize;
using format::kGroupDescSize;

Status Allocator::Impl::LoadDescriptors() {
  const uint32_t per = format::DescsPerBlock(layout.block_size);
  for (uint32_t b = 0; b < layout.gdt_blocks; ++b) {
    ASSIGN_OR_RETURN(journal::BufferRef gdt, journal.buffers().Read(1 + uint64_t{b}));
    std::lock_guard<std::mutex> lock(gdt_mu[b]);
    RETURN_IF_ERROR(CheckGdtBlock(b * per, *gdt));
    for (uint32_t g = b * per; g < layout.group_count && g < (b + 1) * per; ++g) {
      const format::GroupDesc d =
          format::GroupDesc::Decode(gdt->data() + kBlockHeaderSize + (g % per) * kGroupDescSize);
      const format::GroupDesc want = DescOf(g);
      if (d.block_bitmap != want.block_bitmap || d.inode_bitmap != want.inode_bitmap ||
          d.inode_table != want.inode_table) {
        return Status::Corrupted(GroupName(g) +
                                 " descriptor: bitmap/inode table locations are wrong");
      }
      RETURN_IF_ERROR(LoadGroup(g, d));
    }
  }
  return Status::Ok();
}

// Group mutexes are not needed here: nobody else sees the allocator yet.
Status Allocator::Impl::LoadGroup(uint32_t g, const format::GroupDesc& d) {
  const uint32_t bits = format::BitsPerBitmap(layout.block_size);
  const uint32_t nblocks = layout.group_blocks(g), ipg = layout.inodes_per_group;
  ASSIGN_OR_RETURN(journal::BufferRef bb, ReadBitmap(g, false));
  ASSIGN_OR_RETURN(journal::BufferRef ib, ReadBitmap(g, true));
  if (CountClear(bb->bytes(), nblocks, bits) != 0) {
    return Status::Corrupted(GroupName(g) + " block bitmap: padding bits past the end are clear");
  }
  if (CountClear(ib->bytes(), ipg, bits) != 0) {
    return Status::Corrupted(GroupName(g) + " inode bitmap: padding bits past the end are clear");
  }
  if (g == 0 && CountClear(ib->bytes(), 0, first_ino - 1) != 0) {
    return Status::Corrupted(GroupName(g) + " inode bitmap: a reserved inode is marked free");
  }
  const uint32_t free_blocks = CountClear(bb->bytes(), 0, nblocks);
  const uint32_t free_inodes = CountClear(ib->bytes(), 0, ipg);
  if (free_blocks != d.free_blocks || free_inodes != d.free_inodes ||
      d.used_dirs > ipg - free_inodes) {
    return Status::Corrupted(GroupName(g) + " descriptor: free_blocks/free_inodes/used_dirs " +
                             std::to_string(d.free_blocks) + "/" + std::to_string(d.free_inodes) +
                             "/" + std::to_string(d.used_dirs) + ", bitmaps count " +
                             std::to_string(free_blocks) + "/" + std::to_string(free_inodes));
  }
  GroupState& gs = groups[g];
  gs.free_blocks = free_blocks;
  gs.free_inodes = free_inodes;
  gs.used_dirs = d.used_dirs;
  gs.desc_flags = d.flags;
  this->free_blocks += free_blocks;
  this->free_inodes += free_inodes;
  return Status::Ok();
}

// The front region and every backup copy must be marked in use, or an
// allocation could hand them out.
Status Allocator::Impl::CheckMetadataMarked() {
  auto check = [&](uint64_t first, uint64_t count) -> Status {
    journal::BufferRef bitmap;
    uint32_t loaded = UINT32_MAX;
    for (uint64_t b = first; b < first + count; ++b) {
      const uint32_t g = GroupOf(b);
      if (g != loaded) {
        ASSIGN_OR_RETURN(bitmap, ReadBitmap(g, false));
        loaded = g;
      }
      if (!format::TestBit(bitmap->bytes(), static_cast<uint32_t>(b % layout.blocks_per_group))) {
        return Status::Corrupted(GroupName(g) + " block bitmap: metadata block " +
                                 std::to_string(b) + " is marked free");
      }
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(check(0, layout.front_end));
  for (uint64_t b : layout.backup_blocks)
    RETURN_IF_ERROR(check(b, 1 + uint64_t{layout.gdt_blocks}));
  return Status::Ok();
}

}  // namespace foliofs::fs
