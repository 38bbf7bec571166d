// Readahead: the per-open-file window that turns a sequential reader's small
// reads into large folios read in large batches (the kernel's file_ra_state
// and ondemand readahead, simplified).
//
// The reader (fs/iomap IomapRead) calls Plan() for every read request and,
// when any part of the returned window is missing from the cache or not
// uptodate, creates the missing folios of the window with the returned order
// hint and reads them in one batch.
//
// Policy:
//  - A request that starts where the previous one ended (or inside the
//    window last planned, or right at its end) is sequential: the window starts at the request
//    and its size doubles on every miss, from initial_window up to
//    max_window.
//  - Any other request is random: the window is just the request rounded
//    out to blocks, and the size goes back to initial_window.
//  - The window never starts before the request, and is clipped to `limit`
//    (the caller passes EOF rounded up to a block).
//  - order_hint is the largest folio order (of block_size, ≤ max_order) the
//    window's size allows; large folios on sequential reads, single blocks
//    on small random ones.
//
// Thread safety: Plan() may be called from several threads reading the same
// open file; an internal mutex (leaf) serializes it.
#pragma once

#include <cstdint>
#include <mutex>

namespace foliofs {

class ReadaheadState {
 public:
  static constexpr uint64_t kDefaultInitialWindow = 128 * 1024;
  static constexpr uint64_t kDefaultMaxWindow = 4 * 1024 * 1024;

  explicit ReadaheadState(uint64_t initial_window = kDefaultInitialWindow,
                          uint64_t max_window = kDefaultMaxWindow);

  struct Window {
    uint64_t start = 0;       // block aligned, ≤ request pos
    uint64_t end = 0;         // block aligned, ≥ request end (unless clipped by limit)
    uint32_t order_hint = 0;  // folio order to create missing folios with
  };

  // Plans the window for a read of [pos, pos+len) (len > 0). `missed`: the
  // caller found part of the request not cached — only a miss grows a
  // sequential window (a hit just records the position).
  Window Plan(uint64_t pos, uint64_t len, bool missed, uint32_t block_size, uint32_t max_order,
              uint64_t limit);

  uint64_t window_size() const;  // current sequential window (tests)

 private:
  mutable std::mutex mu_;  // leaf
  const uint64_t initial_;
  const uint64_t max_;
  uint64_t size_;          // current window size
  uint64_t prev_end_ = 0;  // end of the previous request
  uint64_t window_start_ = 0;  // the last planned window: [window_start_, window_end_)
  uint64_t window_end_ = 0;
};

}  // namespace foliofs
