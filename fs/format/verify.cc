// The verifier: superblock, backups, group descriptors, bitmaps, journal region,
// and the final bitmap comparison. Inode and directory passes live in
// verify_inodes.cc and verify_dirs.cc.
#include <algorithm>
#include <cstring>

#include "fs/format/codec.h"
#include "fs/format/verify_internal.h"

namespace foliofs::format {


using verify_internal::Checker;

size_t VerifyReport::errors() const {
  return static_cast<size_t>(std::count_if(findings.begin(), findings.end(), [](const Finding& f) {
    return f.severity == Finding::Severity::kError;
  }));
}

Result<Superblock> ReadSuperblock(BlockDevice& dev) {
  const size_t len = std::max<size_t>(kSuperblockSize, dev.logical_block_size());
  if (dev.size_bytes() < len) return Status::Error(EINVAL, dev.name() + ": device too small");
  AlignedBuffer buf = AllocateAligned(len, std::max<size_t>(4096, dev.logical_block_size()));
  RETURN_IF_ERROR(dev.Read(0, buf.get(), len));
  return Superblock::Decode(buf.get());
}

Result<VerifyReport> VerifyFilesystem(BlockDevice& dev, const VerifyOptions& options) {
  VerifyReport report;
  Checker checker(dev, options, &report);
  RETURN_IF_ERROR(checker.Run());
  return report;
}

namespace verify_internal {

void Checker::Error(std::string message, Problem kind) {
  problems_.push_back(kind);
  if (report_->findings.size() >= options_.max_findings) return;
  report_->findings.push_back({Finding::Severity::kError, std::move(message)});
}

// The root and lost+found are never cleared but recreated: repair needs both.
void Checker::InodeError(uint64_t ino, std::string message) {
  if (ino == sb_.root_ino || ino == sb_.lost_found_ino) {
    Error(std::move(message), Problem::kRebuildDir);
    rebuild_dirs_.insert(ino);
    return;
  }
  Error(std::move(message), Problem::kBadInode);
  bad_inodes_.insert(ino);
}

void Checker::DirError(uint64_t dir_ino, std::string message) {
  InodeError(dir_ino, std::move(message));
}

void Checker::Warn(std::string message) {
  if (report_->findings.size() >= options_.max_findings) return;
  report_->findings.push_back({Finding::Severity::kWarning, std::move(message)});
}

Result<AlignedBuffer> Checker::ReadBlocks(uint64_t first, uint64_t count) {
  if (first > sb_.blocks_count || count > sb_.blocks_count - first) {
    return Status::Error(EINVAL, "read past the filesystem end");
  }
  AlignedBuffer buf = AllocateAligned(count * block_size_, 4096);
  constexpr uint64_t kChunk = 8 << 20;  // bytes per request
  std::vector<IoRequest> batch;
  std::vector<iovec> iovs;
  const uint64_t total = count * block_size_;
  iovs.reserve(total / kChunk + 1);
  for (uint64_t off = 0; off < total; off += kChunk) {
    const uint64_t n = std::min(kChunk, total - off);
    iovs.push_back(iovec{buf.get() + off, n});
    IoRequest r;
    r.op = IoOp::kRead;
    r.offset = first * block_size_ + off;
    r.iov = std::span<const iovec>(&iovs.back(), 1);
    batch.push_back(r);
  }
  RETURN_IF_ERROR(dev_.Submit(batch));
  return buf;
}

bool Checker::MarkBlocks(uint64_t first, uint64_t count, const std::string& what,
                         uint64_t owner_ino) {
  if (first >= sb_.blocks_count || count > sb_.blocks_count - first) {
    std::string message = what + ": blocks " + std::to_string(first) + "+" +
                          std::to_string(count) + " lie outside the filesystem";
    if (owner_ino != 0) {
      InodeError(owner_ino, std::move(message));
    } else {
      Error(std::move(message));
    }
    return false;
  }
  bool ok = true;
  for (uint64_t b = first; b < first + count; ++b) {
    if (block_used_[b]) {
      if (ok) Error(what + ": block " + std::to_string(b) + " is already in use (multiply claimed)");
      ok = false;
    }
    block_used_[b] = true;
  }
  return ok;
}

Status Checker::Run() {
  bool usable = false;
  RETURN_IF_ERROR(CheckSuperblock(&usable));
  if (!usable) return Status::Ok();
  report_->superblock_ok = true;
  report_->sb = sb_;
  block_used_.assign(sb_.blocks_count, false);
  MarkBlocks(0, layout_.front_end, "front metadata region");
  for (uint64_t b : layout_.backup_blocks) MarkBlocks(b, 1 + layout_.gdt_blocks, "backup superblock");
  if (options_.check_backups) RETURN_IF_ERROR(CheckBackups());
  RETURN_IF_ERROR(CheckGroupDescriptors());
  RETURN_IF_ERROR(CheckBitmapBlocks());
  RETURN_IF_ERROR(CheckJournalRegion());
  if (!options_.check_inodes) return Status::Ok();
  RETURN_IF_ERROR(CheckInodeTables());
  RETURN_IF_ERROR(CheckDirectories());
  CompareBlockBitmaps();
  CompareInodeBitmaps();
  return Status::Ok();
}

Status Checker::CheckSuperblock(bool* usable) {
  const size_t len = std::max<size_t>(kSuperblockSize, dev_.logical_block_size());
  if (dev_.size_bytes() < len) {
    Error("device is smaller than a superblock");
    return Status::Ok();
  }
  AlignedBuffer buf = AllocateAligned(len, 4096);
  RETURN_IF_ERROR(dev_.Read(0, buf.get(), len));
  auto sb = Superblock::Decode(buf.get());
  if (!sb.ok()) {
    Error("primary superblock: " + sb.status().message());
    ASSIGN_OR_RETURN(uint64_t backup, FindTailBackup());
    if (backup != 0) {
      Warn("a valid backup superblock exists at byte offset " + std::to_string(backup) +
           " (the tail copy); repair will restore the primary from it");
    }
    return Status::Ok();
  }
  sb_ = *sb;
  block_size_ = sb_.block_size();
  seed_ = sb_.checksum_seed;
  std::string why;
  if (CheckFeatures(sb_, &why) == MountMode::kRefuse) {
    Error("superblock: " + why + "; this fsck cannot check it");
    return Status::Ok();
  }
  if (sb_.blocks_count > dev_.size_bytes() / block_size_) {
    Error("superblock: filesystem (" + std::to_string(sb_.blocks_count) +
          " blocks) is larger than the device");
    return Status::Ok();
  }
  if (block_size_ < dev_.logical_block_size()) {
    Error("block size is smaller than the device's logical block size");
    return Status::Ok();
  }
  if (sb_.blocknr != 0 || sb_.backup_group != 0) Error("primary superblock: wrong location fields");
  if (sb_.state & kStateErrors) Warn("superblock: the filesystem is marked as having errors");
  if (!(sb_.state & kStateClean)) Warn("superblock: the filesystem was not unmounted cleanly");
  if (sb_.feature_incompat & kIncompatRecover) Warn("superblock: the journal needs recovery");
  auto layout = LayoutFromSuperblock(sb_);
  if (!layout.ok()) {
    Error(layout.status().message());
    return Status::Ok();
  }
  layout_ = *layout;
  *usable = true;
  return Status::Ok();
}

// mkfs uses the whole device, so for each block size the tail copy's place
// follows from the device size alone (FORMAT.md §1).
Result<uint64_t> Checker::FindTailBackup() {
  const uint32_t lbs = dev_.logical_block_size();
  AlignedBuffer buf = AllocateAligned(std::max<size_t>(kSuperblockSize, lbs), 4096);
  for (uint32_t bs = std::max(kMinBlockSize, lbs); bs <= kMaxBlockSize; bs *= 2) {
    auto layout = ComputeLayout(dev_.size_bytes(), bs, 0, kMinJournalBlocks);
    if (!layout.ok()) continue;
    const uint64_t offset = layout->backup_blocks.back() * bs;
    RETURN_IF_ERROR(dev_.Read(offset, buf.get(), std::max<size_t>(kSuperblockSize, lbs)));
    auto copy = Superblock::Decode(buf.get());
    if (copy.ok() && copy->block_size() == bs && copy->backup_group == kTailBackupGroup) {
      return offset;
    }
  }
  return uint64_t{0};
}

namespace {
// Fields every copy must share with the primary.
bool SameGeometry(const Superblock& a, const Superblock& b) {
  return a.uuid == b.uuid && a.hash_seed == b.hash_seed && a.blocks_count == b.blocks_count &&
         a.inodes_count == b.inodes_count && a.log_block_size == b.log_block_size &&
         a.group_count == b.group_count && a.journal_first_block == b.journal_first_block &&
         a.journal_blocks == b.journal_blocks && a.label == b.label &&
         a.feature_compat == b.feature_compat && a.feature_ro_compat == b.feature_ro_compat &&
         a.root_ino == b.root_ino && a.lost_found_ino == b.lost_found_ino &&
         a.mkfs_time == b.mkfs_time;
}
}  // namespace

// The location fields of a copy's descriptors (the counters are mkfs-time ones).
bool Checker::BackupDescsAgree(const AlignedBuffer& copy) {
  const uint32_t per = DescsPerBlock(block_size_);
  for (uint32_t g = 0; g < sb_.group_count; ++g) {
    const GroupDesc d = GroupDesc::Decode(copy.get() + (1 + g / per) * block_size_ +
                                          kBlockHeaderSize + (g % per) * kGroupDescSize);
    if (d.block_bitmap != layout_.block_bitmap_start + g ||
        d.inode_bitmap != layout_.inode_bitmap_start + g ||
        d.inode_table != layout_.inode_table_start + uint64_t{g} * layout_.inode_table_blocks) {
      return false;
    }
  }
  return true;
}

Status Checker::CheckBackups() {
  for (size_t i = 0; i < layout_.backup_blocks.size(); ++i) {
    const uint64_t at = layout_.backup_blocks[i];
    const std::string what = "backup superblock at block " + std::to_string(at);
    ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlocks(at, 1 + layout_.gdt_blocks));
    auto copy = Superblock::Decode(buf.get());
    if (!copy.ok()) {
      Error(what + ": " + copy.status().message());
      continue;
    }
    if (copy->blocknr != at || copy->backup_group != layout_.backup_groups[i]) {
      Error(what + ": wrong location fields");
    }
    if (!SameGeometry(*copy, sb_)) Error(what + ": does not agree with the primary superblock");
    for (uint32_t g = 0; g < layout_.gdt_blocks; ++g) {
      Status st = CheckBlock(Block(buf, 1 + g), BlockType::kGroupDesc, at + 1 + g, seed_);
      if (!st.ok()) Error("backup group descriptors: " + st.message());
    }
    if (!BackupDescsAgree(buf)) Error(what + ": its group descriptors name wrong locations");
  }
  return Status::Ok();
}

Status Checker::CheckGroupDescriptors() {
  ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlocks(1, layout_.gdt_blocks));
  const uint32_t per = DescsPerBlock(block_size_);
  descs_.assign(sb_.group_count, GroupDesc{});
  for (uint32_t b = 0; b < layout_.gdt_blocks; ++b) {
    Status st = CheckBlock(Block(buf, b), BlockType::kGroupDesc, 1 + b, seed_);
    if (!st.ok()) Error(st.message(), Problem::kCounters);
  }
  for (uint32_t g = 0; g < sb_.group_count; ++g) {
    const uint8_t* p = buf.get() + (g / per) * block_size_ + kBlockHeaderSize +
                       (g % per) * kGroupDescSize;
    descs_[g] = GroupDesc::Decode(p);
    const GroupDesc& d = descs_[g];
    if (d.block_bitmap != layout_.block_bitmap_start + g ||
        d.inode_bitmap != layout_.inode_bitmap_start + g ||
        d.inode_table != layout_.inode_table_start + uint64_t{g} * layout_.inode_table_blocks) {
      Error("group " + std::to_string(g) + " descriptor: bitmap/inode table locations are wrong",
            Problem::kDescriptor);
    }
    if (d.free_blocks > layout_.group_blocks(g) || d.free_inodes > sb_.inodes_per_group) {
      Error("group " + std::to_string(g) + " descriptor: free counts out of range",
            Problem::kCounters);
    }
  }
  return Status::Ok();
}

Status Checker::CheckBitmapBlocks() {
  ASSIGN_OR_RETURN(block_bitmaps_, ReadBlocks(layout_.block_bitmap_start, sb_.group_count));
  ASSIGN_OR_RETURN(inode_bitmaps_, ReadBlocks(layout_.inode_bitmap_start, sb_.group_count));
  bitmaps_ok_.assign(sb_.group_count, true);
  for (uint32_t g = 0; g < sb_.group_count; ++g) {
    Status st = CheckBlock(Block(block_bitmaps_, g), BlockType::kBlockBitmap,
                           layout_.block_bitmap_start + g, seed_);
    Status st2 = CheckBlock(Block(inode_bitmaps_, g), BlockType::kInodeBitmap,
                            layout_.inode_bitmap_start + g, seed_);
    if (!st.ok()) Error(st.message(), Problem::kBlockBitmap);
    if (!st2.ok()) Error(st2.message(), Problem::kInodeBitmap);
    if (!st.ok() || !st2.ok()) {
      bitmaps_ok_[g] = false;
      continue;
    }
    const uint32_t bits = BitsPerBitmap(block_size_);
    for (uint32_t i = layout_.group_blocks(g); i < bits; ++i) {
      if (!TestBit(Block(block_bitmaps_, g), i)) {
        Error("group " + std::to_string(g) + " block bitmap: padding bits past the end are clear",
              Problem::kBlockBitmap);
        break;
      }
    }
  }
  return Status::Ok();
}

Status Checker::CheckJournalRegion() {
  if (!(sb_.feature_compat & kCompatHasJournal)) {
    Error("superblock: no journal (HAS_JOURNAL is clear)");
    return Status::Ok();
  }
  if (sb_.journal_blocks < kMinJournalBlocks) Error("journal region smaller than the minimum");
  ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlocks(sb_.journal_first_block, 1));
  if (codec::Get32(buf.get(), 0) != journal::kJournalMagic) {
    Error("journal superblock missing at block " + std::to_string(sb_.journal_first_block));
  }
  return Status::Ok();
}

void Checker::CompareBlockBitmaps() {
  uint64_t total_free = 0;
  for (uint32_t g = 0; g < sb_.group_count; ++g) {
    const uint64_t first = layout_.group_first_block(g);
    uint64_t free = 0, diffs = 0, first_diff = 0;
    for (uint32_t i = 0; i < layout_.group_blocks(g); ++i) {
      const bool used = block_used_[first + i];
      free += used ? 0 : 1;
      if (bitmaps_ok_[g] && used != TestBit(Block(block_bitmaps_, g), i)) {
        if (diffs++ == 0) first_diff = first + i;
      }
    }
    total_free += free;
    if (diffs != 0) {
      Error("group " + std::to_string(g) + " block bitmap differs from the blocks in use at " +
            std::to_string(diffs) + " blocks (first: block " + std::to_string(first_diff) + ")",
            Problem::kBlockBitmap);
    }
    if (descs_[g].free_blocks != free) {
      Error("group " + std::to_string(g) + " descriptor: free_blocks " +
            std::to_string(descs_[g].free_blocks) + ", counted " + std::to_string(free),
            Problem::kCounters);
    }
  }
  report_->blocks_in_use = sb_.blocks_count - total_free;
  if (sb_.free_blocks_count != total_free) {
    Error("superblock: free_blocks_count " + std::to_string(sb_.free_blocks_count) +
              ", counted " + std::to_string(total_free),
          Problem::kCounters);
  }
}

// The descriptors' free counts are judged against the bitmap; the bitmap was
// judged against the inode records in CheckInodeTables.
void Checker::CompareInodeBitmaps() {
  uint64_t total_free = 0;
  for (uint32_t g = 0; g < sb_.group_count; ++g) {
    if (!bitmaps_ok_[g]) continue;
    uint32_t free = 0, dirs = 0;
    for (uint32_t i = 0; i < sb_.inodes_per_group; ++i) {
      if (!TestBit(Block(inode_bitmaps_, g), i)) ++free;
      auto it = inodes_.find(uint64_t{g} * sb_.inodes_per_group + i + 1);
      if (it != inodes_.end() && (it->second.mode & 0170000) == 0040000) ++dirs;
    }
    for (uint32_t i = sb_.inodes_per_group; i < BitsPerBitmap(block_size_); ++i) {
      if (!TestBit(Block(inode_bitmaps_, g), i)) {
        Error("group " + std::to_string(g) + " inode bitmap: padding bits past the end are clear",
              Problem::kInodeBitmap);
        break;
      }
    }
    total_free += free;
    if (descs_[g].free_inodes != free || descs_[g].used_dirs != dirs) {
      Error("group " + std::to_string(g) + " descriptor: free_inodes/used_dirs " +
            std::to_string(descs_[g].free_inodes) + "/" + std::to_string(descs_[g].used_dirs) +
                ", counted " + std::to_string(free) + "/" + std::to_string(dirs),
            Problem::kCounters);
    }
  }
  if (sb_.free_inodes_count != total_free) {
    Error("superblock: free_inodes_count " + std::to_string(sb_.free_inodes_count) +
              ", counted " + std::to_string(total_free),
          Problem::kCounters);
  }
}

}  // namespace verify_internal
}  // namespace foliofs::format
