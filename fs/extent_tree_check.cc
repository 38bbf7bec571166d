// ExtentTree::Check: every invariant of FORMAT.md §7 over the whole tree.
#include <algorithm>
#include <string>

#include "fs/extent_tree.h"

namespace foliofs::fs {

using format::kMaxExtentLength;
using format::kMaxLogicalBlocks;

namespace {
std::string Span(uint64_t a, uint64_t b) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + ")";
}
}  // namespace

// The root must be the one Load decoded (max 4; an index root non-empty);
// below it every node is checked by CheckNode, each node block referenced
// once, and their number must match node_blocks().
Status ExtentTree::Check() {
  RETURN_IF_ERROR(RequireLoaded());
  auto decoded = format::DecodeExtentNode(root_.data(), root_.size());
  if (!decoded.ok()) return Corrupt(0, decoded.status().message());
  if (decoded->header.max != format::kInodeExtentRootMax) return Corrupt(0, "max is not 4");
  if (decoded->header.depth > 0 && decoded->indexes.empty()) return Corrupt(0, "empty index root");
  std::vector<uint64_t> seen;
  RETURN_IF_ERROR(CheckNode(*decoded, 0, 0, kMaxLogicalBlocks, &seen));
  std::sort(seen.begin(), seen.end());
  auto twice = std::adjacent_find(seen.begin(), seen.end());
  if (twice != seen.end()) return Corrupt(*twice, "referenced by two index records");
  if (seen.size() != node_blocks_) {
    return Corrupt(0, std::to_string(seen.size()) + " node blocks, but " +
                          std::to_string(node_blocks_) + " accounted");
  }
  return Status::Ok();
}

// Records strictly sorted and inside [low, high) — the parent's key and the
// next key up — so every key ≤ its child's first key and subtrees are
// disjoint; extents of length 1..kMaxExtentLength, non-overlapping, below
// 2^32. Children are read with the depth one less (ReadNode checks header,
// owner, block number, checksum, exact max, non-emptiness).
Status ExtentTree::CheckNode(const format::ExtentNode& node, uint64_t blocknr, uint64_t low,
                             uint64_t high, std::vector<uint64_t>* seen) {
  if (node.header.depth == 0) {
    uint64_t prev_end = low;
    for (const Extent& e : node.extents) {
      const std::string what = "extent " + Span(e.logical, End(e));
      if (e.length == 0 || e.length > kMaxExtentLength) return Corrupt(blocknr, what + ": length");
      if (e.logical < prev_end)
        return Corrupt(blocknr, what + ": unsorted, overlapping or below its key");
      if (End(e) > high) return Corrupt(blocknr, what + ": beyond " + std::to_string(high));
      prev_end = End(e);
    }
    return Status::Ok();
  }
  for (size_t i = 0; i < node.indexes.size(); ++i) {
    const uint64_t key = node.indexes[i].logical;
    const uint64_t child_high = i + 1 < node.indexes.size() ? node.indexes[i + 1].logical : high;
    if (key < low || key >= child_high) {
      return Corrupt(blocknr,
                     "index key " + std::to_string(key) + " outside " + Span(low, child_high));
    }
    const uint64_t child = node.indexes[i].child;
    seen->push_back(child);
    ASSIGN_OR_RETURN(PathLevel level, ReadNode(child, node.header.depth - 1, key, child_high));
    RETURN_IF_ERROR(CheckNode(level.node, child, key, child_high, seen));
  }
  return Status::Ok();
}

}  // namespace foliofs::fs
