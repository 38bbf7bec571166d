// Truncating an orphan's extent tree to its size: collect the extents and node
// blocks (the verifier already judged the tree sound), trim past EOF, and
// rebuild a packed tree in the old node blocks. A packed tree of no more
// extents than before never needs more nodes than the old one had, so no
// block is allocated; the nodes and data blocks left over are freed by the
// next bitmap rebuild (they are no longer reached).
#include <algorithm>

#include "fs/format/repair_internal.h"

namespace foliofs::format::repair_internal {

namespace {

struct TreeContents {
  std::vector<Extent> extents;  // in logical order
  std::vector<uint64_t> nodes;  // blocks of the extent nodes
};

// Sealed extent block at `at` holding `node`, written to `dev`.
Status WriteNode(BlockDevice& dev, const ExtentNode& node, uint64_t at, uint64_t owner,
                 uint32_t seed, uint32_t bs) {
  AlignedBuffer buf = AllocateAligned(bs, 4096);
  RETURN_IF_ERROR(EncodeExtentBlock(node, at, owner, seed, std::span<uint8_t>(buf.get(), bs)));
  return dev.Write(at * bs, buf.get(), bs);
}

// Collects the subtree under `node` (depth-first, so extents stay in order).
Status Collect(Checker& c, uint64_t ino, const ExtentNode& node, TreeContents* out) {
  if (node.header.depth == 0) {
    out->extents.insert(out->extents.end(), node.extents.begin(), node.extents.end());
    return Status::Ok();
  }
  for (const ExtentIndex& idx : node.indexes) {
    ASSIGN_OR_RETURN(AlignedBuffer buf, c.ReadBlocks(idx.child, 1));
    ASSIGN_OR_RETURN(ExtentNode child, DecodeExtentBlock(c.Block(buf, 0), idx.child, ino, c.seed_));
    out->nodes.push_back(idx.child);
    RETURN_IF_ERROR(Collect(c, ino, child, out));
  }
  return Status::Ok();
}

// Rebuilds `inode`'s tree from `tree.extents` using `tree.nodes` for blocks.
// Returns the number of node blocks used.
Result<uint64_t> Rebuild(BlockDevice& dev, Checker& c, Inode* inode, const TreeContents& tree) {
  const uint32_t bs = c.block_size_;
  const uint16_t max = ExtentBlockMax(bs);
  ExtentNode root;
  root.header.max = kInodeExtentRootMax;
  size_t used = 0;
  if (tree.extents.size() <= kInodeExtentRootMax) {
    root.extents = tree.extents;
  } else {
    std::vector<ExtentIndex> level;
    for (size_t i = 0; i < tree.extents.size(); i += max) {
      if (used == tree.nodes.size()) return Status::Error(ENOSPC, "extent rebuild: out of nodes");
      ExtentNode leaf;
      leaf.header.max = max;
      const size_t end = std::min(tree.extents.size(), i + max);
      leaf.extents.assign(tree.extents.begin() + i, tree.extents.begin() + end);
      RETURN_IF_ERROR(WriteNode(dev, leaf, tree.nodes[used], inode->ino, c.seed_, bs));
      level.push_back({leaf.extents.front().logical, tree.nodes[used++]});
    }
    uint16_t depth = 1;
    while (level.size() > kInodeExtentRootMax) {
      std::vector<ExtentIndex> up;
      for (size_t i = 0; i < level.size(); i += max) {
        if (used == tree.nodes.size()) return Status::Error(ENOSPC, "extent rebuild: out of nodes");
        ExtentNode node;
        node.header.max = max;
        node.header.depth = depth;
        node.indexes.assign(level.begin() + i, level.begin() + std::min(level.size(), i + max));
        RETURN_IF_ERROR(WriteNode(dev, node, tree.nodes[used], inode->ino, c.seed_, bs));
        up.push_back({node.indexes.front().logical, tree.nodes[used++]});
      }
      level = std::move(up);
      ++depth;
    }
    root.header.depth = depth;
    root.indexes = std::move(level);
  }
  RETURN_IF_ERROR(EncodeExtentNode(root, inode->i_block.data(), inode->i_block.size()));
  return uint64_t{used};
}

}  // namespace

// Drops every block at or past ceil(size / block_size) and fixes `blocks`.
Status Repairer::TruncateToSize(Inode* inode) {
  Checker& c = *checker_;
  const uint64_t bs = c.block_size_;
  const uint64_t keep = (inode->size + bs - 1) / bs;
  ASSIGN_OR_RETURN(ExtentNode root, DecodeExtentNode(inode->i_block.data(), inode->i_block.size()));
  TreeContents tree;
  RETURN_IF_ERROR(Collect(c, inode->ino, root, &tree));
  std::vector<Extent> kept;
  for (Extent e : tree.extents) {
    if (e.logical >= keep) continue;
    e.length = static_cast<uint32_t>(std::min<uint64_t>(e.length, keep - e.logical));
    kept.push_back(e);
  }
  if (kept.size() == tree.extents.size() &&
      std::equal(kept.begin(), kept.end(), tree.extents.begin(),
                 [](const Extent& a, const Extent& b) { return a.length == b.length; })) {
    return Status::Ok();  // nothing past EOF
  }
  tree.extents = std::move(kept);
  ASSIGN_OR_RETURN(uint64_t nodes, Rebuild(dev_, c, inode, tree));
  uint64_t blocks = nodes + (inode->xattr_block != 0 ? 1 : 0);
  for (const Extent& e : tree.extents) blocks += e.length;
  inode->blocks = blocks;
  Action("inode " + std::to_string(inode->ino) + ": truncated to " + std::to_string(keep) +
         " blocks");
  return Status::Ok();
}

}  // namespace foliofs::format::repair_internal
