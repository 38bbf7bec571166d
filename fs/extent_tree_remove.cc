// ExtentTree::Remove and SetUnwritten: both walk the range one leaf at a
// time, rewriting each leaf they change with CommitLeaf (one "change" each,
// see the credit formula in extent_tree.h).
#include <algorithm>
#include <string>

#include "fs/extent_tree.h"

namespace foliofs::fs {

using format::kMaxLogicalBlocks;

namespace {
// The part [from, to) of `e` (from < to, both inside e).
Extent Piece(const Extent& e, uint64_t from, uint64_t to) {
  Extent piece = e;
  piece.logical = from;
  piece.physical = e.physical + (from - e.logical);
  piece.length = static_cast<uint32_t>(to - from);
  return piece;
}
}  // namespace

Result<uint64_t> ExtentTree::Remove(journal::Handle& handle, uint64_t start, uint64_t end,
                                    size_t max_records, std::vector<Extent>* removed) {
  RETURN_IF_ERROR(RequireLoaded());
  if (start > end || max_records == 0) {
    return Status::Error(EINVAL, "extent tree of inode " + std::to_string(ino_) +
                                     ": Remove of an empty range or with no record budget");
  }
  const uint64_t stop = std::min(end, kMaxLogicalBlocks);
  uint64_t pos = start;
  size_t budget = max_records;
  bool changed = false;
  while (pos < stop && budget > 0) {
    // The first change is covered by the caller's reservation; a further one
    // only if the handle still has a whole change's worth of credits.
    if (changed && handle.credits_left() < CreditsPerChange(depth())) break;
    ASSIGN_OR_RETURN(StepResult step, RemoveStep(handle, pos, stop, &budget, removed));
    pos = step.done;
    changed = changed || step.changed;
  }
  return pos >= stop ? end : pos;
}

// Unmaps [pos, end) within the leaf holding pos, one budget unit per record
// touched. done: where the next step starts — the leaf's upper bound, or the
// first overlapping record the budget did not reach.
Result<ExtentTree::StepResult> ExtentTree::RemoveStep(journal::Handle& handle, uint64_t pos,
                                                      uint64_t end, size_t* budget,
                                                      std::vector<Extent>* removed) {
  ASSIGN_OR_RETURN(Path path, FindPath(pos));
  StepResult result;
  result.done = std::min(end, path.back().high);
  std::vector<Extent> kept;
  std::vector<Extent> cut;
  for (const Extent& e : path.back().node.extents) {
    const bool overlaps = End(e) > pos && e.logical < end;
    if (overlaps && *budget == 0) result.done = std::min(result.done, std::max(pos, e.logical));
    if (!overlaps || *budget == 0) {
      kept.push_back(e);
      continue;
    }
    --*budget;
    const uint64_t from = std::max(e.logical, pos);
    const uint64_t to = std::min(End(e), end);
    if (e.logical < from) kept.push_back(Piece(e, e.logical, from));
    cut.push_back(Piece(e, from, to));
    if (End(e) > to) kept.push_back(Piece(e, to, End(e)));
  }
  if (cut.empty()) return result;
  RETURN_IF_ERROR(CommitLeaf(handle, path, std::move(kept), false));
  removed->insert(removed->end(), cut.begin(), cut.end());
  result.changed = true;
  return result;
}

Status ExtentTree::SetUnwritten(journal::Handle& handle, uint64_t start, uint64_t end,
                                bool unwritten) {
  RETURN_IF_ERROR(RequireLoaded());
  if (start > end) {
    return Status::Error(EINVAL, "extent tree of inode " + std::to_string(ino_) +
                                     ": SetUnwritten of a reversed range");
  }
  const uint64_t stop = std::min(end, kMaxLogicalBlocks);
  uint64_t pos = start;
  while (pos < stop) {
    ASSIGN_OR_RETURN(StepResult step, SetUnwrittenStep(handle, pos, stop, unwritten));
    pos = step.done;
  }
  return Status::Ok();
}

// Flips the mapped blocks of [pos, end) within the leaf holding pos: a record
// reaching past the range splits into up to three, then neighbours merge.
Result<ExtentTree::StepResult> ExtentTree::SetUnwrittenStep(journal::Handle& handle, uint64_t pos,
                                                            uint64_t end, bool unwritten) {
  ASSIGN_OR_RETURN(Path path, FindPath(pos));
  StepResult result;
  result.done = std::min(end, path.back().high);
  std::vector<Extent> records;
  for (const Extent& e : path.back().node.extents) {
    if (End(e) <= pos || e.logical >= end || e.unwritten == unwritten) {
      records.push_back(e);
      continue;
    }
    const uint64_t from = std::max(e.logical, pos);
    const uint64_t to = std::min(End(e), end);
    if (e.logical < from) records.push_back(Piece(e, e.logical, from));
    records.push_back(Piece(e, from, to));
    records.back().unwritten = unwritten;
    if (End(e) > to) records.push_back(Piece(e, to, End(e)));
    result.changed = true;
  }
  if (!result.changed) return result;
  MergeAdjacent(&records);
  RETURN_IF_ERROR(CommitLeaf(handle, path, std::move(records), false));
  return result;
}

}  // namespace foliofs::fs
