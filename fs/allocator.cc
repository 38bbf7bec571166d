// Allocator: construction, Load, counters and the shared helpers.
// AllocBlocks/FreeBlocks: allocator_blocks.cc; inodes: allocator_inodes.cc;
// Load's per-group checks: allocator_load.cc; Check: allocator_check.cc.
#include <algorithm>

#include "fs/allocator_internal.h"

namespace foliofs::fs {

using format::kBlockHeaderSize;

namespace {
// min(5% of the blocks, 64 MiB worth), at least 64 blocks (allocator.h).
uint64_t DefaultReserve(const format::Layout& l) {
  const uint64_t cap = (uint64_t{64} << 20) / l.block_size;
  return std::max<uint64_t>(64, std::min(l.blocks_count / 20, cap));
}
}  // namespace

std::string GroupName(uint32_t g) { return "group " + std::to_string(g); }

Allocator::Allocator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Allocator::~Allocator() = default;

Result<std::unique_ptr<Allocator>> Allocator::Load(journal::Journal& journal,
                                                   const format::Superblock& sb,
                                                   const format::Layout& layout,
                                                   uint64_t reserved_override) {
  if (journal.buffers().block_size() != layout.block_size || layout.group_count == 0) {
    return Status::Error(EINVAL, "allocator: journal block size does not match the layout");
  }
  auto impl = std::make_unique<Impl>(journal, layout, sb.checksum_seed);
  impl->first_ino = std::clamp<uint32_t>(sb.first_ino, 1, layout.inodes_per_group);
  impl->reserved = reserved_override != 0 ? reserved_override : DefaultReserve(layout);
  impl->groups = std::make_unique<GroupState[]>(layout.group_count);
  impl->gdt_mu = std::make_unique<std::mutex[]>(layout.gdt_blocks);
  RETURN_IF_ERROR(impl->LoadDescriptors());
  RETURN_IF_ERROR(impl->CheckMetadataMarked());
  impl->avail_blocks = impl->free_blocks.load();
  return std::unique_ptr<Allocator>(new Allocator(std::move(impl)));
}

uint64_t Allocator::free_blocks() const { return impl_->free_blocks.load(); }
uint64_t Allocator::free_inodes() const { return impl_->free_inodes.load(); }
uint64_t Allocator::reserved_blocks() const { return impl_->reserved; }
uint64_t Allocator::pending_free_blocks() const { return impl_->pending_blocks.load(); }

uint32_t Allocator::GroupOfBlock(uint64_t block) const {
  return std::min(impl_->GroupOf(block), impl_->layout.group_count - 1);
}

uint32_t Allocator::GroupOfInode(uint64_t ino) const {
  if (ino == 0) return 0;
  const uint64_t g = (ino - 1) / impl_->layout.inodes_per_group;
  return static_cast<uint32_t>(std::min<uint64_t>(g, impl_->layout.group_count - 1));
}

// The first block of the inode's group that is neither front region nor a
// backup copy (the search skips anything else in use).
uint64_t Allocator::GoalForInode(uint64_t ino) const {
  const format::Layout& l = impl_->layout;
  uint64_t goal = std::max(l.group_first_block(GroupOfInode(ino)), l.front_end);
  for (uint64_t b : l.backup_blocks) {
    if (goal >= b && goal < b + 1 + l.gdt_blocks) goal = b + 1 + l.gdt_blocks;
  }
  return goal < l.blocks_count ? goal : l.front_end;
}

int Allocator::FreeCredits(uint64_t start, uint64_t length, AllocKind kind) const {
  if (length == 0) return 0;
  const uint64_t groups = impl_->GroupOf(start + length - 1) - impl_->GroupOf(start) + 1;
  const uint64_t n = kCreditsPerGroup * groups + (kind == AllocKind::kMetadata ? length : 0);
  return static_cast<int>(std::min<uint64_t>(n, INT32_MAX));
}

bool Allocator::Impl::OverlapsMetadata(uint64_t start, uint64_t length) const {
  if (start < layout.front_end) return true;
  const uint64_t copy = 1 + uint64_t{layout.gdt_blocks};
  return std::any_of(layout.backup_blocks.begin(), layout.backup_blocks.end(),
                     [&](uint64_t b) { return start < b + copy && b < start + length; });
}

format::GroupDesc Allocator::Impl::DescOf(uint32_t g) const {
  format::GroupDesc d;
  d.block_bitmap = layout.block_bitmap_start + g;
  d.inode_bitmap = layout.inode_bitmap_start + g;
  d.inode_table = layout.inode_table_start + uint64_t{g} * layout.inode_table_blocks;
  d.free_blocks = groups[g].free_blocks.load(std::memory_order_relaxed);
  d.free_inodes = groups[g].free_inodes.load(std::memory_order_relaxed);
  d.used_dirs = groups[g].used_dirs.load(std::memory_order_relaxed);
  d.flags = groups[g].desc_flags;
  return d;
}

Result<journal::BufferRef> Allocator::Impl::ReadBitmap(uint32_t g, bool inode_bitmap) {
  const uint64_t nr = (inode_bitmap ? layout.inode_bitmap_start : layout.block_bitmap_start) + g;
  ASSIGN_OR_RETURN(journal::BufferRef b, journal.buffers().Read(nr));
  Status st = format::CheckBlock(
      b->bytes(), inode_bitmap ? format::BlockType::kInodeBitmap : format::BlockType::kBlockBitmap,
      nr, seed);
  if (!st.ok()) return Status::Corrupted(GroupName(g) + ": " + st.message());
  return b;
}

Status Allocator::Impl::CheckGdtBlock(uint32_t g, journal::Buffer& gdt) const {
  Status st = format::CheckBlock(gdt.bytes(), format::BlockType::kGroupDesc, gdt.blocknr(), seed);
  if (!st.ok()) return Status::Corrupted(GroupName(g) + " descriptor: " + st.message());
  return Status::Ok();
}

}  // namespace foliofs::fs
