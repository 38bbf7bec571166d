// Verifier passes over directories (hash B+tree shape, entries, hashes, parent
// fields), link counts, lost+found and the orphan list.
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "fs/format/verify_internal.h"

namespace foliofs::format::verify_internal {

namespace {
std::string DirName(uint64_t ino) { return "directory " + std::to_string(ino); }

// The name with non-printable bytes escaped, for messages.
std::string Printable(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return "'" + out + "'";
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
}  // namespace

Status Checker::CheckDirectories() {
  auto root = inodes_.find(sb_.root_ino);
  if (root == inodes_.end() || !S_ISDIR(root->second.mode)) {
    Error("root inode " + std::to_string(sb_.root_ino) + " is not an in-use directory",
          Problem::kRebuildDir);
    rebuild_dirs_.insert(sb_.root_ino);
  } else if (root->second.parent != sb_.root_ino) {
    Error("root directory: parent field is not the root itself", Problem::kParent);
    parent_fixes_[sb_.root_ino] = sb_.root_ino;
  }
  for (auto& [ino, info] : inodes_) {
    if (S_ISDIR(info.mode)) RETURN_IF_ERROR(CheckDirectory(ino, info));
  }
  if (sb_.lost_found_ino != 0) {
    auto lf = inodes_.find(sb_.lost_found_ino);
    if (lf == inodes_.end() || !S_ISDIR(lf->second.mode)) {
      Error("lost+found (inode " + std::to_string(sb_.lost_found_ino) +
                ") is not an in-use directory",
            Problem::kRebuildDir);
      rebuild_dirs_.insert(sb_.lost_found_ino);
    } else if (lost_found_seen_ != sb_.lost_found_ino) {
      // Unnamed, the unattached step links it back; named elsewhere, it stays.
      Error("the root has no entry 'lost+found' naming inode " +
                std::to_string(sb_.lost_found_ino),
            lf->second.refs == 0 ? Problem::kUnattached : Problem::kOther);
    }
  }
  CheckLinkCounts();
  CheckOrphanList();
  return Status::Ok();
}

bool Checker::SalvageDirBlock(uint64_t ino, uint64_t block, const Status& why,
                              AlignedBuffer& buf) {
  AlignedBuffer copy = AllocateAligned(block_size_, 4096);
  std::memcpy(copy.get(), buf.get(), block_size_);
  std::span<uint8_t> span(copy.get(), block_size_);
  SealBlock(seed_, span);
  auto type = PeekBlockType(span);
  const bool ok = type.ok() && (*type == BlockType::kDirIndex
                                    ? DecodeDirIndex(span, block, ino, seed_).ok()
                                    : DecodeDirLeaf(span, block, ino, seed_).ok());
  if (!ok) return false;
  Error(DirName(ino) + ": " + why.message() + " (salvageable: its contents decode)",
        Problem::kSalvageBlock);
  salvage_blocks_.emplace_back(block, ino);
  buf = std::move(copy);
  return true;
}

// Physical block of logical block `lblk` of a directory.
Result<uint64_t> Checker::DirBlock(uint64_t ino, const InodeInfo& dir, uint32_t lblk) {
  auto it = dir.extents.upper_bound(lblk);
  if (it == dir.extents.begin()) return Status::Corrupted(DirName(ino) + ": block unmapped");
  --it;
  const Extent& e = it->second;
  if (lblk >= e.logical + e.length) return Status::Corrupted(DirName(ino) + ": block unmapped");
  const uint64_t phys = e.physical + (lblk - e.logical);
  if (phys < layout_.front_end || phys >= sb_.blocks_count) {
    return Status::Corrupted(DirName(ino) + ": block " + std::to_string(lblk) +
                             " maps outside the data area");
  }
  return phys;
}

Status Checker::CheckDirectory(uint64_t ino, InodeInfo& dir) {
  uint64_t expect = 0;
  for (const auto& [logical, e] : dir.extents) {
    if (logical != expect || e.unwritten) {
      DirError(ino,
               DirName(ino) + ": blocks are not mapped contiguously from 0 as written extents");
      return Status::Ok();
    }
    expect += e.length;
  }
  if (expect == 0 || dir.size != expect * block_size_) {
    DirError(ino, DirName(ino) + ": size " + std::to_string(dir.size) + " does not match its " +
                      std::to_string(expect) + " blocks");
    if (expect == 0) return Status::Ok();
  }
  std::vector<LeafLink> leaves;
  std::vector<bool> seen(expect, false);
  RETURN_IF_ERROR(CheckDirNode(ino, dir, 0, -1, 0, UINT64_MAX, &leaves, &seen));
  for (size_t i = 0; i < leaves.size(); ++i) {
    const uint32_t next = i + 1 < leaves.size() ? leaves[i + 1].lblk : 0;
    if (leaves[i].next != next) {
      DirError(ino, DirName(ino) + ": leaf " + std::to_string(leaves[i].lblk) + " next_leaf is " +
                        std::to_string(leaves[i].next) + ", expected " + std::to_string(next));
    }
  }
  for (size_t b = 0; b < seen.size(); ++b) {
    if (!seen[b]) Warn(DirName(ino) + ": block " + std::to_string(b) + " is not in the tree");
  }
  return Status::Ok();
}

// `level` is the node's expected height (0 = leaf, -1 = any, for the root);
// every hash in the subtree must lie in [lo, hi].
Status Checker::CheckDirNode(uint64_t ino, InodeInfo& dir, uint32_t lblk, int level,
                             uint64_t lo, uint64_t hi, std::vector<LeafLink>* leaves,
                             std::vector<bool>* seen) {
  if (lblk >= seen->size() || (*seen)[lblk]) {
    DirError(ino, DirName(ino) + ": index points at block " + std::to_string(lblk) +
                      " (past the end or already visited)");
    return Status::Ok();
  }
  (*seen)[lblk] = true;
  auto phys = DirBlock(ino, dir, lblk);
  if (!phys.ok()) {
    DirError(ino, phys.status().message());
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(AlignedBuffer buf, ReadBlocks(*phys, 1));
  auto type = PeekBlockType(Block(buf, 0));
  if (type.ok() && (*type == BlockType::kDirIndex || *type == BlockType::kDirLeaf)) {
    Status st = CheckBlock(Block(buf, 0), *type, *phys, seed_);
    if (!st.ok()) SalvageDirBlock(ino, *phys, st, buf);
  }
  if (type.ok() && *type == BlockType::kDirIndex) {
    auto index = DecodeDirIndex(Block(buf, 0), *phys, ino, seed_);
    if (!index.ok()) {
      DirError(ino, DirName(ino) + ": " + index.status().message());
      return Status::Ok();
    }
    if (level == 0 || (level > 0 && index->depth + 1 != level) || index->entries[0].hash != lo) {
      DirError(ino, DirName(ino) + ": index node at block " + std::to_string(lblk) +
                        " has the wrong depth or lower bound");
      return Status::Ok();
    }
    for (size_t k = 0; k < index->entries.size(); ++k) {
      const auto& e = index->entries[k];
      uint64_t child_hi = hi;
      if (k + 1 < index->entries.size()) {
        const auto& n = index->entries[k + 1];
        child_hi = (n.flags & kDirIndexContinued) ? n.hash : n.hash - 1;
      }
      RETURN_IF_ERROR(CheckDirNode(ino, dir, e.child, index->depth, e.hash, child_hi, leaves, seen));
    }
    return Status::Ok();
  }
  auto leaf = DecodeDirLeaf(Block(buf, 0), *phys, ino, seed_);
  if (!leaf.ok()) {
    DirError(ino, DirName(ino) + ": " + leaf.status().message());
    return Status::Ok();
  }
  if (level > 0) DirError(ino, DirName(ino) + ": leaf found where an index node was expected");
  for (const DirEntry& e : leaf->entries) {
    if (e.hash < lo || e.hash > hi) {
      DropEntry(ino, *phys, e, DirName(ino) + ": entry " + Printable(e.name) +
                                   " is in the wrong leaf");
      continue;
    }
    CheckDirEntry(ino, dir, *phys, e);
  }
  leaves->push_back(LeafLink{lblk, leaf->next_leaf});
  return Status::Ok();
}

void Checker::DropEntry(uint64_t dir_ino, uint64_t leaf_block, const DirEntry& e,
                        std::string message) {
  Error(std::move(message), Problem::kBadEntry);
  entry_fixes_.push_back(EntryFix{dir_ino, leaf_block, e, true, FileType::kUnknown});
}

// An entry that repair would remove is not counted as a name of its target.
void Checker::CheckDirEntry(uint64_t dir_ino, InodeInfo& dir, uint64_t leaf_block,
                            const DirEntry& e) {
  const std::string what = DirName(dir_ino) + ": entry " + Printable(e.name);
  if (NameHash(sb_.hash_seed, Bytes(e.name)) != e.hash) {
    DropEntry(dir_ino, leaf_block, e, what + " has the wrong hash");
    return;
  }
  auto it = inodes_.find(e.ino);
  if (it == inodes_.end()) {
    const std::string message =
        what + " names inode " + std::to_string(e.ino) + ", which is not in use";
    if (unmarked_valid_.count(e.ino)) {
      Error(message + " (its record is valid: the inode bitmap is wrong)", Problem::kInodeBitmap);
      mark_inodes_.insert(e.ino);
    } else {
      DropEntry(dir_ino, leaf_block, e, message);
    }
    return;
  }
  InodeInfo& target = it->second;
  if (e.ino == sb_.root_ino) {
    DropEntry(dir_ino, leaf_block, e, what + " names the root directory");
    return;
  }
  if (S_ISDIR(target.mode) && target.refs != 0) {
    DropEntry(dir_ino, leaf_block, e,
              what + ": directory " + std::to_string(e.ino) + " has several names");
    return;
  }
  if (FileTypeFromMode(target.mode) != e.type) {
    Error(what + ": file type differs from the inode", Problem::kEntryType);
    entry_fixes_.push_back(EntryFix{dir_ino, leaf_block, e, false, FileTypeFromMode(target.mode)});
  }
  ++target.refs;
  if (S_ISDIR(target.mode)) {
    ++dir.subdirs;
    if (target.parent != dir_ino) {
      Error(what + ": directory's parent field is " + std::to_string(target.parent),
            Problem::kParent);
      parent_fixes_[e.ino] = dir_ino;
    }
  }
  if (dir_ino == sb_.root_ino && e.name == "lost+found") lost_found_seen_ = e.ino;
}

void Checker::CheckLinkCounts() {
  for (const auto& [ino, info] : inodes_) {
    const bool orphan = (info.flags & kInodeFlagOrphan) != 0;
    const std::string what = "inode " + std::to_string(ino);
    uint32_t expect = info.refs;
    if (S_ISDIR(info.mode)) {
      ++report_->directories;
      expect = 2 + info.subdirs;
      if (ino == sb_.root_ino) continue;  // entries naming it were dropped
      if (info.refs == 0 && orphan) continue;
    }
    if (info.refs == 0 && !orphan) {
      Error(what + " is in use but unattached (no directory entry, not an orphan)",
            Problem::kUnattached);
      continue;
    }
    if (info.nlink != expect && !(orphan && info.nlink == 0)) {
      Error(what + ": link count " + std::to_string(info.nlink) + ", counted " +
                std::to_string(expect),
            Problem::kLinkCount);
    }
  }
  auto root = inodes_.find(sb_.root_ino);
  if (root != inodes_.end() && S_ISDIR(root->second.mode) &&
      root->second.nlink != 2 + root->second.subdirs) {
    Error("root directory: link count " + std::to_string(root->second.nlink) + ", counted " +
              std::to_string(2 + root->second.subdirs),
          Problem::kLinkCount);
  }
}

void Checker::CheckOrphanList() {
  std::unordered_set<uint64_t> on_list;
  for (uint64_t cur = sb_.orphan_head; cur != 0;) {
    auto it = inodes_.find(cur);
    if (it == inodes_.end()) {
      Error("orphan list names inode " + std::to_string(cur) + ", which is not in use",
            Problem::kOrphanList);
      break;
    }
    if (!on_list.insert(cur).second) {
      Error("orphan list has a cycle at inode " + std::to_string(cur), Problem::kOrphanList);
      break;
    }
    if (!(it->second.flags & kInodeFlagOrphan)) {
      Error("inode " + std::to_string(cur) + " is on the orphan list without the ORPHAN flag",
            Problem::kOrphanList);
    }
    cur = it->second.orphan_next;
  }
  if (!on_list.empty()) {
    Warn("the orphan list holds " + std::to_string(on_list.size()) +
         " inodes (mount or fsck -y/-p frees or truncates them)");
  }
  for (const auto& [ino, info] : inodes_) {
    if ((info.flags & kInodeFlagOrphan) && !on_list.count(ino)) {
      Error("inode " + std::to_string(ino) + " has the ORPHAN flag but is not on the orphan list",
            Problem::kOrphanList);
    }
  }
}

}  // namespace foliofs::format::verify_internal
