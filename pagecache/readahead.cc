// ReadaheadState::Plan: the policy stated in readahead.h.
#include "pagecache/readahead.h"

#include <algorithm>

namespace foliofs {

ReadaheadState::ReadaheadState(uint64_t initial_window, uint64_t max_window)
    : initial_(std::max<uint64_t>(initial_window, 1)),
      max_(std::max(max_window, std::max<uint64_t>(initial_window, 1))),
      size_(initial_) {}

uint64_t ReadaheadState::window_size() const {
  std::lock_guard lk(mu_);
  return size_;
}

ReadaheadState::Window ReadaheadState::Plan(uint64_t pos, uint64_t len, bool missed,
                                            uint32_t block_size, uint32_t max_order,
                                            uint64_t limit) {
  std::lock_guard lk(mu_);
  const uint64_t bs = block_size == 0 ? 1 : block_size;
  const uint64_t req_end = pos + std::max<uint64_t>(len, 1);
  Window w;
  w.start = pos / bs * bs;
  w.end = (req_end + bs - 1) / bs * bs;
  const bool sequential = pos == prev_end_ || (pos >= window_start_ && pos <= window_end_);
  if (!sequential) {
    size_ = initial_;  // random: just the request, and start over
  } else if (missed) {
    // Sequential miss: read a window of the current size from the request,
    // then double it for the next miss.
    w.end = std::max(w.end, (w.start + size_ + bs - 1) / bs * bs);
    size_ = std::min(size_ * 2, max_);
  }
  w.end = std::max(w.start, std::min(w.end, limit));
  if (!sequential || missed) {  // a new planned window (a hit keeps the old one)
    window_start_ = w.start;
    window_end_ = w.end;
  }
  prev_end_ = req_end;
  // The largest order whose folio fits in the window.
  const uint64_t blocks = (w.end - w.start) / bs;
  uint32_t order = 0;
  while (order < max_order && (uint64_t{2} << order) <= blocks) order++;
  w.order_hint = order;
  return w;
}

}  // namespace foliofs
