// Bit-run helpers over a group's block bitmap (allocator_internal.h).
#include <algorithm>
#include <bit>

#include "fs/allocator_internal.h"

namespace foliofs::fs {

uint32_t BitView::NextClear(uint32_t from) const {
  while (from < nbits) {
    const uint64_t free = ~words[from / 64] >> (from % 64);
    if (free != 0) return std::min(nbits, from + static_cast<uint32_t>(std::countr_zero(free)));
    from = (from / 64 + 1) * 64;
  }
  return nbits;
}

uint32_t BitView::NextSet(uint32_t from) const {
  while (from < nbits) {
    const uint64_t used = words[from / 64] >> (from % 64);
    if (used != 0) return std::min(nbits, from + static_cast<uint32_t>(std::countr_zero(used)));
    from = (from / 64 + 1) * 64;
  }
  return nbits;
}

uint32_t RunAt(const BitView& v, uint32_t start, uint32_t cap) {
  if (start >= v.nbits || v.Test(start)) return 0;
  return std::min(cap, v.NextSet(start) - start);
}

// Runs starting in [from, nbits), then in [0, from): a run that starts before
// `from` is measured whole (it may extend past `from`).
void ScanRuns(const BitView& v, uint32_t from, uint32_t want, GroupRun* full, GroupRun* longest) {
  *full = GroupRun{};
  *longest = GroupRun{};
  auto scan = [&](uint32_t pos, uint32_t stop) {
    for (pos = v.NextClear(pos); pos < stop; pos = v.NextClear(pos)) {
      const uint32_t end = v.NextSet(pos);
      const GroupRun run{pos, end - pos};
      if (run.length >= want) {
        *full = run;
        return true;
      }
      if (run.length > longest->length) *longest = run;
      pos = end;
    }
    return false;
  };
  if (!scan(from, v.nbits)) scan(0, from);
}

uint32_t CountClear(std::span<const uint8_t> bitmap_block, uint32_t from, uint32_t to) {
  uint32_t n = 0;
  for (uint32_t i = from; i < to && i % 8 != 0; ++i) n += format::TestBit(bitmap_block, i) ? 0 : 1;
  uint32_t i = std::max(from, (from + 7) / 8 * 8);
  for (; i + 8 <= to; i += 8) {
    n += 8 - static_cast<uint32_t>(std::popcount(bitmap_block[format::kBlockHeaderSize + i / 8]));
  }
  for (; i < to; ++i) n += format::TestBit(bitmap_block, i) ? 0 : 1;
  return n;
}

}  // namespace foliofs::fs
