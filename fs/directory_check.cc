// Directory::Check: a full walk of the hash tree verifying every FORMAT.md §8
// invariant (the same rules fsck's directory pass applies, as errors).
#include <string>

#include "fs/directory.h"

namespace foliofs::fs {

using format::DirLeaf;
using format::kDirIndexContinued;

Status Directory::Check() {
  const uint32_t blocks = storage_.block_count();
  if (blocks == 0) return Corrupt(0, "directory has no blocks");
  std::vector<LeafLink> leaves;
  std::vector<bool> seen(blocks, false);
  RETURN_IF_ERROR(CheckNode(0, -1, 0, UINT64_MAX, &leaves, &seen));
  for (size_t i = 0; i < leaves.size(); ++i) {
    const uint32_t next = i + 1 < leaves.size() ? leaves[i + 1].lblk : 0;
    if (leaves[i].next != next) {
      return Corrupt(leaves[i].lblk, "next_leaf " + std::to_string(leaves[i].next) +
                                         ", expected " + std::to_string(next));
    }
  }
  return Status::Ok();
}

// `level`: -1 for the root (any kind, any depth), 0 for a leaf, d + 1 for an
// index node of depth d. Every hash under the node must lie in [lo, hi].
Status Directory::CheckNode(uint32_t lblk, int level, uint64_t lo, uint64_t hi,
                            std::vector<LeafLink>* leaves, std::vector<bool>* seen) {
  if (lblk >= seen->size() || (*seen)[lblk]) {
    return Corrupt(lblk, "index points past the end or at a block already reached");
  }
  (*seen)[lblk] = true;
  ASSIGN_OR_RETURN(journal::BufferRef buffer, ReadBlock(lblk));
  auto type = format::PeekBlockType(buffer->bytes());
  if (type.ok() && *type == format::BlockType::kDirIndex) {
    if (level == 0) return Corrupt(lblk, "index node where a leaf was expected");
    ASSIGN_OR_RETURN(IndexLevel node,
                     DecodeIndex(lblk, buffer, level > 0 ? level - 1 : -1, lo));
    auto decoded = format::DecodeDirIndex(buffer->bytes(), buffer->blocknr(), ino_, seed_);
    if (!decoded.ok()) return Corrupt(lblk, decoded.status().message());
    const auto& e = decoded->entries;
    if (e.back().hash > hi) return Corrupt(lblk, "index key above the parent's range");
    for (size_t k = 0; k < e.size(); ++k) {
      uint64_t child_hi = hi;
      if (k + 1 < e.size()) {
        child_hi = (e[k + 1].flags & kDirIndexContinued) ? e[k + 1].hash : e[k + 1].hash - 1;
      }
      RETURN_IF_ERROR(CheckNode(e[k].child, node.depth, e[k].hash, child_hi, leaves, seen));
    }
    return Status::Ok();
  }
  if (level > 0) return Corrupt(lblk, "leaf where an index node was expected");
  auto leaf = format::DecodeDirLeaf(buffer->bytes(), buffer->blocknr(), ino_, seed_);
  if (!leaf.ok()) return Corrupt(lblk, leaf.status().message());
  RETURN_IF_ERROR(CheckLeafEntries(lblk, *leaf, lo, hi));
  leaves->push_back(LeafLink{lblk, leaf->next_leaf});
  return Status::Ok();
}

Status Directory::CheckLeafEntries(uint32_t lblk, const DirLeaf& leaf, uint64_t lo, uint64_t hi) {
  for (const format::DirEntry& e : leaf.entries) {
    const std::span<const uint8_t> name(reinterpret_cast<const uint8_t*>(e.name.data()),
                                        e.name.size());
    if (e.hash != Hash(name)) return Corrupt(lblk, "entry hash does not match its name");
    if (e.hash < lo || e.hash > hi) {
      return Corrupt(lblk, "entry hash " + std::to_string(e.hash) + " outside the range [" +
                               std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
  }
  return Status::Ok();
}

}  // namespace foliofs::fs
