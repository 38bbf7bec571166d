// Repair steps on directories: removing or retyping entries, and linking
// unattached inodes into lost+found (lost+found itself back into the root).
#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "fs/format/repair_internal.h"
#include "pagecache/base/log.h"

namespace foliofs::format::repair_internal {

namespace {
std::span<const uint8_t> Bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
bool SameEntry(const DirEntry& a, const DirEntry& b) {
  return a.hash == b.hash && a.ino == b.ino && a.name == b.name;
}
// Leaf order (FORMAT.md §8): hash, then name as unsigned bytes.
bool EntryLess(const DirEntry& a, const DirEntry& b) {
  if (a.hash != b.hash) return a.hash < b.hash;
  return std::lexicographical_compare(
      a.name.begin(), a.name.end(), b.name.begin(), b.name.end(),
      [](char x, char y) { return static_cast<uint8_t>(x) < static_cast<uint8_t>(y); });
}
}  // namespace

// Applies the verifier's entry fixes, one leaf rewrite per leaf block.
Result<bool> Repairer::FixEntries() {
  std::map<uint64_t, std::vector<const verify_internal::EntryFix*>> by_leaf;
  for (const auto& fix : checker_->entry_fixes_) by_leaf[fix.leaf_block].push_back(&fix);
  for (const auto& [at, fixes] : by_leaf) {
    const uint64_t dir = fixes.front()->dir;
    ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlock(at));
    std::span<uint8_t> block(buf.get(), checker_->block_size_);
    auto decoded = DecodeDirLeaf(block, at, dir, checker_->seed_);
    if (!decoded.ok()) continue;  // changed under us: the next pass looks again
    DirLeaf& leaf = *decoded;
    for (const auto* fix : fixes) {
      auto it = std::find_if(leaf.entries.begin(), leaf.entries.end(),
                             [&](const DirEntry& e) { return SameEntry(e, fix->entry); });
      if (it == leaf.entries.end()) continue;
      if (fix->remove) {
        leaf.entries.erase(it);
        Action("directory " + std::to_string(dir) + ": entry '" + fix->entry.name + "' (inode " +
               std::to_string(fix->entry.ino) + ") removed");
      } else {
        it->type = fix->type;
        Action("directory " + std::to_string(dir) + ": entry '" + fix->entry.name +
               "' file type corrected");
      }
    }
    RETURN_IF_ERROR(EncodeDirLeaf(leaf, at, dir, checker_->seed_, block));
    RETURN_IF_ERROR(WriteBlock(at, buf));
  }
  return !by_leaf.empty();
}

// Directory blocks whose only damage is their checksum keep their contents.
Result<bool> Repairer::ResealDirBlocks() {
  for (const auto& [at, dir] : checker_->salvage_blocks_) {
    ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlock(at));
    SealBlock(checker_->seed_, std::span<uint8_t>(buf.get(), checker_->block_size_));
    RETURN_IF_ERROR(WriteBlock(at, buf));
    Action("directory " + std::to_string(dir) + ": block " + std::to_string(at) +
           " resealed, its entries kept");
  }
  return !checker_->salvage_blocks_.empty();
}

// The lowest block nobody uses (the verifier's map), taken for repair.
Result<uint64_t> Repairer::AllocateBlock() {
  auto& used = checker_->block_used_;
  for (uint64_t b = checker_->layout_.front_end; b < used.size(); ++b) {
    if (used[b]) continue;
    used[b] = true;
    return b;
  }
  return Status::Error(ENOSPC, "no free block for repair");
}

// A damaged root or lost+found becomes a new empty directory in a new block
// (the old blocks are freed by the bitmap rebuild). What it held reappears in
// lost+found through the unattached step; lost+found goes back into the root.
Result<bool> Repairer::RebuildSpecialDirs() {
  const Checker& c = *checker_;
  bool changed = false;
  for (uint64_t ino : c.rebuild_dirs_) {
    auto block = AllocateBlock();
    if (!block.ok()) break;  // full: the error stands
    const uint32_t bs = c.block_size_;
    AlignedBuffer buf = AllocateAligned(bs, 4096);
    RETURN_IF_ERROR(
        EncodeDirLeaf(DirLeaf{}, *block, ino, c.seed_, std::span<uint8_t>(buf.get(), bs)));
    RETURN_IF_ERROR(WriteBlock(*block, buf));
    Inode dir;
    dir.ino = ino;
    dir.mode = ino == c.sb_.root_ino ? 040755 : 040700;
    dir.nlink = 2;
    dir.size = bs;
    dir.blocks = 1;
    dir.parent = c.sb_.root_ino;
    dir.atime = dir.mtime = dir.ctime = dir.crtime = Timespec{c.sb_.write_time, 0};
    ExtentNode root;
    root.header.max = kInodeExtentRootMax;
    root.extents.push_back(Extent{0, *block, 1, false});
    RETURN_IF_ERROR(EncodeExtentNode(root, dir.i_block.data(), dir.i_block.size()));
    RETURN_IF_ERROR(WriteInode(dir));
    RETURN_IF_ERROR(SetInodeBit(ino, true));
    Action(std::string(ino == c.sb_.root_ino ? "root directory" : "lost+found") + " (inode " +
           std::to_string(ino) + ") recreated empty in block " + std::to_string(*block));
    changed = true;
  }
  return changed;
}

// Inodes in use that no entry names and that are not orphans: "#<ino>" in
// lost+found when linked (nlink > 0), freed otherwise. lost+found itself
// goes back into the root under its own name.
Result<bool> Repairer::ReattachUnattached() {
  const Checker& c = *checker_;
  std::vector<uint64_t> unattached;
  for (const auto& [ino, info] : c.inodes_) {
    if (ino == c.sb_.root_ino || info.refs != 0 || (info.flags & kInodeFlagOrphan)) continue;
    unattached.push_back(ino);
  }
  bool changed = false;
  for (uint64_t ino : unattached) {
    if (c.inodes_.at(ino).nlink == 0 && ino != c.sb_.lost_found_ino) {
      RETURN_IF_ERROR(FreeInode(ino, "unattached with no links, freed"));
      changed = true;
      continue;
    }
    ASSIGN_OR_RETURN(Inode inode, ReadInode(ino));
    ASSIGN_OR_RETURN(bool linked, LinkIntoLostFound(ino, inode));
    changed = changed || linked;
  }
  return changed;
}

// The leaf of directory `dir_ino` where a name with `hash` belongs (the
// lookup descent of FORMAT.md §8). Physical block number.
Result<uint64_t> Repairer::FindLeafFor(uint64_t dir_ino, uint64_t hash) {
  const auto& dir = checker_->inodes_.at(dir_ino);
  uint32_t lblk = 0;
  for (int level = 0; level <= 9; ++level) {
    ASSIGN_OR_RETURN(uint64_t at, checker_->DirBlock(dir_ino, dir, lblk));
    ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlock(at));
    std::span<const uint8_t> block(buf.get(), checker_->block_size_);
    ASSIGN_OR_RETURN(BlockType type, PeekBlockType(block));
    if (type != BlockType::kDirIndex) return at;
    ASSIGN_OR_RETURN(DirIndex index, DecodeDirIndex(block, at, dir_ino, checker_->seed_));
    auto it = std::upper_bound(index.entries.begin(), index.entries.end(), hash,
                               [](uint64_t h, const DirIndexEntry& e) { return h < e.hash; });
    lblk = std::prev(it)->child;  // entry 0's hash is the node's lower bound
  }
  return Status::Corrupted("directory " + std::to_string(dir_ino) + ": tree too deep");
}

// Inserts the entry in its leaf (no split: a full leaf leaves the inode
// unattached and the error standing). A directory's parent becomes its new
// parent; link counts are fixed by a later pass.
Result<bool> Repairer::LinkIntoLostFound(uint64_t ino, const Inode& inode) {
  const Checker& c = *checker_;
  const bool is_lf = ino == c.sb_.lost_found_ino;
  const uint64_t dir = is_lf ? c.sb_.root_ino : c.sb_.lost_found_ino;
  auto d = c.inodes_.find(dir);
  if (d == c.inodes_.end() || !S_ISDIR(d->second.mode) || c.bad_inodes_.count(dir)) {
    return false;
  }
  DirEntry e;
  e.name = is_lf ? "lost+found" : "#" + std::to_string(ino);
  e.hash = NameHash(c.sb_.hash_seed, Bytes(e.name));
  e.ino = ino;
  e.type = FileTypeFromMode(inode.mode);
  auto at = FindLeafFor(dir, e.hash);
  if (!at.ok()) return false;  // a damaged tree: the verifier reports it
  ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlock(*at));
  std::span<uint8_t> block(buf.get(), c.block_size_);
  auto leaf = DecodeDirLeaf(block, *at, dir, c.seed_);
  if (!leaf.ok()) return false;
  const bool taken = std::any_of(leaf->entries.begin(), leaf->entries.end(),
                                 [&](const DirEntry& x) { return x.name == e.name; });
  if (taken) return false;
  leaf->entries.insert(std::upper_bound(leaf->entries.begin(), leaf->entries.end(), e, EntryLess),
                       e);
  Status st = EncodeDirLeaf(*leaf, *at, dir, c.seed_, block);
  if (!st.ok()) {
    GetLogger("format")->warn("repair: cannot link inode {} into directory {}: {}", ino, dir,
                              st.ToString());
    return false;
  }
  RETURN_IF_ERROR(WriteBlock(*at, buf));
  if (S_ISDIR(inode.mode) && inode.parent != dir) {
    Inode moved = inode;
    moved.parent = dir;
    RETURN_IF_ERROR(WriteInode(moved));
  }
  Action("inode " + std::to_string(ino) + ": unattached, linked into directory " +
         std::to_string(dir) + " as '" + e.name + "'");
  return true;
}

}  // namespace foliofs::format::repair_internal
