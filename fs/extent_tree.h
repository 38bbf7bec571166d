// ExtentTree: one inode's map from logical file blocks to device blocks
// (FORMAT.md §7) — a B+tree whose root is the 112-byte i_block of the inode
// and whose other nodes are extent blocks read and journaled through the
// journal's BufferCache. Records carry the *unwritten* bit (I8).
//
// What it promises:
//  - Lookup never allocates and never needs a handle.
//  - Every change happens inside the caller's journal handle: each node block
//    it modifies gets GetWriteAccess before and DirtyMetadata after the
//    change; nodes it frees are returned to the allocator (which revokes
//    them); the root lives in the caller's copy of i_block (`root()`) and
//    root_dirty() says the caller must write the inode record in the same
//    handle.
//  - Credits: a change needs at most CreditsPerChange(depth()) buffer credits
//    (node path, splits up to a new root, allocator bitmap + descriptor per
//    node allocated or freed), excluding the inode block. Formula, for a
//    tree of depth d (d block levels under the inline root):
//        d                     write access to the block nodes of one path
//      + (d + 1) · (1 + 2)     a new node per level and one for a new root
//                              level: its buffer + kCreditsPerNodeAlloc
//      + d · (1 + 2)           a freed node per block level: its revoke +
//                              kCreditsPerNodeAlloc
//      = 7·d + 3.
//    Insert is one change. Remove is one change per leaf it edits and stops
//    (returning its progress) before a further leaf when the handle has less
//    than the bound left. SetUnwritten is one change per leaf the range
//    touches (one for ranges inside a leaf; ENOSPC, earlier leaves already
//    converted and the tree valid, if the handle runs out before a further
//    leaf). A change fails with ENOSPC only if the caller started the handle
//    with fewer credits than the bound; write access to the path nodes and
//    node allocation come before any record moves, so even then the tree is
//    unchanged (a node allocated before the failure is returned).
//  - After any successful change the tree satisfies every §7 invariant
//    (sorted, non-overlapping, keys bound their subtrees, depths uniform,
//    non-empty non-root nodes — an emptied node is freed and its index
//    record removed; the depth shrinks back when the root has a single child
//    that fits inline); Check() verifies exactly that.
//  - Adjacent records merge when logically and physically contiguous with
//    the same unwritten state and the sum ≤ kMaxExtentLength, so a file
//    written sequentially stays one record per contiguous run.
//  - A failed change (ENOSPC from the allocator, EIO reading a node, a
//    corrupted node: EUCLEAN "extent tree of inode N: block B: …") leaves the
//    tree valid and unchanged: nodes are read, write access taken and new
//    nodes allocated before any record moves. Nodes are freed (FreeNode)
//    only after the tree stopped pointing at them, so a failing FreeNode
//    leaks the block (fsck finds it) but never corrupts the tree. The handle
//    is then the caller's to stop.
//  - Index keys are kept tight (ext4 style): each equals its child's first
//    key, which §7 allows (it requires ≤). Trees read from disk with looser
//    keys are handled correctly.
//  - Records in different leaves are never merged with each other (as in
//    ext4): at a leaf boundary two mergeable records may sit side by side.
//  - Load reads the index nodes (not the leaves) to count node_blocks().
//
// Thread safety: none inside. The caller holds the inode's extent lock (the
// "fs per-inode mapping lock" of fs/LOCKING.md) for every call, shared for
// Lookup/ForEach, exclusive for changes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/base/status.h"

namespace foliofs::fs {

using format::Extent;

// Where the tree gets and returns node blocks. The fs implements it with the
// block allocator (fs/allocator.h); tests with a simple counter.
class NodeAllocator {
 public:
  virtual ~NodeAllocator() = default;
  // One block for a tree node, near `goal`, charged to the handle (bitmap,
  // descriptor). ENOSPC when none is left (metadata may use the reserve).
  virtual Result<uint64_t> AllocNode(journal::Handle& handle, uint64_t goal) = 0;
  // Returns a node block; the implementation revokes it in the journal.
  virtual Status FreeNode(journal::Handle& handle, uint64_t blocknr) = 0;
};

// What Lookup found at a logical block.
struct ExtentLookup {
  std::optional<Extent> extent;  // the record containing the block, if any
  // When no record contains it: the first logical block after it that is
  // mapped (kMaxLogicalBlocks when none), so [lblk, next_mapped) is a hole.
  uint64_t next_mapped = 0;
};

class ExtentTree {
 public:
  // `root`: the inode's i_block (an extent root; EmptyExtentRoot() for a new
  // file), copied in. `ino` and `seed` fill node block headers; `block_size`
  // is the filesystem's.
  ExtentTree(journal::Journal& journal, NodeAllocator& alloc, uint64_t ino, uint32_t seed,
             uint32_t block_size, const std::array<uint8_t, format::kInodeExtentRootSize>& root);

  // Decodes the root; EUCLEAN if it is not a valid extent root (max must be
  // 4). Then reads every index node below it to count node_blocks() (EIO /
  // EUCLEAN naming the block). The other calls need a successful Load
  // (EINVAL otherwise).
  Status Load();

  const std::array<uint8_t, format::kInodeExtentRootSize>& root() const { return root_; }
  bool root_dirty() const { return root_dirty_; }
  void clear_root_dirty() { root_dirty_ = false; }
  uint32_t depth() const;
  // Node blocks (excluding data) the tree uses now: the inode's `blocks`
  // accounting counts them.
  uint64_t node_blocks() const;

  // Allocator buffers (bitmap + descriptor) one AllocNode/FreeNode may touch.
  static constexpr int kCreditsPerNodeAlloc = 2;
  static int CreditsPerChange(uint32_t depth);

  Result<ExtentLookup> Lookup(uint64_t lblk);
  // Calls fn for every record overlapping [start, end), in order, clipped to
  // the range; stops early (returning OK) when fn returns false. fn must not
  // change the tree.
  Status ForEach(uint64_t start, uint64_t end, const std::function<bool(const Extent&)>& fn);

  // Maps [e.logical, e.logical + e.length) → e.physical. EEXIST if any block
  // of the range is already mapped (nothing changes). Merges with neighbours
  // in the same leaf. EINVAL for length 0 or > kMaxExtentLength, or a range
  // reaching past kMaxLogicalBlocks.
  Status Insert(journal::Handle& handle, const Extent& e);

  // Unmaps up to `max_records` records' worth of [start, end) (splitting the
  // records at the edges), appending what it unmapped (clipped physical
  // pieces) to *removed for the caller to free. Returns the logical block up
  // to which the range is now unmapped: `end` when done, less when it
  // stopped at max_records or because the handle's credits left are below
  // CreditsPerChange(depth()) (the caller continues in a new handle — long
  // truncates and punches span transactions). max_records ≥ 1. On an error,
  // *removed still lists what was unmapped before it (the caller frees it).
  Result<uint64_t> Remove(journal::Handle& handle, uint64_t start, uint64_t end, size_t max_records,
                          std::vector<Extent>* removed);

  // Sets the unwritten bit of every mapped block in [start, end) to
  // `unwritten` (writeback completion converts to written; zero range to
  // unwritten), splitting records at the edges and merging afterwards.
  // Unmapped blocks in the range are left alone.
  Status SetUnwritten(journal::Handle& handle, uint64_t start, uint64_t end, bool unwritten);

  // Walks the whole tree checking §7's invariants (tests, fsck).
  Status Check();

 private:
  // One node on the way from the root to a leaf: a decoded copy that a change
  // edits in memory and writes back (FlushPath) only if `dirty`.
  struct PathLevel {
    format::ExtentNode node;
    uint64_t blocknr = 0;                       // 0 for the inline root
    journal::BufferRef buffer;                  // null for the inline root
    size_t index = 0;                           // index nodes: the child this path takes
    uint64_t high = format::kMaxLogicalBlocks;  // every block under the node is < high
    bool dirty = false;
  };
  using Path = std::vector<PathLevel>;  // [0] is the root, back() a leaf
  struct NewNode {
    uint64_t blocknr = 0;
    journal::BufferRef buffer;  // zero-filled, write access taken
  };

  static uint64_t End(const Extent& e) { return e.logical + e.length; }
  static size_t Entries(const format::ExtentNode& n) {
    return n.header.depth == 0 ? n.extents.size() : n.indexes.size();
  }
  // Precondition: Entries(n) > 0.
  static uint64_t FirstKey(const format::ExtentNode& n) {
    return n.header.depth == 0 ? n.extents.front().logical : n.indexes.front().logical;
  }

  // extent_tree.cc: node reads and path walks (no handle).
  Status RequireLoaded() const;
  Status Corrupt(uint64_t blocknr, const std::string& what) const;
  Result<PathLevel> ReadNode(uint64_t blocknr, uint16_t depth, uint64_t low, uint64_t high);
  Result<Path> FindPath(uint64_t lblk);
  Status Descend(Path* path, size_t index);
  Result<bool> NextLeaf(Path* path);
  Result<uint64_t> FirstMappedAfterLeaf(Path path);
  Status CountNodes(const format::ExtentNode& node, uint64_t high, uint64_t* count);
  uint16_t MaxEntries(size_t level) const;
  // extent_tree_check.cc
  Status CheckNode(const format::ExtentNode& node, uint64_t blocknr, uint64_t low, uint64_t high,
                   std::vector<uint64_t>* seen);
  // extent_tree_commit.cc: replaces a leaf's records and restores every invariant.
  Status CommitLeaf(journal::Handle& handle, Path& path, std::vector<Extent> records, bool append);
  int NodesNeeded(const Path& path, size_t leaf_entries) const;
  Status WriteAccessPath(journal::Handle& handle, Path& path);
  Status AllocNodes(journal::Handle& handle, int count, uint64_t goal, std::vector<NewNode>* out);
  Status SplitOverfull(journal::Handle& handle, Path& path, bool append,
                       std::vector<NewNode>& fresh);
  Status GrowRoot(journal::Handle& handle, Path& path, const NewNode& fresh);
  Status WriteBlockNode(journal::Handle& handle, const format::ExtentNode& node, uint64_t blocknr,
                        journal::Buffer& buffer);
  void UnlinkEmpty(Path& path, std::vector<uint64_t>* freed);
  void FixKeys(Path& path, size_t level);
  void ShrinkRoot(Path& path, std::vector<uint64_t>* freed);
  Status FlushPath(journal::Handle& handle, Path& path);
  Status FreeNodes(journal::Handle& handle, const std::vector<uint64_t>& freed);
  // extent_tree_insert.cc: merges every mergeable neighbour pair, in place.
  static void MergeAdjacent(std::vector<Extent>* records);
  // extent_tree_remove.cc: one leaf's worth of Remove / SetUnwritten.
  struct StepResult {
    uint64_t done = 0;     // [pos, done) is handled
    bool changed = false;  // a leaf was rewritten
  };
  Result<StepResult> RemoveStep(journal::Handle& handle, uint64_t pos, uint64_t end, size_t* budget,
                                std::vector<Extent>* removed);
  Result<StepResult> SetUnwrittenStep(journal::Handle& handle, uint64_t pos, uint64_t end,
                                      bool unwritten);

  journal::Journal& journal_;
  NodeAllocator& alloc_;
  const uint64_t ino_;
  const uint32_t seed_;
  const uint32_t block_size_;
  std::array<uint8_t, format::kInodeExtentRootSize> root_;
  bool root_dirty_ = false;
  bool loaded_ = false;
  format::ExtentNode root_node_;  // decoded root_, kept equal to it
  uint64_t node_blocks_ = 0;      // non-root nodes in the tree
};

}  // namespace foliofs::fs
