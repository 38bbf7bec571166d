// ExtentTree::Insert and the merge rule shared with SetUnwritten.
#include <algorithm>
#include <string>

#include "fs/extent_tree.h"

namespace foliofs::fs {

using format::kMaxExtentLength;
using format::kMaxLogicalBlocks;

namespace {
// Logically and physically contiguous, same state, and the sum still fits.
bool CanMerge(const Extent& a, const Extent& b) {
  return a.logical + a.length == b.logical && a.physical + a.length == b.physical &&
         a.unwritten == b.unwritten &&
         static_cast<uint64_t>(a.length) + b.length <= kMaxExtentLength;
}

std::string Range(const Extent& e) {
  return "[" + std::to_string(e.logical) + ", " + std::to_string(e.logical + e.length) + ")";
}
}  // namespace

void ExtentTree::MergeAdjacent(std::vector<Extent>* records) {
  size_t out = 0;
  for (size_t i = 0; i < records->size(); ++i) {
    if (out > 0 && CanMerge((*records)[out - 1], (*records)[i])) {
      (*records)[out - 1].length += (*records)[i].length;
    } else {
      (*records)[out++] = (*records)[i];
    }
  }
  records->resize(out);
}

// The record goes into the leaf whose range holds e.logical. Blocks left of
// that leaf all lie below the leaf's key ≤ e.logical, so only the records of
// this leaf and the first mapped block after it can overlap.
Status ExtentTree::Insert(journal::Handle& handle, const Extent& e) {
  RETURN_IF_ERROR(RequireLoaded());
  if (e.length == 0 || e.length > kMaxExtentLength || e.logical >= kMaxLogicalBlocks ||
      End(e) > kMaxLogicalBlocks) {
    return Status::Error(EINVAL, "extent tree of inode " + std::to_string(ino_) +
                                     ": invalid extent " + Range(e) + " of " +
                                     std::to_string(e.length) + " blocks");
  }
  ASSIGN_OR_RETURN(Path path, FindPath(e.logical));
  const std::vector<Extent>& old = path.back().node.extents;
  auto it = std::upper_bound(old.begin(), old.end(), e.logical,
                             [](uint64_t v, const Extent& x) { return v < x.logical; });
  const size_t pos = static_cast<size_t>(it - old.begin());
  uint64_t next = pos < old.size() ? old[pos].logical : path.back().high;
  if (pos == old.size() && next < End(e)) {
    ASSIGN_OR_RETURN(next, FirstMappedAfterLeaf(path));
  }
  if ((pos > 0 && End(old[pos - 1]) > e.logical) || next < End(e)) {
    return Status::Error(EEXIST, "extent tree of inode " + std::to_string(ino_) + ": " + Range(e) +
                                     " overlaps a mapped block");
  }
  std::vector<Extent> records = old;
  records.insert(records.begin() + static_cast<ptrdiff_t>(pos), e);
  MergeAdjacent(&records);
  const bool append = pos == old.size() && path.back().high == kMaxLogicalBlocks;
  return CommitLeaf(handle, path, std::move(records), append);
}

}  // namespace foliofs::fs
