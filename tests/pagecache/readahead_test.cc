// ReadaheadState: the policy of readahead.h — sequential windows double on
// misses up to the maximum, random reads reset, windows are clipped to the
// limit and the order hint follows the window's size.
#include <gtest/gtest.h>

#include "pagecache/readahead.h"

namespace foliofs {
namespace {

constexpr uint64_t K = 1024;
constexpr uint64_t M = 1024 * K;
constexpr uint64_t kNoLimit = UINT64_MAX / 2;

TEST(ReadaheadTest, SequentialMissesDoubleTheWindowUpToTheMaximum) {
  ReadaheadState ra(128 * K, 1 * M);
  EXPECT_EQ(ra.window_size(), 128 * K);
  uint64_t pos = 0;
  const uint64_t expect[] = {128 * K, 256 * K, 512 * K, 1 * M, 1 * M, 1 * M};
  for (uint64_t size : expect) {
    const auto w = ra.Plan(pos, 4 * K, /*missed=*/true, 4096, 6, kNoLimit);
    EXPECT_EQ(w.start, pos);
    EXPECT_EQ(w.end - w.start, size) << "at " << pos;
    pos = w.end;  // the reader reaches the end of the window: the next miss
  }
  EXPECT_EQ(ra.window_size(), 1 * M);
}

TEST(ReadaheadTest, SequentialHitsOnlyRecordThePosition) {
  ReadaheadState ra(128 * K, 1 * M);
  auto w = ra.Plan(0, 4 * K, true, 4096, 6, kNoLimit);
  EXPECT_EQ(w.end, 128 * K);
  for (uint64_t pos = 4 * K; pos < 128 * K; pos += 4 * K) {
    w = ra.Plan(pos, 4 * K, /*missed=*/false, 4096, 6, kNoLimit);
    EXPECT_EQ(w.start, pos);
    EXPECT_EQ(w.end, pos + 4 * K);
  }
  EXPECT_EQ(ra.window_size(), 256 * K);  // grew once, on the one miss
  w = ra.Plan(128 * K, 4 * K, true, 4096, 6, kNoLimit);
  EXPECT_EQ(w.end - w.start, 256 * K);
}

TEST(ReadaheadTest, ARandomReadResetsTheWindowToTheRequest) {
  ReadaheadState ra(128 * K, 4 * M);
  uint64_t pos = 0;
  for (int i = 0; i < 3; i++) pos = ra.Plan(pos, 4 * K, true, 4096, 6, kNoLimit).end;
  EXPECT_EQ(ra.window_size(), 1 * M);
  auto w = ra.Plan(50 * M + 100, 5000, true, 4096, 6, kNoLimit);
  EXPECT_EQ(w.start, 50 * M);  // rounded out to blocks, never before the request's block
  EXPECT_EQ(w.end, 50 * M + 8 * K);
  EXPECT_EQ(w.order_hint, 1u);
  EXPECT_EQ(ra.window_size(), 128 * K);
  // Continuing from there is sequential again and starts small.
  w = ra.Plan(50 * M + 5100, 4 * K, true, 4096, 6, kNoLimit);
  EXPECT_EQ(w.start, 50 * M + 4 * K);
  EXPECT_EQ(w.end - w.start, 128 * K);
  // A read behind the last window is random.
  w = ra.Plan(10 * M, 4 * K, true, 4096, 6, kNoLimit);
  EXPECT_EQ(w.end - w.start, 4 * K);
  EXPECT_EQ(w.order_hint, 0u);
}

TEST(ReadaheadTest, AMissInsideTheLastWindowIsSequential) {
  ReadaheadState ra(128 * K, 4 * M);
  ra.Plan(0, 4 * K, true, 4096, 6, kNoLimit);  // window [0, 128K)
  const auto w = ra.Plan(64 * K, 4 * K, true, 4096, 6, kNoLimit);
  EXPECT_EQ(w.start, 64 * K);
  EXPECT_EQ(w.end - w.start, 256 * K);
}

TEST(ReadaheadTest, WindowsAreClippedToTheLimit) {
  ReadaheadState ra(128 * K, 4 * M);
  auto w = ra.Plan(0, 4 * K, true, 4096, 6, 40 * K);
  EXPECT_EQ(w.start, 0u);
  EXPECT_EQ(w.end, 40 * K);
  EXPECT_EQ(w.order_hint, 3u);  // 10 blocks: an 8-block folio fits
  w = ra.Plan(36 * K, 8 * K, true, 4096, 6, 40 * K);  // request crosses the limit
  EXPECT_EQ(w.start, 36 * K);
  EXPECT_EQ(w.end, 40 * K);
  w = ra.Plan(48 * K, 4 * K, true, 4096, 6, 40 * K);  // wholly past it: empty
  EXPECT_EQ(w.start, 48 * K);
  EXPECT_EQ(w.end, 48 * K);
  EXPECT_EQ(w.order_hint, 0u);
}

TEST(ReadaheadTest, OrderHintIsTheLargestFolioTheWindowHoldsUpToMaxOrder) {
  ReadaheadState ra(128 * K, 4 * M);
  EXPECT_EQ(ra.Plan(0, 1, true, 1024, 8, kNoLimit).order_hint, 7u);      // 128 blocks
  EXPECT_EQ(ra.Plan(1, 1, true, 1024, 8, kNoLimit).order_hint, 8u);      // 256 KiB, capped
  EXPECT_EQ(ra.Plan(2, 1, true, 1024, 4, kNoLimit).order_hint, 4u);  // 512 KiB, max_order 4
  ReadaheadState small(4 * K, 4 * K);
  EXPECT_EQ(small.Plan(0, 4 * K, true, 4096, 6, kNoLimit).order_hint, 0u);
  EXPECT_EQ(small.Plan(4 * K, 64 * K, true, 4096, 6, kNoLimit).order_hint, 4u);  // the request
}

}  // namespace
}  // namespace foliofs
