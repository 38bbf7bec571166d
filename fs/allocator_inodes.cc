// Inode allocation (allocator.h): files near the parent, directories spread
// Orlov-lite; the inode bitmap and the descriptor's counts are journaled.
#include "fs/allocator_internal.h"

namespace foliofs::fs {

// A group with at least the average free inodes and the fewest directories;
// ties go to more free blocks, then to the group nearest (after) the parent's.
// Reads the counters without locks: a hint, checked again under the lock.
uint32_t Allocator::Impl::PickDirGroup(uint32_t parent_group) const {
  const uint32_t count = layout.group_count;
  const uint64_t average = free_inodes.load() / count;
  int64_t best = -1;
  uint32_t best_dirs = 0, best_blocks = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t g = (parent_group + i) % count;
    const uint32_t fi = groups[g].free_inodes.load();
    if (fi == 0 || fi < average) continue;
    const uint32_t dirs = groups[g].used_dirs.load(), blocks = groups[g].free_blocks.load();
    if (best < 0 || dirs < best_dirs || (dirs == best_dirs && blocks > best_blocks)) {
      best = g;
      best_dirs = dirs;
      best_blocks = blocks;
    }
  }
  return best < 0 ? parent_group : static_cast<uint32_t>(best);
}

// The first free inode of group g (0 if the group has none).
Result<uint64_t> Allocator::Impl::TryInodeGroup(journal::Handle& h, uint32_t g, bool is_dir) {
  GroupState& gs = groups[g];
  std::lock_guard<std::mutex> lock(gs.mu);
  if (gs.free_inodes.load() == 0) return uint64_t{0};
  ASSIGN_OR_RETURN(journal::BufferRef bitmap, ReadBitmap(g, true));
  const uint32_t ipg = layout.inodes_per_group;
  uint32_t bit = g == 0 ? first_ino - 1 : 0;
  while (bit < ipg && format::TestBit(bitmap->bytes(), bit)) ++bit;
  if (bit >= ipg) {
    return Status::Corrupted(GroupName(g) + ": inode bitmap is full but the descriptor counts " +
                             std::to_string(gs.free_inodes.load()) + " free inodes");
  }
  RETURN_IF_ERROR(UpdateGroup(h, g, *bitmap, [&]() -> Status {
    format::SetBit(bitmap->bytes(), bit);
    gs.free_inodes -= 1;
    if (is_dir) gs.used_dirs += 1;
    free_inodes -= 1;
    return Status::Ok();
  }));
  return uint64_t{g} * ipg + bit + 1;
}

Result<uint64_t> Allocator::AllocInode(journal::Handle& handle, uint64_t parent_ino, bool is_dir) {
  Impl& a = *impl_;
  if (parent_ino > a.layout.inodes_count) {
    return Status::Error(EINVAL,
                         "allocator: parent inode " + std::to_string(parent_ino) + " out of range");
  }
  uint32_t g0 = GroupOfInode(parent_ino);
  if (is_dir) g0 = a.PickDirGroup(g0);
  for (uint32_t i = 0; i < a.layout.group_count; ++i) {
    const uint32_t g = (g0 + i) % a.layout.group_count;
    if (a.groups[g].free_inodes.load() == 0) continue;
    ASSIGN_OR_RETURN(uint64_t ino, a.TryInodeGroup(handle, g, is_dir));
    if (ino != 0) return ino;
  }
  return Status::Error(ENOSPC, "allocator: no free inode");
}

Status Allocator::FreeInode(journal::Handle& handle, uint64_t ino, bool was_dir) {
  Impl& a = *impl_;
  if (ino < a.first_ino || ino > a.layout.inodes_count) {
    return Status::Corrupted("allocator: freeing reserved or out-of-range inode " +
                             std::to_string(ino));
  }
  const uint32_t g = GroupOfInode(ino);
  const uint32_t bit = static_cast<uint32_t>((ino - 1) % a.layout.inodes_per_group);
  GroupState& gs = a.groups[g];
  std::lock_guard<std::mutex> lock(gs.mu);
  ASSIGN_OR_RETURN(journal::BufferRef bitmap, a.ReadBitmap(g, true));
  if (!format::TestBit(bitmap->bytes(), bit)) {
    return Status::Corrupted("allocator: freeing free inode " + std::to_string(ino));
  }
  if (was_dir && gs.used_dirs.load() == 0) {
    return Status::Corrupted("allocator: freeing directory inode " + std::to_string(ino) + " but " +
                             GroupName(g) + " counts no directories");
  }
  return a.UpdateGroup(handle, g, *bitmap, [&]() -> Status {
    ClearBit(bitmap->bytes(), bit);
    gs.free_inodes += 1;
    if (was_dir) gs.used_dirs -= 1;
    a.free_inodes += 1;
    return Status::Ok();
  });
}

}  // namespace foliofs::fs
