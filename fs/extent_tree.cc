// ExtentTree: loading, node reads, path walks, Lookup and ForEach (no handle).
// Changes live in extent_tree_insert.cc, extent_tree_remove.cc and the shared
// leaf-commit machinery in extent_tree_commit.cc; Check in extent_tree_check.cc.
#include "fs/extent_tree.h"

#include <algorithm>
#include <string>

namespace foliofs::fs {

using format::ExtentIndex;
using format::kMaxLogicalBlocks;

ExtentTree::ExtentTree(journal::Journal& journal, NodeAllocator& alloc, uint64_t ino, uint32_t seed,
                       uint32_t block_size,
                       const std::array<uint8_t, format::kInodeExtentRootSize>& root)
    : journal_(journal),
      alloc_(alloc),
      ino_(ino),
      seed_(seed),
      block_size_(block_size),
      root_(root) {}

Status ExtentTree::RequireLoaded() const {
  if (loaded_) return Status::Ok();
  return Status::Error(EINVAL, "extent tree of inode " + std::to_string(ino_) + ": not loaded");
}

Status ExtentTree::Corrupt(uint64_t blocknr, const std::string& what) const {
  const std::string where = blocknr == 0 ? "inline root" : "block " + std::to_string(blocknr);
  return Status::Corrupted("extent tree of inode " + std::to_string(ino_) + ": " + where + ": " +
                           what);
}

uint16_t ExtentTree::MaxEntries(size_t level) const {
  return level == 0 ? format::kInodeExtentRootMax : format::ExtentBlockMax(block_size_);
}

uint32_t ExtentTree::depth() const { return root_node_.header.depth; }
uint64_t ExtentTree::node_blocks() const { return node_blocks_; }

// See the formula in the header: path write access, a new node per level plus
// a new root level, a freed node per block level.
int ExtentTree::CreditsPerChange(uint32_t depth) {
  const int d = static_cast<int>(depth);
  return d + (d + 1) * (1 + kCreditsPerNodeAlloc) + d * (1 + kCreditsPerNodeAlloc);
}

Status ExtentTree::Load() {
  auto node = format::DecodeExtentNode(root_.data(), root_.size());
  if (!node.ok()) return Corrupt(0, node.status().message());
  if (node->header.max != format::kInodeExtentRootMax) {
    return Corrupt(0, "max " + std::to_string(node->header.max) + ", expected 4");
  }
  if (node->header.depth > 0 && node->indexes.empty()) return Corrupt(0, "empty index root");
  uint64_t count = 0;
  RETURN_IF_ERROR(CountNodes(*node, kMaxLogicalBlocks, &count));
  root_node_ = std::move(*node);
  node_blocks_ = count;
  loaded_ = true;
  return Status::Ok();
}

// Adds the nodes below `node` to *count, reading only index nodes.
Status ExtentTree::CountNodes(const format::ExtentNode& node, uint64_t high, uint64_t* count) {
  if (node.header.depth == 0) return Status::Ok();
  *count += node.indexes.size();
  if (node.header.depth == 1) return Status::Ok();
  for (size_t i = 0; i < node.indexes.size(); ++i) {
    const uint64_t child_high = i + 1 < node.indexes.size() ? node.indexes[i + 1].logical : high;
    ASSIGN_OR_RETURN(PathLevel child, ReadNode(node.indexes[i].child, node.header.depth - 1,
                                               node.indexes[i].logical, child_high));
    RETURN_IF_ERROR(CountNodes(child.node, child_high, count));
  }
  return Status::Ok();
}

// Reads and decodes one block node, checking what a walk relies on: header,
// owner, block number, checksum (DecodeExtentBlock), the expected depth, §7's
// exact max, non-emptiness and that its records lie in [low, high).
Result<ExtentTree::PathLevel> ExtentTree::ReadNode(uint64_t blocknr, uint16_t depth, uint64_t low,
                                                   uint64_t high) {
  auto buffer = journal_.buffers().Read(blocknr);
  if (!buffer.ok()) {
    return buffer.status().WithContext("extent tree of inode " + std::to_string(ino_) + ": block " +
                                       std::to_string(blocknr));
  }
  auto node = format::DecodeExtentBlock((*buffer)->bytes(), blocknr, ino_, seed_);
  if (!node.ok()) return Corrupt(blocknr, node.status().message());
  const format::ExtentHeader& h = node->header;
  if (h.depth != depth) {
    return Corrupt(blocknr,
                   "depth " + std::to_string(h.depth) + ", expected " + std::to_string(depth));
  }
  if (h.max != MaxEntries(1)) return Corrupt(blocknr, "max " + std::to_string(h.max));
  if (Entries(*node) == 0) return Corrupt(blocknr, "empty node");
  const uint64_t last = depth == 0 ? End(node->extents.back()) : node->indexes.back().logical + 1;
  if (FirstKey(*node) < low || last > high) {
    return Corrupt(blocknr, "records outside the parent's range [" + std::to_string(low) + ", " +
                                std::to_string(high) + ")");
  }
  PathLevel level;
  level.node = std::move(*node);
  level.blocknr = blocknr;
  level.buffer = std::move(*buffer);
  level.high = high;
  return level;
}

// Appends the child `index` of path->back() (an index node) to the path.
Status ExtentTree::Descend(Path* path, size_t index) {
  PathLevel& parent = path->back();
  parent.index = index;
  const std::vector<ExtentIndex>& keys = parent.node.indexes;
  const uint64_t high = index + 1 < keys.size() ? keys[index + 1].logical : parent.high;
  ASSIGN_OR_RETURN(PathLevel child, ReadNode(keys[index].child, parent.node.header.depth - 1,
                                             keys[index].logical, high));
  path->push_back(std::move(child));
  return Status::Ok();
}

// The path to the leaf whose range holds `lblk`: at each index node the last
// key ≤ lblk (the first child when lblk precedes every key).
Result<ExtentTree::Path> ExtentTree::FindPath(uint64_t lblk) {
  Path path(1);
  path[0].node = root_node_;
  while (path.back().node.header.depth > 0) {
    const std::vector<ExtentIndex>& keys = path.back().node.indexes;
    auto it = std::upper_bound(keys.begin(), keys.end(), lblk,
                               [](uint64_t v, const ExtentIndex& x) { return v < x.logical; });
    const size_t index = it == keys.begin() ? 0 : static_cast<size_t>(it - keys.begin()) - 1;
    RETURN_IF_ERROR(Descend(&path, index));
  }
  return path;
}

// Moves `path` to the next leaf to the right; false (path unchanged) if none.
Result<bool> ExtentTree::NextLeaf(Path* path) {
  size_t level = path->size() - 1;
  while (level > 0 && (*path)[level - 1].index + 1 >= Entries((*path)[level - 1].node)) --level;
  if (level == 0) return false;
  path->resize(level);
  RETURN_IF_ERROR(Descend(path, path->back().index + 1));
  while (path->back().node.header.depth > 0) RETURN_IF_ERROR(Descend(path, 0));
  return true;
}

// The first mapped block right of the leaf of `path` (kMaxLogicalBlocks if none).
// Exact even when index keys are looser than the children's first keys.
Result<uint64_t> ExtentTree::FirstMappedAfterLeaf(Path path) {
  ASSIGN_OR_RETURN(bool more, NextLeaf(&path));
  return more ? path.back().node.extents.front().logical : kMaxLogicalBlocks;
}

Result<ExtentLookup> ExtentTree::Lookup(uint64_t lblk) {
  RETURN_IF_ERROR(RequireLoaded());
  ExtentLookup found;
  found.next_mapped = kMaxLogicalBlocks;
  if (lblk >= kMaxLogicalBlocks) return found;
  ASSIGN_OR_RETURN(Path path, FindPath(lblk));
  const std::vector<Extent>& records = path.back().node.extents;
  auto it = std::upper_bound(records.begin(), records.end(), lblk,
                             [](uint64_t v, const Extent& e) { return v < e.logical; });
  if (it != records.begin() && End(*std::prev(it)) > lblk) {
    found.extent = *std::prev(it);
  } else if (it != records.end()) {
    found.next_mapped = it->logical;
  } else {
    ASSIGN_OR_RETURN(found.next_mapped, FirstMappedAfterLeaf(std::move(path)));
  }
  return found;
}

Status ExtentTree::ForEach(uint64_t start, uint64_t end,
                           const std::function<bool(const Extent&)>& fn) {
  RETURN_IF_ERROR(RequireLoaded());
  end = std::min(end, kMaxLogicalBlocks);
  if (start >= end) return Status::Ok();
  ASSIGN_OR_RETURN(Path path, FindPath(start));
  while (true) {
    for (const Extent& e : path.back().node.extents) {
      if (End(e) <= start) continue;
      if (e.logical >= end) return Status::Ok();
      Extent clipped = e;
      clipped.logical = std::max(e.logical, start);
      clipped.length = static_cast<uint32_t>(std::min(End(e), end) - clipped.logical);
      clipped.physical = e.physical + (clipped.logical - e.logical);
      if (!fn(clipped)) return Status::Ok();
    }
    if (path.back().high >= end) return Status::Ok();
    ASSIGN_OR_RETURN(bool more, NextLeaf(&path));
    if (!more) return Status::Ok();
  }
}

}  // namespace foliofs::fs
