// RepairFilesystem: the verify/fix loop, block and inode I/O, and the rewrite
// of bitmaps, descriptors and superblock counters from the verifier's counts.
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "fs/format/repair_internal.h"
#include "pagecache/base/log.h"

namespace foliofs::format {

Result<RepairReport> RepairFilesystem(BlockDevice& dev, const RepairOptions& options) {
  RepairReport report;
  repair_internal::Repairer repairer(dev, options, &report);
  RETURN_IF_ERROR(repairer.Run());
  return report;
}

namespace repair_internal {

using verify_internal::Problem;

Result<VerifyReport> Repairer::Verify() {
  last_ = VerifyReport{};
  checker_ = std::make_unique<Checker>(dev_, VerifyOptions{}, &last_);
  RETURN_IF_ERROR(checker_->Run());
  return last_;
}

bool Repairer::HasUnexpected() const {
  return std::any_of(checker_->problems_.begin(), checker_->problems_.end(),
                     [](Problem p) { return !verify_internal::PreenSafe(p); });
}

Status Repairer::Run() {
  ASSIGN_OR_RETURN(report_->initial, Verify());
  report_->final = report_->initial;
  if (!last_.superblock_ok) return Status::Ok();  // nothing to stand on
  if (options_.mode == RepairMode::kPreen && HasUnexpected()) {
    report_->unexpected = true;
    return Status::Ok();
  }
  for (int pass = 0; pass < options_.max_passes && NeedsWork(); ++pass) {
    if (Cancelled()) {
      report_->cancelled = true;
      return Status::Ok();
    }
    ++report_->passes;
    ASSIGN_OR_RETURN(bool changed, FixOnePass());
    if (!changed) break;  // what is left is beyond this repair
    report_->changed = true;
    RETURN_IF_ERROR(dev_.Flush());
    ASSIGN_OR_RETURN(report_->final, Verify());
    if (options_.mode == RepairMode::kPreen && HasUnexpected()) {
      report_->unexpected = true;
      return Status::Ok();
    }
  }
  if (last_.clean()) RETURN_IF_ERROR(MarkClean());
  return Status::Ok();
}

// Errors, or a non-empty orphan list (legal, but fsck finishes it like mount).
bool Repairer::NeedsWork() const { return !last_.clean() || checker_->sb_.orphan_head != 0; }

// One step of the order in repair_internal.h; true when something was written.
Result<bool> Repairer::FixOnePass() {
  ASSIGN_OR_RETURN(bool cleared, ClearBadInodes());
  ASSIGN_OR_RETURN(bool rebuilt, RebuildSpecialDirs());
  ASSIGN_OR_RETURN(bool marked, MarkNamedInodes());
  if (cleared || rebuilt || marked) return true;
  ASSIGN_OR_RETURN(bool resealed, ResealDirBlocks());
  ASSIGN_OR_RETURN(bool entries, FixEntries());
  ASSIGN_OR_RETURN(bool fields, FixInodeFields());
  if (resealed || entries || fields) return true;
  ASSIGN_OR_RETURN(bool orphans, ProcessOrphans());
  if (orphans) return true;
  ASSIGN_OR_RETURN(bool reattached, ReattachUnattached());
  if (reattached) return true;
  ASSIGN_OR_RETURN(bool links, FixLinkCounts());
  ASSIGN_OR_RETURN(bool bitmaps, RewriteBitmaps());
  ASSIGN_OR_RETURN(bool descs, RewriteDescriptors());
  return links || bitmaps || descs;
}

// After a clean verification: CLEAN set, ERRORS and RECOVER cleared.
Status Repairer::MarkClean() {
  Superblock sb = checker_->sb_;
  const bool needs = !(sb.state & kStateClean) || (sb.state & kStateErrors) ||
                     (sb.feature_incompat & kIncompatRecover);
  if (!needs) return Status::Ok();
  sb.state = kStateClean;
  sb.feature_incompat &= ~kIncompatRecover;
  RETURN_IF_ERROR(WriteSuperblock(sb));
  RETURN_IF_ERROR(dev_.Flush());
  if (!report_->changed) report_->marked_clean = true;
  Action("superblock: state set to clean");
  report_->final.sb = sb;
  return Status::Ok();
}

void Repairer::Action(std::string what) {
  GetLogger("format")->debug("repair: {}", what);
  report_->actions.push_back(std::move(what));
}

// ---- Block and inode I/O -----------------------------------------------------

Result<AlignedBuffer> Repairer::ReadBlock(uint64_t blocknr) {
  return checker_->ReadBlocks(blocknr, 1);
}

Status Repairer::WriteBlock(uint64_t blocknr, const AlignedBuffer& buf) {
  const uint32_t bs = checker_->block_size_;
  return dev_.Write(blocknr * bs, buf.get(), bs);
}

std::pair<uint64_t, size_t> Repairer::InodeLocation(uint64_t ino) const {
  const Superblock& sb = checker_->sb_;
  const uint64_t g = (ino - 1) / sb.inodes_per_group;
  const uint64_t byte = ((ino - 1) % sb.inodes_per_group) * kInodeSize;
  const uint64_t table =
      checker_->layout_.inode_table_start + g * checker_->layout_.inode_table_blocks;
  return {table + byte / checker_->block_size_, byte % checker_->block_size_};
}

Result<Inode> Repairer::ReadInode(uint64_t ino) {
  auto [block, off] = InodeLocation(ino);
  ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlock(block));
  return Inode::Decode(buf.get() + off, checker_->seed_, ino);
}

Status Repairer::WriteInode(const Inode& inode) {
  auto [block, off] = InodeLocation(inode.ino);
  ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlock(block));
  inode.Encode(checker_->seed_, buf.get() + off);
  return WriteBlock(block, buf);
}

Status Repairer::ZeroInode(uint64_t ino) {
  auto [block, off] = InodeLocation(ino);
  ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlock(block));
  std::memset(buf.get() + off, 0, kInodeSize);
  return WriteBlock(block, buf);
}

// Sets one inode bitmap bit, resealing the block (a damaged block gets a fresh
// header; its other bits are rewritten by RewriteBitmaps later).
Status Repairer::SetInodeBit(uint64_t ino, bool used) {
  const uint32_t ipg = checker_->sb_.inodes_per_group;
  const uint32_t g = static_cast<uint32_t>((ino - 1) / ipg);
  const uint32_t bit = static_cast<uint32_t>((ino - 1) % ipg);
  const uint64_t at = checker_->layout_.inode_bitmap_start + g;
  ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlock(at));
  std::span<uint8_t> block(buf.get(), checker_->block_size_);
  block[kBlockHeaderSize + bit / 8] &= static_cast<uint8_t>(~(1U << (bit % 8)));
  if (used) SetBit(block, bit);
  BlockHeader{BlockType::kInodeBitmap, at, 0, 0}.Encode(block.data());
  SealBlock(checker_->seed_, block);
  return WriteBlock(at, buf);
}

// ---- Bitmaps, descriptors, superblock ----------------------------------------

namespace {
// A sealed bitmap block of `type` at `at` whose bit i is want(i), padding set.
AlignedBuffer BuildBitmap(BlockType type, uint64_t at, uint32_t bs, uint32_t valid_bits,
                          uint32_t seed, const std::function<bool(uint32_t)>& want) {
  AlignedBuffer buf = AllocateAligned(bs, 4096);
  std::span<uint8_t> block(buf.get(), bs);
  for (uint32_t i = 0; i < BitsPerBitmap(bs); ++i) {
    if (i >= valid_bits || want(i)) SetBit(block, i);
  }
  BlockHeader{type, at, 0, 0}.Encode(block.data());
  SealBlock(seed, block);
  return buf;
}
}  // namespace

// Block bitmaps from the blocks reached, inode bitmaps from the inodes in use
// (and the reserved ones); only groups whose blocks differ are written.
Result<bool> Repairer::RewriteBitmaps() {
  const Checker& c = *checker_;
  const uint32_t bs = c.block_size_;
  bool changed = false;
  for (uint32_t g = 0; g < c.sb_.group_count; ++g) {
    const uint64_t first = c.layout_.group_first_block(g);
    const uint64_t bb_at = c.layout_.block_bitmap_start + g;
    AlignedBuffer bb = BuildBitmap(BlockType::kBlockBitmap, bb_at, bs, c.layout_.group_blocks(g),
                                   c.seed_, [&](uint32_t i) { return c.block_used_[first + i]; });
    if (std::memcmp(bb.get(), c.block_bitmaps_.get() + uint64_t{g} * bs, bs) != 0) {
      RETURN_IF_ERROR(WriteBlock(bb_at, bb));
      Action("group " + std::to_string(g) + ": block bitmap rewritten from the blocks in use");
      changed = true;
    }
    const uint64_t ib_at = c.layout_.inode_bitmap_start + g;
    const uint64_t ino0 = uint64_t{g} * c.sb_.inodes_per_group + 1;
    AlignedBuffer ib = BuildBitmap(BlockType::kInodeBitmap, ib_at, bs, c.sb_.inodes_per_group,
                                   c.seed_, [&](uint32_t i) {
                                     const uint64_t ino = ino0 + i;
                                     return ino < c.sb_.first_ino || c.InodeInUse(ino);
                                   });
    if (std::memcmp(ib.get(), c.inode_bitmaps_.get() + uint64_t{g} * bs, bs) != 0) {
      RETURN_IF_ERROR(WriteBlock(ib_at, ib));
      Action("group " + std::to_string(g) + ": inode bitmap rewritten from the inodes in use");
      changed = true;
    }
  }
  return changed;
}

namespace {
// Every group's descriptor as it should be: locations from the layout, counts
// from the blocks reached and the inodes in use (flags kept).
std::vector<GroupDesc> CountedDescriptors(const Checker& c) {
  std::vector<GroupDesc> descs(c.sb_.group_count);
  for (uint32_t g = 0; g < c.sb_.group_count; ++g) {
    GroupDesc& d = descs[g];
    d = c.descs_[g];
    d.block_bitmap = c.layout_.block_bitmap_start + g;
    d.inode_bitmap = c.layout_.inode_bitmap_start + g;
    d.inode_table = c.layout_.inode_table_start + uint64_t{g} * c.layout_.inode_table_blocks;
    const uint64_t first = c.layout_.group_first_block(g);
    d.free_blocks = 0;
    for (uint32_t i = 0; i < c.layout_.group_blocks(g); ++i) {
      d.free_blocks += c.block_used_[first + i] ? 0 : 1;
    }
    d.free_inodes = d.used_dirs = 0;
    for (uint32_t i = 0; i < c.sb_.inodes_per_group; ++i) {
      const uint64_t ino = uint64_t{g} * c.sb_.inodes_per_group + i + 1;
      auto it = c.inodes_.find(ino);
      if (ino >= c.sb_.first_ino && it == c.inodes_.end()) ++d.free_inodes;
      if (it != c.inodes_.end() && S_ISDIR(it->second.mode)) ++d.used_dirs;
    }
  }
  return descs;
}
}  // namespace

// Descriptors (locations from the layout, counts from the computed state) and
// the superblock's free counts; written only when they differ.
Result<bool> Repairer::RewriteDescriptors() {
  const Checker& c = *checker_;
  const uint32_t bs = c.block_size_;
  const uint32_t per = DescsPerBlock(bs);
  const std::vector<GroupDesc> descs = CountedDescriptors(c);
  uint64_t free_blocks = 0, free_inodes = 0;
  for (const GroupDesc& d : descs) {
    free_blocks += d.free_blocks;
    free_inodes += d.free_inodes;
  }
  bool changed = false;
  for (uint32_t b = 0; b < c.layout_.gdt_blocks; ++b) {
    ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlock(1 + b));
    AlignedBuffer want = AllocateAligned(bs, 4096);
    std::memcpy(want.get(), buf.get(), bs);
    for (uint32_t g = b * per; g < std::min(c.sb_.group_count, (b + 1) * per); ++g) {
      descs[g].Encode(want.get() + kBlockHeaderSize + (g % per) * kGroupDescSize);
    }
    BlockHeader{BlockType::kGroupDesc, 1 + b, 0, 0}.Encode(want.get());
    SealBlock(c.seed_, std::span<uint8_t>(want.get(), bs));
    if (std::memcmp(want.get(), buf.get(), bs) == 0) continue;
    RETURN_IF_ERROR(WriteBlock(1 + b, want));
    Action("group descriptor block " + std::to_string(1 + b) + ": counts/locations rewritten");
    changed = true;
  }
  if (c.sb_.free_blocks_count != free_blocks || c.sb_.free_inodes_count != free_inodes) {
    Superblock sb = c.sb_;
    sb.free_blocks_count = free_blocks;
    sb.free_inodes_count = free_inodes;
    RETURN_IF_ERROR(WriteSuperblock(sb));
    Action("superblock: free counts set to " + std::to_string(free_blocks) + " blocks, " +
           std::to_string(free_inodes) + " inodes");
    changed = true;
  }
  return changed;
}

// The primary superblock record; the rest of its device sector is kept.
Status Repairer::WriteSuperblock(const Superblock& sb) {
  const size_t len = std::max<size_t>(kSuperblockSize, dev_.logical_block_size());
  AlignedBuffer buf = AllocateAligned(len, std::max<size_t>(4096, dev_.logical_block_size()));
  RETURN_IF_ERROR(dev_.Read(0, buf.get(), len));
  sb.Encode(buf.get());
  RETURN_IF_ERROR(dev_.Write(0, buf.get(), len));
  checker_->sb_ = sb;  // later steps of this pass build on it
  return Status::Ok();
}

}  // namespace repair_internal
}  // namespace foliofs::format
