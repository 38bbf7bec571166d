// Block allocation and freeing (allocator.h): goal, group scan, exact
// ENOSPC with the reserve, and frees that wait for their transaction.
#include <algorithm>
#include <bit>
#include <cstring>

#include "fs/allocator_internal.h"

namespace foliofs::fs {

static_assert(std::endian::native == std::endian::little,
              "BitView copies the little-endian bitmap bytes into words");

namespace {
Status NoSpace(uint64_t avail, uint64_t floor, uint64_t min_len) {
  return Status::Error(ENOSPC, "allocator: " + std::to_string(min_len) + " blocks wanted, " +
                                   std::to_string(avail) + " allocatable, " +
                                   std::to_string(floor) + " kept in reserve");
}

// Calls fn(group, group-relative start, length) for each group's part of a run.
template <typename Fn>
Status ForEachGroupPart(const format::Layout& l, uint64_t start, uint64_t length, Fn fn) {
  while (length > 0) {
    const uint32_t g = static_cast<uint32_t>(start / l.blocks_per_group);
    const uint64_t off = start - l.group_first_block(g);
    const uint64_t n = std::min<uint64_t>(length, l.group_blocks(g) - off);
    RETURN_IF_ERROR(fn(g, static_cast<uint32_t>(off), static_cast<uint32_t>(n)));
    start += n;
    length -= n;
  }
  return Status::Ok();
}
}  // namespace

// ---- Pending frees ----------------------------------------------------------

void Allocator::Impl::ReleaseGroupLocked(GroupState& gs, uint64_t committed) {
  uint64_t n = 0;
  std::erase_if(gs.pending, [&](const PendingRun& r) {
    if (r.tid > committed) return false;
    n += r.length;
    return true;
  });
  if (n == 0) return;
  gs.pending_blocks -= static_cast<uint32_t>(n);
  pending_blocks -= n;
  avail_blocks += n;
}

// Frees are tagged with a running tid, which is always > committed_tid() while
// its handle runs; so once every group was swept for `committed`, no pending
// run with a tid ≤ committed can appear later and the sweep need not repeat.
void Allocator::Impl::ReleaseCommitted() {
  const uint64_t committed = journal.committed_tid();
  uint64_t released = released_tid.load();
  if (committed <= released || pending_blocks.load() == 0) return;
  for (uint32_t g = 0; g < layout.group_count; ++g) {
    GroupState& gs = groups[g];
    if (gs.pending_blocks.load() == 0) continue;
    std::lock_guard<std::mutex> lock(gs.mu);
    ReleaseGroupLocked(gs, committed);
  }
  while (released < committed && !released_tid.compare_exchange_weak(released, committed)) {
  }
}

// Takes up to *len blocks from avail_blocks, keeping it ≥ floor; at least
// min_len or nothing.
bool Allocator::Impl::ReserveAvail(uint64_t floor, uint64_t min_len, uint64_t* len) {
  uint64_t cur = avail_blocks.load();
  uint64_t n = 0;
  do {
    if (cur < floor + min_len) return false;
    n = std::min(*len, cur - floor);
  } while (!avail_blocks.compare_exchange_weak(cur, cur - n));
  *len = n;
  return true;
}

// ---- Allocation -------------------------------------------------------------

BitView Allocator::Impl::BuildView(uint32_t g, journal::Buffer& bitmap) const {
  BitView v;
  const uint32_t bits = format::BitsPerBitmap(layout.block_size);
  v.words.assign((bits + 63) / 64, ~uint64_t{0});
  std::memcpy(v.words.data(), bitmap.data() + format::kBlockHeaderSize, bits / 8);
  v.nbits = layout.group_blocks(g);
  for (const PendingRun& r : groups[g].pending) {
    for (uint32_t b = r.start; b < r.start + r.length; ++b)
      v.words[b / 64] |= uint64_t{1} << (b % 64);
  }
  return v;
}

Result<BlockRun> Allocator::Impl::TryGroup(journal::Handle& h, uint32_t g, int64_t goal_bit,
                                           uint64_t min_len, uint64_t max_len, uint64_t floor,
                                           bool accept_partial) {
  std::lock_guard<std::mutex> lock(groups[g].mu);
  ASSIGN_OR_RETURN(journal::BufferRef bitmap, ReadBitmap(g, false));
  const BitView v = BuildView(g, *bitmap);
  const uint32_t want = static_cast<uint32_t>(max_len);
  GroupRun run;
  if (goal_bit >= 0) {
    run =
        GroupRun{static_cast<uint32_t>(goal_bit), RunAt(v, static_cast<uint32_t>(goal_bit), want)};
    if (run.length < min_len) run = GroupRun{};
  }
  if (run.length == 0) {
    GroupRun full, longest;
    ScanRuns(v, goal_bit >= 0 ? static_cast<uint32_t>(goal_bit) : 0, want, &full, &longest);
    if (full.length != 0) {
      run = GroupRun{full.start, want};
    } else if (accept_partial && longest.length >= min_len) {
      run = longest;
    }
  }
  if (run.length == 0) return BlockRun{};
  return TakeRun(h, g, *bitmap, run, min_len, floor);
}

// Group mutex held. Reserves the blocks in avail_blocks, then journals the
// bitmap and descriptor change.
Result<BlockRun> Allocator::Impl::TakeRun(journal::Handle& h, uint32_t g, journal::Buffer& bitmap,
                                          GroupRun run, uint64_t min_len, uint64_t floor) {
  const uint64_t start = layout.group_first_block(g) + run.start;
  if (OverlapsMetadata(start, run.length)) {
    return Status::Corrupted(GroupName(g) + " block bitmap: metadata blocks from " +
                             std::to_string(start) + " are marked free");
  }
  uint64_t len = run.length;
  if (!ReserveAvail(floor, min_len, &len)) return NoSpace(avail_blocks.load(), floor, min_len);
  GroupState& gs = groups[g];
  bool changed = false;
  Status st = UpdateGroup(h, g, bitmap, [&]() -> Status {
    for (uint32_t i = 0; i < len; ++i) format::SetBit(bitmap.bytes(), run.start + i);
    gs.free_blocks -= static_cast<uint32_t>(len);
    free_blocks -= len;
    changed = true;
    return Status::Ok();
  });
  if (!st.ok()) {
    if (!changed) avail_blocks += len;
    return st;
  }
  return BlockRun{start, len};
}

namespace {
// Available blocks of a group from its counters (a hint: read without its lock).
uint64_t GroupAvail(const GroupState& gs) {
  const uint32_t f = gs.free_blocks.load(), p = gs.pending_blocks.load();
  return f > p ? f - p : 0;
}
}  // namespace

Result<BlockRun> Allocator::AllocBlocks(journal::Handle& handle, uint64_t goal, uint64_t min_len,
                                        uint64_t max_len, AllocKind kind) {
  Impl& a = *impl_;
  const format::Layout& l = a.layout;
  max_len = std::min<uint64_t>(max_len, l.blocks_per_group);
  if (min_len == 0 || min_len > max_len) {
    return Status::Error(EINVAL, "allocator: bad length range " + std::to_string(min_len) + ".." +
                                     std::to_string(max_len));
  }
  if (goal < l.front_end || goal >= l.blocks_count) goal = l.front_end;
  const uint64_t floor = kind == AllocKind::kData ? a.reserved : 0;
  a.ReleaseCommitted();
  if (a.avail_blocks.load() < floor + min_len)
    return NoSpace(a.avail_blocks.load(), floor, min_len);
  const uint32_t g0 = a.GroupOf(goal);
  const int64_t goal_bit = static_cast<int64_t>(goal - l.group_first_block(g0));
  // Pass 1: the goal, then a full max_len run; pass 2: the longest run ≥ min_len.
  for (bool partial : {false, true}) {
    for (uint32_t i = 0; i < l.group_count; ++i) {
      const uint32_t g = (g0 + i) % l.group_count;
      if (GroupAvail(a.groups[g]) < (partial || i == 0 ? min_len : max_len)) continue;
      ASSIGN_OR_RETURN(BlockRun run, a.TryGroup(handle, g, i == 0 ? goal_bit : -1, min_len, max_len,
                                                floor, partial));
      if (run.length != 0) return run;
    }
  }
  return NoSpace(a.avail_blocks.load(), floor, min_len);
}

// ---- Freeing ----------------------------------------------------------------

namespace {
Status CheckBitsSet(const format::Layout& l, uint32_t g, journal::Buffer& bitmap, uint32_t start,
                    uint32_t length) {
  for (uint32_t b = start; b < start + length; ++b) {
    if (!format::TestBit(bitmap.bytes(), b)) {
      return Status::Corrupted("allocator: freeing free block " +
                               std::to_string(l.group_first_block(g) + b));
    }
  }
  return Status::Ok();
}
}  // namespace

Status Allocator::Impl::CheckAllocated(uint32_t g, uint32_t start, uint32_t length) {
  std::lock_guard<std::mutex> lock(groups[g].mu);
  ASSIGN_OR_RETURN(journal::BufferRef bitmap, ReadBitmap(g, false));
  return CheckBitsSet(layout, g, *bitmap, start, length);
}

Status Allocator::Impl::FreeInGroup(journal::Handle& h, uint32_t g, uint32_t start, uint32_t length,
                                    AllocKind kind) {
  GroupState& gs = groups[g];
  std::lock_guard<std::mutex> lock(gs.mu);
  ASSIGN_OR_RETURN(journal::BufferRef bitmap, ReadBitmap(g, false));
  // Again under this lock: another thread may have freed them since the check.
  RETURN_IF_ERROR(CheckBitsSet(layout, g, *bitmap, start, length));
  const uint64_t first = layout.group_first_block(g);
  return UpdateGroup(h, g, *bitmap, [&]() -> Status {
    if (kind == AllocKind::kMetadata) {
      for (uint32_t b = start; b < start + length; ++b) RETURN_IF_ERROR(h.Revoke(first + b));
    }
    for (uint32_t b = start; b < start + length; ++b) ClearBit(bitmap->bytes(), b);
    gs.free_blocks += length;
    gs.pending_blocks += length;
    gs.pending.push_back(PendingRun{h.tid(), start, length});
    free_blocks += length;
    pending_blocks += length;
    return Status::Ok();
  });
}

Status Allocator::FreeBlocks(journal::Handle& handle, uint64_t start, uint64_t length,
                             AllocKind kind) {
  Impl& a = *impl_;
  const format::Layout& l = a.layout;
  const std::string what = "blocks " + std::to_string(start) + "+" + std::to_string(length);
  if (length == 0) return Status::Error(EINVAL, "allocator: freeing 0 blocks");
  if (start < l.front_end || start >= l.blocks_count || length > l.blocks_count - start) {
    return Status::Corrupted("allocator: freeing " + what + " outside the data area");
  }
  if (a.OverlapsMetadata(start, length)) {
    return Status::Corrupted("allocator: freeing " + what + " which overlap a backup copy");
  }
  const int need = FreeCredits(start, length, kind);
  if (handle.credits_left() < need) {
    return Status::Error(ENOSPC, "allocator: freeing " + what + " needs " + std::to_string(need) +
                                     " credits, the handle has " +
                                     std::to_string(handle.credits_left()) + " left");
  }
  RETURN_IF_ERROR(ForEachGroupPart(l, start, length, [&](uint32_t g, uint32_t s, uint32_t n) {
    return a.CheckAllocated(g, s, n);
  }));
  return ForEachGroupPart(l, start, length, [&](uint32_t g, uint32_t s, uint32_t n) {
    return a.FreeInGroup(handle, g, s, n, kind);
  });
}

}  // namespace foliofs::fs
