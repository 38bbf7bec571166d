// The one way a change reaches the tree: CommitLeaf replaces the records of
// the leaf at the end of a path and restores every §7 invariant — splitting
// overfull nodes upward (the inline root growing a level), or unlinking and
// freeing emptied nodes, keeping index keys equal to their children's first
// keys, and shrinking the depth while the root's single child fits inline.
//
// Failure atomicity: everything that can fail for lack of credits or space
// (write access to the path's block nodes, node allocation) happens before
// the first record moves; after that only a journal abort can fail a call.
// Freed nodes are handed to the allocator last, once nothing points at them.
#include <string>

#include "fs/extent_tree.h"

namespace foliofs::fs {

using format::ExtentIndex;
using format::ExtentNode;
using format::kMaxLogicalBlocks;
using journal::Handle;

Status ExtentTree::CommitLeaf(Handle& handle, Path& path, std::vector<Extent> records,
                              bool append) {
  const size_t leaf = path.size() - 1;
  const int need = NodesNeeded(path, records.size());
  RETURN_IF_ERROR(WriteAccessPath(handle, path));
  std::vector<NewNode> fresh;
  uint64_t goal = leaf > 0 ? path[leaf].blocknr + 1 : 0;
  if (leaf == 0 && !records.empty()) goal = records.front().physical;
  RETURN_IF_ERROR(AllocNodes(handle, need, goal, &fresh));
  // From here on records move; nothing fails short of a journal abort.
  path[leaf].node.extents = std::move(records);
  path[leaf].dirty = true;
  std::vector<uint64_t> freed;
  if (path[leaf].node.extents.empty()) {
    UnlinkEmpty(path, &freed);
  } else {
    FixKeys(path, leaf);
    RETURN_IF_ERROR(SplitOverfull(handle, path, append, fresh));
  }
  ShrinkRoot(path, &freed);
  RETURN_IF_ERROR(FlushPath(handle, path));
  return FreeNodes(handle, freed);
}

// How many new nodes a leaf of `leaf_entries` records needs: one per level
// that overflows, walking up while each split adds an index record above.
int ExtentTree::NodesNeeded(const Path& path, size_t leaf_entries) const {
  int need = 0;
  size_t level = path.size() - 1;
  size_t count = leaf_entries;
  while (count > MaxEntries(level)) {
    ++need;
    if (level == 0) break;  // the root's records move into one new block
    --level;
    count = Entries(path[level].node) + 1;
  }
  return need;
}

// A change may modify any block node of its path (records, keys, new index
// records), so all of them are joined to the handle before anything moves.
Status ExtentTree::WriteAccessPath(Handle& handle, Path& path) {
  for (size_t level = 1; level < path.size(); ++level) {
    RETURN_IF_ERROR(handle.GetWriteAccess(*path[level].buffer));
  }
  return Status::Ok();
}

// Allocates `count` node blocks with zeroed, write-accessed buffers. On a
// failure the blocks already allocated go back (best effort: a failing
// FreeNode leaks the block, which fsck finds) and nothing is returned.
Status ExtentTree::AllocNodes(Handle& handle, int count, uint64_t goal, std::vector<NewNode>* out) {
  Status status;
  for (int i = 0; i < count && status.ok(); ++i) {
    auto blocknr = alloc_.AllocNode(handle, goal);
    if (!blocknr.ok()) {
      status = blocknr.status();
      break;
    }
    out->push_back(NewNode{*blocknr, nullptr});
    auto buffer = journal_.buffers().GetNew(*blocknr);
    if (!buffer.ok()) {
      status = buffer.status();
      break;
    }
    status = handle.GetWriteAccess(**buffer);
    out->back().buffer = std::move(*buffer);
    goal = *blocknr + 1;
  }
  if (status.ok()) return status;
  for (const NewNode& node : *out) (void)alloc_.FreeNode(handle, node.blocknr);
  out->clear();
  return status.WithContext("extent tree of inode " + std::to_string(ino_));
}

// Splits every overfull node from the leaf up, each into itself and a new
// right sibling whose index record goes right after it in the parent. At the
// right edge of the tree (`append`: the new record went last into the
// rightmost leaf) the left node stays full and only the overflow moves, so
// sequential appends fill nodes completely; otherwise the records are halved.
Status ExtentTree::SplitOverfull(Handle& handle, Path& path, bool append,
                                 std::vector<NewNode>& fresh) {
  for (size_t level = path.size() - 1; Entries(path[level].node) > MaxEntries(level); --level) {
    if (level == 0) return GrowRoot(handle, path, fresh.back());
    const NewNode node = fresh.back();
    fresh.pop_back();
    ExtentNode& left = path[level].node;
    ExtentNode right;
    right.header.depth = left.header.depth;
    const size_t n = Entries(left);
    const bool at_edge = append && path[level].high == kMaxLogicalBlocks;
    const size_t keep = at_edge ? MaxEntries(level) : (n + 1) / 2;
    if (left.header.depth == 0) {
      right.extents.assign(left.extents.begin() + keep, left.extents.end());
      left.extents.resize(keep);
    } else {
      right.indexes.assign(left.indexes.begin() + keep, left.indexes.end());
      left.indexes.resize(keep);
    }
    RETURN_IF_ERROR(WriteBlockNode(handle, right, node.blocknr, *node.buffer));
    PathLevel& parent = path[level - 1];
    parent.node.indexes.insert(parent.node.indexes.begin() + parent.index + 1,
                               ExtentIndex{FirstKey(right), node.blocknr});
    parent.dirty = true;
    ++node_blocks_;
  }
  return Status::Ok();
}

// The overfull inline root moves into a new block node; the root becomes an
// index of depth + 1 with that single child (ext4's grow_indepth). The path
// gains the new level so it stays a true path of the tree.
Status ExtentTree::GrowRoot(Handle& handle, Path& path, const NewNode& fresh) {
  PathLevel child;
  child.node = std::move(path[0].node);
  child.blocknr = fresh.blocknr;
  child.buffer = fresh.buffer;
  child.index = path[0].index;
  RETURN_IF_ERROR(WriteBlockNode(handle, child.node, fresh.blocknr, *fresh.buffer));
  ExtentNode root;
  root.header.max = format::kInodeExtentRootMax;
  root.header.depth = static_cast<uint16_t>(child.node.header.depth + 1);
  root.indexes.push_back(ExtentIndex{FirstKey(child.node), fresh.blocknr});
  path[0].node = std::move(root);
  path[0].index = 0;
  path[0].dirty = true;
  path.insert(path.begin() + 1, std::move(child));
  ++node_blocks_;
  return Status::Ok();
}

Status ExtentTree::WriteBlockNode(Handle& handle, const ExtentNode& node, uint64_t blocknr,
                                  journal::Buffer& buffer) {
  ExtentNode sized = node;
  sized.header.max = format::ExtentBlockMax(block_size_);
  RETURN_IF_ERROR(format::EncodeExtentBlock(sized, blocknr, ino_, seed_, buffer.bytes()));
  return handle.DirtyMetadata(buffer);
}

// The leaf is empty: unlink it, and every ancestor that empties in turn, from
// its parent. An index root left with nothing becomes an empty leaf root.
void ExtentTree::UnlinkEmpty(Path& path, std::vector<uint64_t>* freed) {
  size_t level = path.size() - 1;
  while (level > 0 && Entries(path[level].node) == 0) {
    freed->push_back(path[level].blocknr);
    --node_blocks_;
    PathLevel& parent = path[level - 1];
    parent.node.indexes.erase(parent.node.indexes.begin() + parent.index);
    parent.dirty = true;
    --level;
  }
  path.resize(level + 1);
  if (level > 0) {
    FixKeys(path, level);
  } else if (path[0].node.indexes.empty()) {
    path[0].node.header.depth = 0;
  }
}

// The first key of the node at `level` may have changed: make its parent's
// key equal to it, and so on upward while the node is its parent's first.
void ExtentTree::FixKeys(Path& path, size_t level) {
  for (; level > 0; --level) {
    PathLevel& parent = path[level - 1];
    uint64_t& key = parent.node.indexes[parent.index].logical;
    const uint64_t first = FirstKey(path[level].node);
    if (key == first) return;
    key = first;
    parent.dirty = true;
    if (parent.index != 0) return;
  }
}

// While the root has one child whose records fit inline, pull them up and free
// the child. A child missing from the path is read; if that fails the extra
// level simply stays (the tree is valid either way).
void ExtentTree::ShrinkRoot(Path& path, std::vector<uint64_t>* freed) {
  while (path[0].node.header.depth > 0 && path[0].node.indexes.size() == 1) {
    if (path.size() < 2) {
      path[0].index = 0;
      auto child = ReadNode(path[0].node.indexes[0].child, path[0].node.header.depth - 1,
                            path[0].node.indexes[0].logical, kMaxLogicalBlocks);
      if (!child.ok()) return;
      path.push_back(std::move(*child));
    }
    if (Entries(path[1].node) > format::kInodeExtentRootMax) return;
    freed->push_back(path[1].blocknr);
    --node_blocks_;
    path[0].node = std::move(path[1].node);
    path[0].node.header.max = format::kInodeExtentRootMax;
    path[0].index = path[1].index;
    path[0].dirty = true;
    path.erase(path.begin() + 1);
  }
}

// Writes every modified node of the path: block nodes through the handle,
// the root into root_ (the caller writes the inode: root_dirty()).
Status ExtentTree::FlushPath(Handle& handle, Path& path) {
  for (size_t level = 1; level < path.size(); ++level) {
    if (!path[level].dirty) continue;
    RETURN_IF_ERROR(
        WriteBlockNode(handle, path[level].node, path[level].blocknr, *path[level].buffer));
  }
  if (!path[0].dirty) return Status::Ok();
  RETURN_IF_ERROR(format::EncodeExtentNode(path[0].node, root_.data(), root_.size()));
  root_node_ = path[0].node;
  root_dirty_ = true;
  return Status::Ok();
}

// Returns unlinked nodes to the allocator. The tree no longer points at them,
// so a failure only leaks blocks; the first error is reported.
Status ExtentTree::FreeNodes(Handle& handle, const std::vector<uint64_t>& freed) {
  Status first;
  for (uint64_t blocknr : freed) {
    Status status = alloc_.FreeNode(handle, blocknr);
    if (!status.ok() && first.ok()) {
      first = status.WithContext("extent tree of inode " + std::to_string(ino_) + ": node block " +
                                 std::to_string(blocknr) + " leaked");
    }
  }
  return first;
}

}  // namespace foliofs::fs
