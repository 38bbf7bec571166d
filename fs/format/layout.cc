// Where everything lives: groups, bitmaps, inode tables, journal, backups
// (FORMAT.md §1, §12).
#include <algorithm>

#include "fs/format/format.h"

namespace foliofs::format {

namespace {
constexpr uint64_t kDefaultInodeRatio = 16384;  // bytes per inode, like mke2fs
constexpr uint32_t kMinInodesPerGroup = 16;

bool IsPowerOf(uint32_t g, uint32_t base) {
  while (g % base == 0) g /= base;
  return g == 1;
}
// ext4 sparse_super: group 1 and powers of 3, 5, 7.
bool IsSparseBackupGroup(uint32_t g) {
  return g == 1 || (g > 1 && (IsPowerOf(g, 3) || IsPowerOf(g, 5) || IsPowerOf(g, 7)));
}

Status ValidateBlockSize(uint32_t block_size) {
  if (block_size < kMinBlockSize || block_size > kMaxBlockSize ||
      (block_size & (block_size - 1)) != 0) {
    return Status::Error(EINVAL, "invalid block size " + std::to_string(block_size) +
                                     ": must be a power of two from 1024 to 65536");
  }
  return Status::Ok();
}

// Inodes per group for `inode_count` inodes over `groups` groups.
// A defaulted count (`clamp`) is clamped to the maximum instead of refused.
Result<uint32_t> InodesPerGroup(uint64_t inode_count, uint32_t groups, uint32_t block_size,
                                bool clamp) {
  const uint64_t unit = std::max<uint64_t>(8, block_size / kInodeSize);
  uint64_t ipg = (inode_count + groups - 1) / groups;
  ipg = std::max<uint64_t>(ipg, kMinInodesPerGroup);
  ipg = (ipg + unit - 1) / unit * unit;
  const uint64_t max_ipg = std::min<uint64_t>(BitsPerBitmap(block_size),
                                              0xFFFFFFFFULL / groups) / unit * unit;
  if (clamp) ipg = std::min(ipg, max_ipg);
  if (ipg > max_ipg) {
    return Status::Error(EINVAL, "too many inodes: " + std::to_string(inode_count) +
                                     "; at most " + std::to_string(max_ipg * groups) +
                                     " for this size and block size");
  }
  return static_cast<uint32_t>(ipg);
}

// mke2fs's table, shrunk to a quarter of the filesystem (not below the
// minimum) when the front region would otherwise pass the half-way mark.
uint64_t SizeDefaultJournal(uint64_t blocks, uint64_t journal_first_block) {
  const uint64_t j = DefaultJournalBlocks(blocks);
  if (journal_first_block + j <= blocks / 2) return j;
  return std::max(kMinJournalBlocks, blocks / 4);
}

// A copy starts at or after front_end + 2: mkfs puts the root and lost+found
// leaves at front_end and front_end + 1 (FORMAT.md §1, §13).
void PlaceBackups(Layout* l) {
  const uint64_t copy = 1 + l->gdt_blocks;
  const uint64_t tail = l->blocks_count - copy;
  for (uint32_t g = 1; g < l->group_count; ++g) {
    const uint64_t start = l->group_first_block(g);
    if (IsSparseBackupGroup(g) && start >= l->front_end + 2 && start + copy <= tail) {
      l->backup_blocks.push_back(start);
      l->backup_groups.push_back(g);
    }
  }
  l->backup_blocks.push_back(tail);
  l->backup_groups.push_back(kTailBackupGroup);
}

// The layout, or an error; `explain_minimum` adds the minimum size to ENOSPC.
Result<Layout> ComputeLayoutImpl(uint64_t device_bytes, uint32_t block_size,
                                 uint64_t inode_count, uint64_t journal_blocks,
                                 bool explain_minimum) {
  RETURN_IF_ERROR(ValidateBlockSize(block_size));
  if (journal_blocks != 0 && journal_blocks < kMinJournalBlocks) {
    return Status::Error(EINVAL, "journal too small: " + std::to_string(journal_blocks) +
                                     " blocks; the minimum is " +
                                     std::to_string(kMinJournalBlocks));
  }
  Layout l;
  l.block_size = block_size;
  l.blocks_per_group = BitsPerBitmap(block_size);
  // At most 2^48 blocks and 2^63 - 1 bytes (FORMAT.md §1).
  uint64_t blocks = std::min({device_bytes / block_size, kMaxBlocks,
                              static_cast<uint64_t>(INT64_MAX) / block_size});
  const uint64_t tail_part = blocks % l.blocks_per_group;
  if (blocks > l.blocks_per_group && tail_part != 0 && tail_part < kMinFreeBlocks) {
    blocks -= tail_part;  // drop a last group too small to be worth having
  }
  l.blocks_count = blocks;
  l.group_count = static_cast<uint32_t>((blocks + l.blocks_per_group - 1) / l.blocks_per_group);
  auto too_small = [&]() -> Status {
    std::string msg = "device too small: " + std::to_string(device_bytes) + " bytes";
    if (explain_minimum) {
      msg += "; the minimum for block size " + std::to_string(block_size) + " is " +
             std::to_string(MinimumDeviceBytes(block_size, inode_count, journal_blocks)) +
             " bytes";
    }
    return Status::Error(ENOSPC, msg);
  };
  if (l.group_count == 0) return too_small();
  l.gdt_blocks = (l.group_count + DescsPerBlock(block_size) - 1) / DescsPerBlock(block_size);
  const bool default_inodes = inode_count == 0;
  if (default_inodes) {
    inode_count = std::max<uint64_t>(blocks * block_size / kDefaultInodeRatio, 64);
  }
  auto ipg = InodesPerGroup(inode_count, l.group_count, block_size, default_inodes);
  if (!ipg.ok()) return ipg.status();
  l.inodes_per_group = *ipg;
  l.inodes_count = uint64_t{l.inodes_per_group} * l.group_count;
  l.inode_table_blocks = static_cast<uint32_t>(uint64_t{l.inodes_per_group} * kInodeSize / block_size);
  l.block_bitmap_start = 1 + l.gdt_blocks;
  l.inode_bitmap_start = l.block_bitmap_start + l.group_count;
  l.inode_table_start = l.inode_bitmap_start + l.group_count;
  l.journal_first_block = l.inode_table_start + uint64_t{l.group_count} * l.inode_table_blocks;
  l.journal_blocks = journal_blocks != 0 ? journal_blocks
                                          : SizeDefaultJournal(blocks, l.journal_first_block);
  l.front_end = l.journal_first_block + l.journal_blocks;
  const uint64_t copy = 1 + l.gdt_blocks;
  if (l.front_end + 2 + kMinFreeBlocks + copy > blocks) return too_small();
  PlaceBackups(&l);
  return l;
}
}  // namespace

uint32_t Layout::group_blocks(uint32_t g) const {
  const uint64_t start = group_first_block(g);
  return static_cast<uint32_t>(std::min<uint64_t>(blocks_per_group, blocks_count - start));
}

uint64_t Layout::metadata_blocks() const {
  return front_end + backup_blocks.size() * (1 + uint64_t{gdt_blocks});
}

uint64_t DefaultJournalBlocks(uint64_t n) {
  if (n < 32768) return 1024;
  if (n < 256 * 1024) return 4096;
  if (n < 512 * 1024) return 8192;
  if (n < 4096 * 1024) return 16384;
  if (n < 8192 * 1024) return 32768;
  if (n < 16384 * 1024) return 65536;
  if (n < 32768 * 1024) return 131072;
  return 262144;
}

Result<Layout> ComputeLayout(uint64_t device_bytes, uint32_t block_size, uint64_t inode_count,
                             uint64_t journal_blocks) {
  return ComputeLayoutImpl(device_bytes, block_size, inode_count, journal_blocks, true);
}

// Binary search over the block count; ComputeLayout is monotone in it except
// across the group boundary trimming, which only ever helps larger devices.
uint64_t MinimumDeviceBytes(uint32_t block_size, uint64_t inode_count, uint64_t journal_blocks) {
  if (!ValidateBlockSize(block_size).ok()) return 0;
  uint64_t lo = 1, hi = uint64_t{1} << 36;
  if (!ComputeLayoutImpl(hi * block_size, block_size, inode_count, journal_blocks, false).ok()) {
    return 0;
  }
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (ComputeLayoutImpl(mid * block_size, block_size, inode_count, journal_blocks, false).ok()) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo * block_size;
}

void ApplyLayout(const Layout& l, Superblock* sb) {
  sb->log_block_size = static_cast<uint32_t>(__builtin_ctz(l.block_size));
  sb->blocks_count = l.blocks_count;
  sb->inodes_count = l.inodes_count;
  sb->blocks_per_group = l.blocks_per_group;
  sb->inodes_per_group = l.inodes_per_group;
  sb->group_count = l.group_count;
  sb->gdt_blocks = l.gdt_blocks;
  sb->journal_first_block = l.journal_first_block;
  sb->journal_blocks = l.journal_blocks;
  sb->block_bitmap_start = l.block_bitmap_start;
  sb->inode_bitmap_start = l.inode_bitmap_start;
  sb->inode_table_start = l.inode_table_start;
  sb->inode_table_blocks = l.inode_table_blocks;
  sb->front_end = l.front_end;
}

Result<Layout> LayoutFromSuperblock(const Superblock& sb) {
  auto l = ComputeLayoutImpl(sb.blocks_count * sb.block_size(), sb.block_size(),
                             sb.inodes_count, sb.journal_blocks, false);
  if (!l.ok()) return Status::Corrupted("superblock geometry is invalid: " + l.status().message());
  Superblock expect = sb;
  ApplyLayout(*l, &expect);
  const std::pair<const char*, bool> checks[] = {
      {"blocks_count", expect.blocks_count == sb.blocks_count},
      {"inodes_count", expect.inodes_count == sb.inodes_count},
      {"blocks_per_group", expect.blocks_per_group == sb.blocks_per_group},
      {"inodes_per_group", expect.inodes_per_group == sb.inodes_per_group},
      {"group_count", expect.group_count == sb.group_count},
      {"gdt_blocks", expect.gdt_blocks == sb.gdt_blocks},
      {"journal_first_block", expect.journal_first_block == sb.journal_first_block},
      {"block_bitmap_start", expect.block_bitmap_start == sb.block_bitmap_start},
      {"inode_bitmap_start", expect.inode_bitmap_start == sb.inode_bitmap_start},
      {"inode_table_start", expect.inode_table_start == sb.inode_table_start},
      {"inode_table_blocks", expect.inode_table_blocks == sb.inode_table_blocks},
      {"front_end", expect.front_end == sb.front_end},
  };
  for (const auto& [field, ok] : checks) {
    if (!ok) return Status::Corrupted(std::string("superblock geometry inconsistent: ") + field);
  }
  return l;
}

}  // namespace foliofs::format
