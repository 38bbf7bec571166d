// Crash tests: randomized metadata transactions over a LoggingDevice; the
// journal is recovered from the image of a crash at every flush point and at
// random points (with torn writes) after each, and the result must be exactly
// "transactions 1..k applied" with k covering every returned ForceCommit.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>

#include "journal/journal_format.h"
#include "pagecache/blockdev/logging_device.h"
#include "tests/journal/journal_test_util.h"

namespace foliofs::journal {
namespace {
using namespace foliofs::journal::testing;

constexpr uint64_t kJournalBlocks = 128;
constexpr uint64_t kHomeBlocks = 64;

#if defined(FOLIOFS_SANITIZER_ADDRESS) || defined(FOLIOFS_SANITIZER_THREAD)
constexpr int kSeeds = 1;
#else
constexpr int kSeeds = 4;
#endif
constexpr int kRandomPerFlush = 8;

// Pattern tid of "file data" written over a freed (revoked) block once the
// revoke has committed, as the filesystem would after reusing it.
constexpr uint64_t kDataTid = 1ull << 40;
constexpr size_t kNoOp = ~size_t{0};

// One block's history in handle order: written or revoked in `tid`; for a
// revoke, `data_op` is the log index of the data write that followed it.
struct Event {
  uint64_t tid;
  bool revoke;
  size_t data_op = kNoOp;
};

struct Workload {
  std::map<uint64_t, std::vector<Event>> history;  // home block index -> events
  std::vector<std::pair<uint64_t, size_t>> forced;  // (tid, op_count when ForceCommit returned)
  std::vector<uint64_t> pending_reuse;              // revoked, data not yet written
  uint64_t last_tid = 0;
};

// After ForceCommit(tid): reuse the blocks revoked so far for data.
void ReuseRevoked(BlockDevice& dev, uint64_t tid, Workload& w) {
  std::vector<uint64_t> keep;
  for (uint64_t idx : w.pending_reuse) {
    Event& e = w.history[idx].back();
    if (!e.revoke || e.tid > tid) {
      if (e.revoke) keep.push_back(idx);
      continue;
    }
    AlignedBuffer data = AllocateAligned(kBs);
    FillPattern(data.get(), kDataTid, kHomeStart + idx);
    ASSERT_TRUE(dev.Write((kHomeStart + idx) * kBs, data.get(), kBs).ok());
    e.data_op = static_cast<LoggingDevice&>(dev).op_count() - 1;
  }
  w.pending_reuse = keep;
}

void RunHandle(Journal& j, std::mt19937_64& rng, Workload& w) {
  int nblocks = 1 + static_cast<int>(rng() % 5);
  bool revoke = rng() % 8 == 0;
  auto h = j.Start(nblocks + (revoke ? 1 : 0), "crash");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  uint64_t tid = (*h)->tid();
  for (int i = 0; i < nblocks; ++i) {
    uint64_t idx = rng() % kHomeBlocks, nr = kHomeStart + idx;
    auto b = j.buffers().Read(nr);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*h)->GetWriteAccess(**b).ok());
    FillPattern((*b)->data(), tid, nr);
    ASSERT_TRUE((*h)->DirtyMetadata(**b).ok());
    w.history[idx].push_back({tid, false});
  }
  if (revoke) {
    uint64_t idx = rng() % kHomeBlocks;
    ASSERT_TRUE((*h)->Revoke(kHomeStart + idx).ok());
    w.history[idx].push_back({tid, true});
    w.pending_reuse.push_back(idx);
  }
  ASSERT_TRUE((*h)->Stop().ok());
  w.last_tid = tid;
}

void RunWorkload(Journal& j, LoggingDevice& dev, uint64_t seed, Workload& w) {
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 160; ++i) {
    RunHandle(j, rng, w);
    if (rng() % 3 == 0) {
      ASSERT_TRUE(j.ForceCommit(w.last_tid).ok());
      w.forced.emplace_back(w.last_tid, dev.op_count());
      ReuseRevoked(dev, w.last_tid, w);
    }
    if (rng() % 25 == 0) {
      ASSERT_TRUE(j.Checkpoint().ok());
    }
  }
}

// May a freed block hold pattern `tid` at this crash? `last` is its newest
// event <= k, a revoke. Any older committed version, or data written after one
// of its revokes committed — which it must hold once the data write following
// `last` is durable (replaying an older copy would destroy it).
bool FreedBlockOk(const std::vector<Event>& events, const Event& last, int64_t tid,
                  const CrashState& cs, size_t crash_at) {
  if (last.data_op != kNoOp && last.data_op < cs.durable_ops)
    return tid == static_cast<int64_t>(kDataTid);
  bool data_possible = false;  // some data write may have landed (maybe torn)
  for (const Event& e : events) {
    if (&e == &last + 1) break;
    if (e.revoke && e.data_op != kNoOp && e.data_op < crash_at) data_possible = true;
  }
  if (data_possible && (tid == static_cast<int64_t>(kDataTid) || tid == -1)) return true;
  return tid >= 0 && tid < static_cast<int64_t>(last.tid);
}

// Does the home area equal "transactions 1..k applied"? tids[i] is the
// pattern tid found in home block i (-1: invalid).
bool MatchesPrefix(const Workload& w, const std::vector<int64_t>& tids, uint64_t k,
                   const CrashState& cs, size_t crash_at) {
  for (uint64_t i = 0; i < kHomeBlocks; ++i) {
    const Event* last = nullptr;
    auto it = w.history.find(i);
    if (it != w.history.end())
      for (const Event& e : it->second)
        if (e.tid <= k) last = &e;
    if (last == nullptr) {
      if (tids[i] != 0) return false;
    } else if (!last->revoke) {
      if (tids[i] != static_cast<int64_t>(last->tid)) return false;
    } else if (!FreedBlockOk(it->second, *last, tids[i], cs, crash_at)) {
      return false;
    }
  }
  return true;
}

std::vector<int64_t> HomeTids(const MemoryDevice& dev) {
  std::vector<int64_t> tids(kHomeBlocks);
  for (uint64_t i = 0; i < kHomeBlocks; ++i)
    tids[i] = PatternTid(HomeBlock(dev, kHomeStart + i).data(), kHomeStart + i);
  return tids;
}

// Recovers `image`; checks the prefix property, the ForceCommit bound and that
// a second recovery (crash right after the first) changes nothing.
::testing::AssertionResult CheckCrashImage(const Workload& w, size_t crash_at,
                                           const CrashState& cs,
                                           std::shared_ptr<MemoryDevice> image) {
  uint64_t bound = 0;
  for (auto [tid, ops] : w.forced)
    if (ops <= crash_at) bound = std::max(bound, tid);
  auto j = Journal::Open(*image, TestOptions(kJournalBlocks));
  if (!j.ok()) return ::testing::AssertionFailure() << "open: " << j.status().ToString();
  std::vector<int64_t> tids = HomeTids(*image);
  bool found = false;
  for (uint64_t k = bound; k <= w.last_tid && !found; ++k) found = MatchesPrefix(w, tids, k, cs, crash_at);
  if (!found) {
    std::string diag;
    for (uint64_t i = 0; i < kHomeBlocks; ++i) {
      auto it = w.history.find(i);
      std::string h;
      if (it != w.history.end())
        for (const Event& e : it->second)
          h += (e.revoke ? " r" : " w") + std::to_string(e.tid) +
               (e.data_op != kNoOp ? "/d" + std::to_string(e.data_op) : "");
      diag += "\n  block " + std::to_string(i) + " holds " + std::to_string(tids[i]) + ":" + h;
    }
    return ::testing::AssertionFailure() << "crash at op " << crash_at << " (durable "
                                         << cs.durable_ops << "): home area is no prefix >= tid "
                                         << bound << diag;
  }
  auto again = CrashCopy(*image);
  auto j2 = Journal::Open(*again, TestOptions(kJournalBlocks));
  if (!j2.ok()) return ::testing::AssertionFailure() << "reopen: " << j2.status().ToString();
  if ((*j2)->recovery_info().transactions_replayed != 0 || HomeTids(*again) != tids)
    return ::testing::AssertionFailure() << "crash at op " << crash_at
                                         << ": second recovery was not a no-op";
  return ::testing::AssertionSuccess();
}

struct Recorded {
  std::shared_ptr<MemoryDevice> base;
  std::unique_ptr<LoggingDevice> dev;
  Workload w;
};

void Record(uint64_t seed, Recorded& r) {
  r.base = MakeDevice(512);
  ASSERT_TRUE(FormatJournal(*r.base, kJournalStart, kJournalBlocks, kBs, TestUuid()).ok());
  auto dev = LoggingDevice::Create(r.base);
  ASSERT_TRUE(dev.ok());
  r.dev = std::move(dev).value();
  auto j = Journal::Open(*r.dev, TestOptions(kJournalBlocks));
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  RunWorkload(**j, *r.dev, seed, r.w);
  // Commits and checkpoints of Close are crash points too.
  ASSERT_TRUE((*j)->Close().ok());
}

TEST(CrashTest, EveryFlushPointAndRandomTornStatesRecoverToAPrefix) {
  size_t states = 0, failures = 0;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    Recorded r;
    ASSERT_NO_FATAL_FAILURE(Record(seed, r));
    std::vector<LoggedOp> log = r.dev->Log();
    std::mt19937_64 rng(seed * 7919);
    for (size_t i = 0; i < log.size(); ++i) {
      if (log[i].op != IoOp::kFlush) continue;
      size_t next = i + 1;
      while (next < log.size() && log[next].op != IoOp::kFlush) ++next;
      std::vector<size_t> points = {i + 1};
      for (int k = 0; k < kRandomPerFlush && next > i + 1; ++k)
        points.push_back(i + 2 + rng() % (std::min(next, log.size() - 1) - i));
      for (size_t at : points) {
        CrashState cs = r.dev->RandomCrashState(at, rng, 0.3);
        auto image = r.dev->CrashImage(cs);
        ASSERT_TRUE(image.ok()) << image.status().ToString();
        ::testing::AssertionResult ok = CheckCrashImage(r.w, at, cs, std::move(image).value());
        ++states;
        if (!ok) {
          ++failures;
          ADD_FAILURE() << "seed " << seed << ": " << ok.message();
        }
      }
    }
  }
  std::printf("[crash] %zu crash states checked, %zu failures\n", states, failures);
  EXPECT_GE(states, kSeeds * 450u);  // about 640 per seed
}

// Index of the last FUA write into the log area (a commit block).
size_t LastCommitWrite(const std::vector<LoggedOp>& log) {
  size_t idx = log.size();
  for (size_t i = 0; i < log.size(); ++i)
    if (log[i].op == IoOp::kWrite && log[i].fua && log[i].offset > kJournalStart * kBs &&
        log[i].offset < (kJournalStart + kJournalBlocks) * kBs)
      idx = i;
  return idx;
}

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = MakeDevice(512);
    ASSERT_TRUE(FormatJournal(*base_, kJournalStart, kJournalBlocks, kBs, TestUuid()).ok());
    // Stale bytes in the log area (as after the log has wrapped), so that a
    // torn commit block differs from a whole one in every sector.
    std::vector<uint8_t> stale((kJournalBlocks - 1) * kBs, 0xAB);
    base_->Poke((kJournalStart + 1) * kBs, stale.data(), stale.size());
    auto dev = LoggingDevice::Create(base_);
    ASSERT_TRUE(dev.ok());
    dev_ = std::move(dev).value();
    auto j = Journal::Open(*dev_, TestOptions(kJournalBlocks));
    ASSERT_TRUE(j.ok());
    j_ = std::move(j).value();
    ASSERT_TRUE(j_->ForceCommit(WriteBlocks(*j_, {kHomeStart})).ok());
    ASSERT_TRUE(j_->ForceCommit(WriteBlocks(*j_, {kHomeStart, kHomeStart + 1})).ok());
    log_ = dev_->Log();
    commit_ = LastCommitWrite(log_);
    ASSERT_LT(commit_, log_.size());
  }
  // Crash right after the commit write of tid 2, which landed per `landed`.
  std::shared_ptr<MemoryDevice> Image(std::vector<bool> landed) {
    CrashState cs;
    cs.durable_ops = commit_;
    cs.torn.push_back({commit_, std::move(landed)});
    auto img = dev_->CrashImage(cs);
    EXPECT_TRUE(img.ok()) << img.status().ToString();
    return std::shared_ptr<MemoryDevice>(std::move(img).value());
  }
  std::shared_ptr<MemoryDevice> base_;
  std::unique_ptr<LoggingDevice> dev_;
  std::unique_ptr<Journal> j_;
  std::vector<LoggedOp> log_;
  size_t commit_ = 0;
};

TEST_F(RecoveryTest, TornCommitBlockIsIgnored) {
  const size_t sectors = kBs / 512;
  std::vector<std::vector<bool>> masks;
  for (size_t n = 0; n < sectors; ++n) {  // every proper prefix and suffix of sectors landed
    std::vector<bool> prefix(sectors, false), suffix(sectors, false);
    for (size_t s = 0; s < n; ++s) prefix[s] = suffix[sectors - 1 - s] = true;
    masks.push_back(prefix);
    masks.push_back(suffix);
  }
  for (const auto& mask : masks) {
    auto img = Image(mask);
    auto j = Journal::Open(*img, TestOptions(kJournalBlocks));
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)->recovery_info().transactions_replayed, 1u);
    EXPECT_EQ(PatternTid(HomeBlock(*img, kHomeStart).data(), kHomeStart), 1);
    EXPECT_EQ(PatternTid(HomeBlock(*img, kHomeStart + 1).data(), kHomeStart + 1), 0);
  }
  auto whole = Image(std::vector<bool>(sectors, true));  // the same crash, commit landed
  auto j = Journal::Open(*whole, TestOptions(kJournalBlocks));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->recovery_info().transactions_replayed, 2u);
  EXPECT_EQ(PatternTid(HomeBlock(*whole, kHomeStart + 1).data(), kHomeStart + 1), 2);
}

TEST_F(RecoveryTest, CopyNotMatchingItsTagChecksumEndsTheLog) {
  ASSERT_TRUE(j_->ForceCommit(WriteBlocks(*j_, {kHomeStart + 2})).ok());
  auto img = CrashCopy(*base_);
  // Log layout from block 1: T1 = desc, copy, commit; T2 = desc, copy, copy, commit.
  uint8_t junk = 0xEE;
  img->Poke((kJournalStart + 6) * kBs + 100, &junk, 1);  // second copy of T2
  auto j = Journal::Open(*img, TestOptions(kJournalBlocks));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->recovery_info().transactions_replayed, 1u);  // T2 and T3 ignored
  EXPECT_EQ(PatternTid(HomeBlock(*img, kHomeStart).data(), kHomeStart), 1);
  EXPECT_EQ(PatternTid(HomeBlock(*img, kHomeStart + 2).data(), kHomeStart + 2), 0);
}

TEST_F(RecoveryTest, CrashDuringRecoveryRecoversAgain) {
  ASSERT_TRUE(j_->ForceCommit(WriteBlocks(*j_, {kHomeStart + 2, kHomeStart + 3})).ok());
  auto image = CrashCopy(*base_);  // three committed transactions, none home
  auto logged = LoggingDevice::Create(image);
  ASSERT_TRUE(logged.ok());
  {
    auto j = Journal::Open(**logged, TestOptions(kJournalBlocks));
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)->recovery_info().transactions_replayed, 3u);
  }
  const size_t ops = (*logged)->op_count();
  std::mt19937_64 rng(5);
  int states = 0;
  for (size_t at = 1; at <= ops; ++at) {
    for (int k = 0; k < 4; ++k, ++states) {
      auto img = (*logged)->CrashImage((*logged)->RandomCrashState(at, rng, 0.5));
      ASSERT_TRUE(img.ok());
      auto j = Journal::Open(**img, TestOptions(kJournalBlocks));
      ASSERT_TRUE(j.ok()) << "crash at op " << at << ": " << j.status().ToString();
      EXPECT_EQ(PatternTid(HomeBlock(**img, kHomeStart).data(), kHomeStart), 2) << at;
      EXPECT_EQ(PatternTid(HomeBlock(**img, kHomeStart + 1).data(), kHomeStart + 1), 2) << at;
      EXPECT_EQ(PatternTid(HomeBlock(**img, kHomeStart + 3).data(), kHomeStart + 3), 3) << at;
    }
  }
  EXPECT_GT(states, 20);
}

}  // namespace
}  // namespace foliofs::journal
