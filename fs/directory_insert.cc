// Directory::Insert and the splits of FORMAT.md §8.
//
// Failure atomicity: Insert reads the whole path (and every leaf of a
// CONTINUED run), takes write access to every block it will change and
// appends every new block (each formatted at once as an empty leaf) before
// the first entry moves; after that only a journal abort can fail it.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

#include "fs/directory.h"
#include "fs/directory_leaf.h"

namespace foliofs::fs {

using format::DirEntry;
using format::DirIndex;
using format::DirIndexEntry;
using format::DirLeaf;
using format::kDirIndexContinued;
using journal::Handle;

namespace {

constexpr uint16_t kMaxDepth = 8;  // §8: an index node's depth field is at most 8

bool EntryLess(const DirEntry& a, const DirEntry& b) {
  if (a.hash != b.hash) return a.hash < b.hash;
  return a.name < b.name;  // std::string compares as unsigned bytes
}

struct SplitPoint {
  size_t k = 0;  // entries [0, k) stay, [k, n) move right
  bool continued = false;
};

// §8: at the hash change nearest the byte middle, among the points that leave
// both halves fitting in `capacity`; when no hash change qualifies (a run of
// equal hashes), at the fitting point nearest the middle, CONTINUED if the
// hashes either side of it are equal.
SplitPoint ChooseLeafSplit(const std::vector<DirEntry>& entries, size_t capacity) {
  size_t total = 0;
  for (const DirEntry& e : entries) total += format::DirEntrySize(e.name.size());
  size_t prefix = 0, best_change = 0, best_any = 0;
  uint64_t change_dist = UINT64_MAX, any_dist = UINT64_MAX;
  for (size_t k = 1; k < entries.size(); ++k) {
    prefix += format::DirEntrySize(entries[k - 1].name.size());
    if (prefix > capacity || total - prefix > capacity) continue;
    const uint64_t dist = prefix * 2 > total ? prefix * 2 - total : total - prefix * 2;
    if (dist < any_dist) any_dist = dist, best_any = k;
    if (entries[k - 1].hash != entries[k].hash && dist < change_dist) {
      change_dist = dist, best_change = k;
    }
  }
  if (best_change != 0) return SplitPoint{best_change, false};
  return SplitPoint{best_any, entries[best_any - 1].hash == entries[best_any].hash};
}

// An overfull index node (max + 1 entries): the count middle, or the nearest
// point whose first moved entry is not CONTINUED. The moved entry's flag goes
// up to the parent with it.
size_t ChooseIndexSplit(const std::vector<DirIndexEntry>& entries) {
  const size_t n = entries.size(), mid = n / 2;
  for (size_t d = 0; d < mid; ++d) {
    if (!(entries[mid - d].flags & kDirIndexContinued)) return mid - d;
    if (mid + d < n && !(entries[mid + d].flags & kDirIndexContinued)) return mid + d;
  }
  return mid;
}

}  // namespace

Status Directory::Insert(Handle& handle, std::string_view name, uint64_t ino,
                         format::FileType type) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(name.data()),
                                       name.size());
  RETURN_IF_ERROR(format::ValidateName(bytes));
  if (ino == 0 || static_cast<uint8_t>(type) > static_cast<uint8_t>(format::FileType::kSymlink)) {
    return Status::Error(EINVAL, "directory entry needs an inode and a valid file type");
  }
  const uint64_t h = Hash(bytes);
  ASSIGN_OR_RETURN(Path path, FindFirst(h));
  // The target is the last leaf of the CONTINUED run holding an entry below
  // (h, name) (the first leaf when none does), which keeps the run's leaves
  // in (hash, name) order; every leaf of the run is checked for EEXIST.
  std::optional<Path> target;
  while (true) {
    const uint8_t* leaf = path.leaf->data();
    if (dirleaf::FindSlot(leaf, h, bytes).found) {
      return Status::Error(EEXIST, "entry " + std::string(name) + " exists");
    }
    if (!target || (dirleaf::Count(leaf) > 0 &&
                    dirleaf::CompareEntry(leaf, format::kDirNodeHeaderEnd, h, bytes) < 0)) {
      target = path;
    }
    ASSIGN_OR_RETURN(bool more, NextCandidate(&path, h));
    if (!more) break;
  }
  return InsertAt(handle, *target, DirEntry{h, ino, type, std::string(name)});
}

Status Directory::InsertAt(Handle& handle, Path& path, const DirEntry& entry) {
  journal::Buffer& leaf = *path.leaf;
  const size_t size = format::DirEntrySize(entry.name.size());
  if (dirleaf::Used(leaf.data()) + size > format::DirLeafCapacity(block_size_)) {
    return SplitInsert(handle, path, entry);
  }
  const std::span<const uint8_t> name(reinterpret_cast<const uint8_t*>(entry.name.data()),
                                      entry.name.size());
  const dirleaf::Slot slot = dirleaf::FindSlot(leaf.data(), entry.hash, name);
  RETURN_IF_ERROR(handle.GetWriteAccess(leaf));
  dirleaf::InsertEntry(leaf.bytes(), slot.offset, entry);
  return SealAndDirty(handle, leaf);
}

// New blocks a split of path's leaf needs: two for a root leaf; else one for
// the leaf and one per full index level above it, two more when the root
// itself is full (a new level). *top is the highest index level that changes.
int Directory::NodesNeeded(const Path& path, size_t* top) const {
  *top = 0;
  if (path.index.empty()) return 2;
  const size_t max = format::DirIndexMax(block_size_);
  int need = 1;
  for (size_t level = path.index.size(); level-- > 0;) {
    if (path.index[level].count + 1u <= max) {
      *top = level;
      return need;
    }
    need += level == 0 ? 2 : 1;
  }
  return need;
}

// Appends `count` blocks, each with write access taken and formatted as an
// empty leaf, so a failure part way leaves only valid, unreachable blocks.
Status Directory::AppendBlocks(Handle& handle, int count, std::vector<NewBlock>* out) {
  for (int i = 0; i < count; ++i) {
    const uint32_t lblk = storage_.block_count();
    auto phys = storage_.AppendBlock(handle);
    if (!phys.ok()) return phys.status().WithContext("directory " + std::to_string(ino_));
    auto buffer = journal_.buffers().GetNew(*phys);
    if (!buffer.ok()) return buffer.status().WithContext(Where(lblk));
    RETURN_IF_ERROR(handle.GetWriteAccess(**buffer));
    RETURN_IF_ERROR(WriteLeaf(handle, **buffer, DirLeaf{}));
    out->push_back(NewBlock{lblk, std::move(*buffer)});
  }
  return Status::Ok();
}

// Everything a split does that can fail, before any entry moves: the limit
// checks, decoding (and so fully checking) the index nodes that change, write
// access to them and to the leaf, and the new blocks.
Status Directory::PrepareSplit(Handle& handle, Path& path, std::vector<DirIndex>* nodes,
                               std::vector<NewBlock>* fresh) {
  size_t top = 0;
  const int need = NodesNeeded(path, &top);
  const bool grows = path.index.empty() ||
                     (top == 0 && path.index[0].count + 1u > format::DirIndexMax(block_size_));
  if (grows && !path.index.empty() && path.index[0].depth >= kMaxDepth) {
    return Status::Error(ENOSPC, "directory " + std::to_string(ino_) + ": tree at maximum depth");
  }
  if (uint64_t{storage_.block_count()} + need > UINT32_MAX) {
    return Status::Error(ENOSPC, "directory " + std::to_string(ino_) + ": at the size limit");
  }
  nodes->resize(path.index.size());
  for (size_t level = top; level < path.index.size(); ++level) {
    const journal::Buffer& b = *path.index[level].buffer;
    auto node = format::DecodeDirIndex(std::span<const uint8_t>(b.data(), b.size()), b.blocknr(),
                                       ino_, seed_);
    if (!node.ok()) return Corrupt(path.index[level].lblk, node.status().message());
    (*nodes)[level] = std::move(*node);
  }
  RETURN_IF_ERROR(handle.GetWriteAccess(*path.leaf));
  for (size_t level = top; level < path.index.size(); ++level) {
    RETURN_IF_ERROR(handle.GetWriteAccess(*path.index[level].buffer));
  }
  return AppendBlocks(handle, need, fresh);
}

Status Directory::SplitInsert(Handle& handle, Path& path, const DirEntry& entry) {
  auto decoded = format::DecodeDirLeaf(path.leaf->bytes(), path.leaf->blocknr(), ino_, seed_);
  if (!decoded.ok()) return Corrupt(path.leaf_lblk, decoded.status().message());
  std::vector<DirEntry> entries = std::move(decoded->entries);
  entries.insert(std::upper_bound(entries.begin(), entries.end(), entry, EntryLess), entry);
  std::vector<DirIndex> nodes;
  std::vector<NewBlock> fresh;
  RETURN_IF_ERROR(PrepareSplit(handle, path, &nodes, &fresh));
  // From here on entries move.
  const SplitPoint split = ChooseLeafSplit(entries, format::DirLeafCapacity(block_size_));
  DirLeaf right;
  right.next_leaf = dirleaf::NextLeaf(path.leaf->data());
  right.entries.assign(std::make_move_iterator(entries.begin() + split.k),
                       std::make_move_iterator(entries.end()));
  entries.resize(split.k);
  const DirIndexEntry carry{right.entries.front().hash, 0,
                            split.continued ? kDirIndexContinued : 0};
  if (path.index.empty()) {  // the root leaf: both halves move out, block 0 becomes an index
    const NewBlock a = fresh[0], b = fresh[1];
    RETURN_IF_ERROR(WriteLeaf(handle, *a.buffer, DirLeaf{b.lblk, std::move(entries)}));
    RETURN_IF_ERROR(WriteLeaf(handle, *b.buffer, right));
    DirIndex root;
    root.entries = {DirIndexEntry{0, a.lblk, 0}, DirIndexEntry{carry.hash, b.lblk, carry.flags}};
    return WriteIndex(handle, *path.leaf, root);
  }
  const NewBlock nb = fresh.back();
  fresh.pop_back();
  RETURN_IF_ERROR(WriteLeaf(handle, *nb.buffer, right));
  RETURN_IF_ERROR(WriteLeaf(handle, *path.leaf, DirLeaf{nb.lblk, std::move(entries)}));
  return PropagateSplit(handle, path, nodes, DirIndexEntry{carry.hash, nb.lblk, carry.flags},
                        fresh);
}

// Inserts `carry` right after the path's child in each index level from the
// deepest up, splitting full nodes; a full root moves into two new nodes and
// becomes a two-entry index one level deeper.
Status Directory::PropagateSplit(Handle& handle, Path& path, std::vector<DirIndex>& nodes,
                                 DirIndexEntry carry, std::vector<NewBlock>& fresh) {
  const size_t max = format::DirIndexMax(block_size_);
  for (size_t level = path.index.size(); level-- > 0;) {
    const IndexLevel& at = path.index[level];
    DirIndex& node = nodes[level];
    std::vector<DirIndexEntry>& e = node.entries;
    e.insert(e.begin() + static_cast<std::ptrdiff_t>(at.pos) + 1, carry);
    if (e.size() <= max) return WriteIndex(handle, *at.buffer, node);
    const size_t k = ChooseIndexSplit(e);
    DirIndex right;
    right.depth = node.depth;
    right.entries.assign(e.begin() + static_cast<std::ptrdiff_t>(k), e.end());
    e.resize(k);
    carry = DirIndexEntry{right.entries[0].hash, 0, right.entries[0].flags & kDirIndexContinued};
    right.entries[0].flags &= ~kDirIndexContinued;  // entry 0 is the node's own lower bound
    if (level == 0) {
      const NewBlock a = fresh[0], b = fresh[1];
      RETURN_IF_ERROR(WriteIndex(handle, *a.buffer, node));
      RETURN_IF_ERROR(WriteIndex(handle, *b.buffer, right));
      DirIndex root;
      root.depth = static_cast<uint16_t>(node.depth + 1);
      root.entries = {DirIndexEntry{0, a.lblk, 0}, DirIndexEntry{carry.hash, b.lblk, carry.flags}};
      return WriteIndex(handle, *at.buffer, root);
    }
    const NewBlock r = fresh.back();
    fresh.pop_back();
    RETURN_IF_ERROR(WriteIndex(handle, *r.buffer, right));
    RETURN_IF_ERROR(WriteIndex(handle, *at.buffer, node));
    carry.child = r.lblk;
  }
  return Status::Error(EINVAL, "directory split ran past the root");  // unreachable
}

Status Directory::WriteLeaf(Handle& handle, journal::Buffer& buffer, const DirLeaf& leaf) {
  RETURN_IF_ERROR(format::EncodeDirLeaf(leaf, buffer.blocknr(), ino_, seed_, buffer.bytes()));
  return handle.DirtyMetadata(buffer);
}

Status Directory::WriteIndex(Handle& handle, journal::Buffer& buffer, const DirIndex& index) {
  RETURN_IF_ERROR(format::EncodeDirIndex(index, buffer.blocknr(), ino_, seed_, buffer.bytes()));
  return handle.DirtyMetadata(buffer);
}

}  // namespace foliofs::fs
