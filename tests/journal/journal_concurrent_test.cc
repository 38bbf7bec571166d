// Concurrency: many threads start (and nest) handles, modify disjoint and
// shared buffers, force commits, while the commit thread commits on a short
// interval and another thread checkpoints; a small journal forces waits for
// space. The final state is verified after close + reopen. TSan runs this.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "journal/journal_format.h"
#include "tests/journal/journal_test_util.h"

namespace foliofs::journal {
namespace {
using namespace foliofs::journal::testing;

#if defined(FOLIOFS_SANITIZER_THREAD) || defined(FOLIOFS_SANITIZER_ADDRESS)
constexpr int kIterations = 150;
#else
constexpr int kIterations = 400;
#endif
constexpr int kThreads = 4;
constexpr int kSlots = 6;  // private blocks per thread
constexpr uint64_t kShared = kHomeStart + 100;

uint64_t PrivateBlock(int thread, int slot) { return kHomeStart + thread * kSlots + slot; }

struct SharedCounter {
  std::mutex mu;  // the "filesystem lock" of the shared block
  uint64_t increments = 0;
};

Status Increment(Journal& j, Handle& h, SharedCounter& c) {
  ASSIGN_OR_RETURN(BufferRef b, j.buffers().Read(kShared));
  std::lock_guard<std::mutex> l(c.mu);
  RETURN_IF_ERROR(h.GetWriteAccess(*b));
  PutLe64(b->data(), GetLe64(b->data()) + 1);
  RETURN_IF_ERROR(h.DirtyMetadata(*b));
  c.increments++;
  return Status::Ok();
}

Status WritePrivate(Journal& j, Handle& h, int thread, int slot, uint64_t value) {
  ASSIGN_OR_RETURN(BufferRef b, j.buffers().Read(PrivateBlock(thread, slot)));
  RETURN_IF_ERROR(h.GetWriteAccess(*b));
  std::memset(b->data(), static_cast<int>(value & 0xFF), kBs);
  PutLe64(b->data(), value);
  return h.DirtyMetadata(*b);
}

void Worker(Journal& j, int thread, SharedCounter& c, std::vector<uint64_t>& last) {
  std::mt19937_64 rng(1000 + thread);
  for (int i = 1; i <= kIterations; ++i) {
    auto h = j.Start(2, "worker");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    int slot = static_cast<int>(rng() % kSlots);
    uint64_t value = (uint64_t(thread) << 32) | uint64_t(i);
    ASSERT_TRUE(WritePrivate(j, **h, thread, slot, value).ok());
    last[slot] = value;
    if (rng() % 2 == 0) {
      auto nested = j.Start(1, "nested");  // joins the same handle
      ASSERT_TRUE(nested.ok()) << nested.status().ToString();
      ASSERT_TRUE(Increment(j, **nested, c).ok());
      ASSERT_TRUE((*nested)->Stop().ok());
    }
    uint64_t tid = (*h)->tid();
    ASSERT_TRUE((*h)->Stop().ok());
    if (rng() % 16 == 0) {
      ASSERT_TRUE(j.ForceCommit(tid).ok());
      ASSERT_GE(j.committed_tid(), tid);
    }
  }
}

TEST(ConcurrentJournalTest, ThreadsCommitsAndCheckpointsKeepEveryUpdate) {
  auto dev = MakeDevice();
  ASSERT_TRUE(FormatJournal(*dev, kJournalStart, 64, kBs, TestUuid()).ok());
  JournalOptions o = TestOptions(64);
  o.commit_interval = std::chrono::milliseconds(3);
  auto jr = Journal::Open(*dev, o);
  ASSERT_TRUE(jr.ok());
  Journal& j = **jr;
  SharedCounter counter;
  std::vector<std::vector<uint64_t>> last(kThreads, std::vector<uint64_t>(kSlots, 0));
  std::atomic<bool> done{false};
  std::thread checkpointer([&] {
    while (!done.load()) {
      EXPECT_TRUE(j.Checkpoint().ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t)
    workers.emplace_back([&, t] { Worker(j, t, counter, last[t]); });
  for (auto& w : workers) w.join();
  done = true;
  checkpointer.join();
  EXPECT_FALSE(j.aborted());
  EXPECT_GT(j.stats().checkpoints, 0u);
  ASSERT_TRUE(j.Close().ok());
  jr->reset();

  auto j2 = Journal::Open(*dev, TestOptions(64));
  ASSERT_TRUE(j2.ok());
  EXPECT_TRUE((*j2)->recovery_info().was_clean);
  EXPECT_EQ(GetLe64(HomeBlock(*dev, kShared).data()), counter.increments);
  for (int t = 0; t < kThreads; ++t)
    for (int s = 0; s < kSlots; ++s)
      EXPECT_EQ(GetLe64(HomeBlock(*dev, PrivateBlock(t, s)).data()), last[t][s]) << t << "/" << s;
}

}  // namespace
}  // namespace foliofs::journal
