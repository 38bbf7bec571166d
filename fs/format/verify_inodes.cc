// Verifier passes over the inode tables: each in-use inode's record, extent
// tree (ordered, non-overlapping, in bounds, not claimed twice) and xattrs.
#include <sys/stat.h>

#include <algorithm>

#include "fs/format/verify_internal.h"

namespace foliofs::format::verify_internal {

namespace {
std::string InodeName(uint64_t ino) { return "inode " + std::to_string(ino); }
constexpr size_t kInlineSymlinkMax = kInodeExtentRootSize;
}  // namespace

Status Checker::CheckInodeTables() {
  // Read in chunks so a large group's table (up to 256 MiB at 64 KiB blocks)
  // never has to fit in memory at once.
  constexpr uint64_t kChunkBytes = 8 << 20;
  const uint64_t chunk_blocks = std::max<uint64_t>(1, kChunkBytes / block_size_);
  const uint64_t per_block = block_size_ / kInodeSize;
  for (uint32_t g = 0; g < sb_.group_count; ++g) {
    const uint64_t table = layout_.inode_table_start + uint64_t{g} * layout_.inode_table_blocks;
    for (uint64_t b = 0; b < layout_.inode_table_blocks; b += chunk_blocks) {
      const uint64_t n = std::min<uint64_t>(chunk_blocks, layout_.inode_table_blocks - b);
      ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlocks(table + b, n));
      for (uint64_t i = 0; i < n * per_block; ++i) {
        const uint32_t slot = static_cast<uint32_t>(b * per_block + i);
        RETURN_IF_ERROR(CheckInodeSlot(g, slot, buf.get() + i * kInodeSize));
      }
    }
  }
  return Status::Ok();
}

Status Checker::CheckInodeSlot(uint32_t g, uint32_t slot, const uint8_t* rec) {
  const uint64_t ino = uint64_t{g} * sb_.inodes_per_group + slot + 1;
  const bool marked = bitmaps_ok_[g] ? TestBit(Block(inode_bitmaps_, g), slot)
                                     : !InodeRecordIsZero(rec);
  if (ino < sb_.first_ino && ino != sb_.root_ino) {
    if (!marked) {
      Error("reserved " + InodeName(ino) + " is not marked in use", Problem::kInodeBitmap);
    }
    return Status::Ok();
  }
  if (!marked) {
    // Free by the bitmap (which is authoritative), but remembered: an entry
    // naming it then means the bit, not the entry, is what is wrong.
    if (!InodeRecordIsZero(rec)) {
      auto inode = Inode::Decode(rec, seed_, ino);
      // The filesystem frees a record with nlink 0 and mode 0: never remembered.
      if (inode.ok() && inode->nlink > 0 && FileTypeFromMode(inode->mode) != FileType::kUnknown) {
        unmarked_valid_.insert(ino);
      }
    }
    return Status::Ok();
  }
  auto inode = Inode::Decode(rec, seed_, ino);
  if (!inode.ok()) {
    const std::string message =
        InodeName(ino) + " is marked in use but invalid: " + inode.status().message();
    if (InodeRecordIsZero(rec)) {  // never used: only the bit is wrong
      Error(message, Problem::kInodeBitmap);
      bad_inodes_.insert(ino);
    } else {
      InodeError(ino, message);
    }
    return Status::Ok();
  }
  InodeInfo info;
  info.mode = inode->mode;
  info.nlink = inode->nlink;
  info.flags = inode->flags;
  info.parent = inode->parent;
  info.size = inode->size;
  info.orphan_next = inode->orphan_next;
  if (FileTypeFromMode(inode->mode) == FileType::kUnknown) {
    InodeError(ino, InodeName(ino) + ": unknown file type in mode");
  }
  uint64_t nblocks = 0;
  if (inode->flags & kInodeFlagInlineData) {
    const bool ok_type = S_ISLNK(inode->mode) || S_ISCHR(inode->mode) || S_ISBLK(inode->mode);
    if (!ok_type || (S_ISLNK(inode->mode) && inode->size > kInlineSymlinkMax)) {
      InodeError(ino, InodeName(ino) + ": inline data on a file that cannot have it");
    }
  } else {
    RETURN_IF_ERROR(CheckExtentTree(ino, *inode, &info, &nblocks));
  }
  RETURN_IF_ERROR(CheckXattrs(ino, *inode, &nblocks));
  if (nblocks != inode->blocks) {
    Error(InodeName(ino) + ": blocks field " + std::to_string(inode->blocks) + ", counted " +
              std::to_string(nblocks),
          Problem::kInodeBlocks);
    blocks_fixes_[ino] = nblocks;
  }
  inodes_.emplace(ino, std::move(info));
  ++report_->inodes_in_use;
  return Status::Ok();
}

Status Checker::CheckExtentTree(uint64_t ino, const Inode& inode, InodeInfo* info,
                                uint64_t* nblocks) {
  auto root = DecodeExtentNode(inode.i_block.data(), inode.i_block.size());
  if (!root.ok()) {
    InodeError(ino, InodeName(ino) + ": extent root: " + root.status().message());
    return Status::Ok();
  }
  if (root->header.max != kInodeExtentRootMax) {
    InodeError(ino, InodeName(ino) + ": extent root max is not " +
                        std::to_string(kInodeExtentRootMax));
  }
  return CheckExtentNode(ino, *root, root->header.depth, 0, kMaxLogicalBlocks, info, nblocks);
}

// Checks `node` (whose keys must lie in [lo, hi)) and everything under it.
Status Checker::CheckExtentNode(uint64_t ino, const ExtentNode& node, int expect_depth,
                                uint64_t lo, uint64_t hi, InodeInfo* info, uint64_t* nblocks) {
  const std::string what = InodeName(ino);
  if (node.header.depth != expect_depth) {
    InodeError(ino, what + ": extent node depth " + std::to_string(node.header.depth) +
                        ", expected " + std::to_string(expect_depth));
    return Status::Ok();
  }
  if (node.header.depth == 0) {
    for (const Extent& e : node.extents) {
      if (e.logical < lo || e.logical + e.length > hi) {
        InodeError(ino, what + ": extent at logical " + std::to_string(e.logical) +
                            " lies outside its index range");
      }
      if (e.physical < layout_.front_end) {
        InodeError(ino, what + ": extent at logical " + std::to_string(e.logical) +
                            " points into the metadata region");
      } else {
        MarkBlocks(e.physical, e.length, what + " extent", ino);
      }
      *nblocks += e.length;
      if (S_ISDIR(info->mode)) info->extents.emplace(e.logical, e);
    }
    return Status::Ok();
  }
  for (size_t k = 0; k < node.indexes.size(); ++k) {
    const ExtentIndex& idx = node.indexes[k];
    const uint64_t child_hi = k + 1 < node.indexes.size() ? node.indexes[k + 1].logical : hi;
    if (idx.logical < lo || idx.logical >= hi) {
      InodeError(ino, what + ": extent index key outside its parent's range");
      continue;
    }
    if (idx.child < layout_.front_end || idx.child >= sb_.blocks_count) {
      InodeError(ino, what + ": extent index points at block " + std::to_string(idx.child) +
                          " outside the data area");
      continue;
    }
    if (!MarkBlocks(idx.child, 1, what + " extent node", ino)) continue;
    ++*nblocks;
    ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlocks(idx.child, 1));
    auto child = DecodeExtentBlock(Block(buf, 0), idx.child, ino, seed_);
    if (!child.ok()) {
      InodeError(ino, what + ": " + child.status().message());
      continue;
    }
    if (child->header.max != ExtentBlockMax(block_size_)) {
      InodeError(ino, what + ": extent block " + std::to_string(idx.child) + " has a wrong max");
    }
    RETURN_IF_ERROR(CheckExtentNode(ino, *child, expect_depth - 1, idx.logical, child_hi, info,
                                    nblocks));
  }
  return Status::Ok();
}

Status Checker::CheckXattrs(uint64_t ino, const Inode& inode, uint64_t* nblocks) {
  auto inline_xattrs = DecodeXattrEntries(inode.xattr_inline.data(), inode.xattr_inline_bytes);
  if (!inline_xattrs.ok()) {
    Error(InodeName(ino) + ": inline " + inline_xattrs.status().message());
  }
  if (inode.xattr_block == 0) return Status::Ok();
  if (inode.xattr_block < layout_.front_end || inode.xattr_block >= sb_.blocks_count) {
    Error(InodeName(ino) + ": xattr block outside the data area");
    return Status::Ok();
  }
  if (!MarkBlocks(inode.xattr_block, 1, InodeName(ino) + " xattr block")) return Status::Ok();
  ++*nblocks;
  ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlocks(inode.xattr_block, 1));
  auto xattrs = DecodeXattrBlock(Block(buf, 0), inode.xattr_block, ino, seed_);
  if (!xattrs.ok()) {
    Error(InodeName(ino) + ": " + xattrs.status().message());
    return Status::Ok();
  }
  // A name appears at most once across both areas (FORMAT.md §10).
  if (inline_xattrs.ok()) {
    for (const Xattr& x : *xattrs) {
      const bool dup = std::any_of(inline_xattrs->begin(), inline_xattrs->end(),
                                   [&](const Xattr& y) {
                                     return y.index == x.index && y.name == x.name;
                                   });
      if (dup) {
        Error(InodeName(ino) + ": xattr " + std::to_string(static_cast<unsigned>(x.index)) +
              "." + x.name + " is both inline and in the xattr block");
        break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace foliofs::format::verify_internal
