// Unit tests of the journal: format/open, handles, commit, freezing, revoke,
// checkpoint, abort, I1. All over MemoryDevice / FaultyDevice.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "journal/journal_format.h"
#include "pagecache/base/held_handles.h"
#include "pagecache/blockdev/faulty_device.h"
#include "tests/journal/journal_test_util.h"

namespace foliofs::journal {
namespace {
using namespace foliofs::journal::testing;

std::unique_ptr<Journal> OpenOk(BlockDevice& dev, const JournalOptions& o) {
  auto j = Journal::Open(dev, o);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? std::move(j).value() : nullptr;
}

std::shared_ptr<MemoryDevice> Formatted(uint64_t journal_blocks = 64) {
  auto dev = MakeDevice();
  EXPECT_TRUE(FormatJournal(*dev, kJournalStart, journal_blocks, kBs, TestUuid()).ok());
  return dev;
}

JournalSuperblock ReadSb(const MemoryDevice& dev) {
  std::vector<uint8_t> b = HomeBlock(dev, kJournalStart);
  auto sb = DecodeSuperblock(b);
  EXPECT_TRUE(sb.ok()) << sb.status().ToString();
  return sb.ok() ? *sb : JournalSuperblock{};
}

TEST(FormatTest, FreshJournalOpensEmptyAndClosesClean) {
  auto dev = Formatted();
  EXPECT_EQ(ReadSb(*dev).start, 0u);
  auto j = OpenOk(*dev, TestOptions());
  ASSERT_TRUE(j);
  EXPECT_TRUE(j->recovery_info().was_clean);
  EXPECT_EQ(j->current_tid(), 0u);
  EXPECT_TRUE(j->ForceCommit(0).ok());
  EXPECT_EQ(ReadSb(*dev).start, 1u);  // live while open
  EXPECT_TRUE(j->Close().ok());
  EXPECT_EQ(ReadSb(*dev).start, 0u);
}

TEST(FormatTest, RejectsTooSmallJournalAndBadBlockSize) {
  auto dev = MakeDevice();
  Status st = FormatJournal(*dev, kJournalStart, kMinJournalBlocks - 1, kBs, TestUuid());
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_NE(st.message().find("minimum"), std::string::npos) << st.ToString();
  EXPECT_EQ(FormatJournal(*dev, kJournalStart, 64, 3000, TestUuid()).err(), EINVAL);
  EXPECT_EQ(FormatJournal(*dev, 500, 64, kBs, TestUuid()).err(), EINVAL);  // past the end
}

TEST(OpenTest, BadSuperblockIsRejectedWithClearError) {
  auto dev = Formatted();
  std::vector<uint8_t> good = HomeBlock(*dev, kJournalStart);
  uint8_t junk = 0x5A;
  dev->Poke(kJournalStart * kBs + 40, &junk, 1);  // inside the checksummed record
  auto j = Journal::Open(*dev, TestOptions());
  EXPECT_EQ(j.err(), kCorrupted);
  EXPECT_NE(j.status().message().find("checksum"), std::string::npos) << j.status().ToString();

  dev->Poke(kJournalStart * kBs, good.data(), kBs);
  dev->Poke(kJournalStart * kBs, "XXXX", 4);
  j = Journal::Open(*dev, TestOptions());
  EXPECT_NE(j.status().message().find("magic"), std::string::npos) << j.status().ToString();

  dev->Poke(kJournalStart * kBs, good.data(), kBs);
  JournalOptions o = TestOptions();
  o.uuid[0] ^= 1;
  j = Journal::Open(*dev, o);
  EXPECT_NE(j.status().message().find("uuid"), std::string::npos) << j.status().ToString();
  o = TestOptions(128);
  j = Journal::Open(*dev, o);
  EXPECT_NE(j.status().message().find("geometry"), std::string::npos) << j.status().ToString();
  EXPECT_TRUE(Journal::Open(*dev, TestOptions()).ok());
}

TEST(HandleTest, NestedStartJoinsTheThreadsHandle) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  auto outer = j->Start(2, "outer");
  ASSERT_TRUE(outer.ok());
  EXPECT_TRUE(ThreadHoldsJournalHandle());
  auto inner = j->Start(3, "inner");
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ((*inner)->tid(), (*outer)->tid());
  EXPECT_EQ((*outer)->credits_left(), 5);
  EXPECT_TRUE((*inner)->Stop().ok());
  EXPECT_TRUE(ThreadHoldsJournalHandle());  // the outer one still runs
  EXPECT_TRUE((*outer)->Stop().ok());
  EXPECT_FALSE(ThreadHoldsJournalHandle());
}

TEST(HandleTest, ExceedingCreditsIsAClearErrorNotCorruption) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  auto h = j->Start(1, "small");
  ASSERT_TRUE(h.ok());
  auto b1 = j->buffers().Read(kHomeStart), b2 = j->buffers().Read(kHomeStart + 1);
  ASSERT_TRUE(b1.ok() && b2.ok());
  EXPECT_TRUE((*h)->GetWriteAccess(**b1).ok());
  EXPECT_TRUE((*h)->GetWriteAccess(**b1).ok());  // same buffer: no second credit
  Status st = (*h)->GetWriteAccess(**b2);
  EXPECT_EQ(st.err(), ENOSPC);
  EXPECT_NE(st.message().find("credits"), std::string::npos) << st.ToString();
  EXPECT_EQ((*h)->DirtyMetadata(**b2).err(), EINVAL);  // no write access
  EXPECT_TRUE((*h)->Stop().ok());
  EXPECT_FALSE(j->aborted());
  EXPECT_EQ(j->Start(j->max_transaction_credits() + 1).err(), ENOSPC);
}

TEST(CommitTest, ForceCommitMakesTheTransactionDurable) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  uint64_t tid = WriteBlocks(*j, {kHomeStart, kHomeStart + 5});
  EXPECT_EQ(PatternTid(HomeBlock(*dev, kHomeStart).data(), kHomeStart), 0);  // not home yet
  ASSERT_TRUE(j->ForceCommit(tid).ok());
  EXPECT_GE(j->committed_tid(), tid);
  EXPECT_TRUE(j->ForceCommit(tid).ok());  // already durable: returns at once
  EXPECT_EQ(j->ForceCommit(tid + 5).err(), EINVAL);
  auto crashed = CrashCopy(*dev);
  auto j2 = OpenOk(*crashed, TestOptions());
  EXPECT_EQ(j2->recovery_info().transactions_replayed, 1u);
  EXPECT_EQ(PatternTid(HomeBlock(*crashed, kHomeStart + 5).data(), kHomeStart + 5),
            static_cast<int64_t>(tid));
}

TEST(CommitTest, UncommittedTransactionIsNotRecovered) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  ASSERT_TRUE(j->ForceCommit(WriteBlocks(*j, {kHomeStart})).ok());
  WriteBlocks(*j, {kHomeStart, kHomeStart + 1});  // never committed
  auto crashed = CrashCopy(*dev);
  auto j2 = OpenOk(*crashed, TestOptions());
  EXPECT_EQ(PatternTid(HomeBlock(*crashed, kHomeStart).data(), kHomeStart), 1);
  EXPECT_EQ(PatternTid(HomeBlock(*crashed, kHomeStart + 1).data(), kHomeStart + 1), 0);
}

TEST(CommitTest, CommitIntervalCommitsWithoutBeingAsked) {
  auto dev = Formatted();
  JournalOptions o = TestOptions();
  o.commit_interval = std::chrono::milliseconds(20);
  auto j = OpenOk(*dev, o);
  uint64_t tid = WriteBlocks(*j, {kHomeStart});
  for (int i = 0; i < 500 && j->committed_tid() < tid; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(j->committed_tid(), tid);
}

TEST(CommitTest, BlockStartingWithJournalMagicIsEscapedAndReplayed) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  auto h = j->Start(1);
  auto b = j->buffers().Read(kHomeStart);
  ASSERT_TRUE(h.ok() && b.ok());
  ASSERT_TRUE((*h)->GetWriteAccess(**b).ok());
  std::memset((*b)->data(), 0x77, kBs);
  PutLe32((*b)->data(), kJournalMagic);
  ASSERT_TRUE((*h)->DirtyMetadata(**b).ok());
  uint64_t tid = (*h)->tid();
  ASSERT_TRUE((*h)->Stop().ok());
  ASSERT_TRUE(j->ForceCommit(tid).ok());
  auto crashed = CrashCopy(*dev);
  auto j2 = OpenOk(*crashed, TestOptions());
  std::vector<uint8_t> home = HomeBlock(*crashed, kHomeStart);
  EXPECT_EQ(GetLe32(home.data()), kJournalMagic);
  EXPECT_EQ(home[100], 0x77);
}

// Pauses the commit of tid 1 right after LOCKED until released.
struct CommitGate {
  std::mutex mu;
  std::condition_variable cv;
  bool paused = false, released = false;
  void Hook(TransactionState s, uint64_t tid) {
    if (s != TransactionState::kLocked || tid != 1) return;
    std::unique_lock<std::mutex> l(mu);
    paused = true;
    cv.notify_all();
    cv.wait(l, [this] { return released; });
  }
  void WaitPaused() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [this] { return paused; });
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu);
    released = true;
    cv.notify_all();
  }
};

bool LogHoldsPattern(const MemoryDevice& dev, uint64_t tid, uint64_t nr, uint64_t jblocks) {
  for (uint64_t i = 1; i < jblocks; ++i)
    if (PatternTid(HomeBlock(dev, kJournalStart + i).data(), nr) == static_cast<int64_t>(tid))
      return true;
  return false;
}

TEST(FreezeTest, BufferModifiedWhileItsTransactionCommitsIsFrozen) {
  auto dev = Formatted();
  CommitGate gate;
  JournalOptions o = TestOptions();
  o.commit_hook = [&gate](TransactionState s, uint64_t tid) { gate.Hook(s, tid); };
  auto j = OpenOk(*dev, o);
  ASSERT_EQ(WriteBlocks(*j, {kHomeStart}, /*tag=*/100), 1u);
  auto commit1 = std::async(std::launch::async, [&] { return j->ForceCommit(1); });
  gate.WaitPaused();
  auto h = j->Start(1);  // new running transaction while tid 1 is LOCKED
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((*h)->tid(), 2u);
  auto b = j->buffers().Read(kHomeStart);
  ASSERT_TRUE((*h)->GetWriteAccess(**b).ok());
  FillPattern((*b)->data(), 200, kHomeStart);
  ASSERT_TRUE((*h)->DirtyMetadata(**b).ok());
  ASSERT_TRUE((*h)->Stop().ok());
  gate.Release();
  ASSERT_TRUE(commit1.get().ok());
  EXPECT_EQ(j->stats().blocks_frozen, 1u);
  EXPECT_TRUE(LogHoldsPattern(*dev, 100, kHomeStart, 64));
  EXPECT_FALSE(LogHoldsPattern(*dev, 200, kHomeStart, 64));
  auto after1 = CrashCopy(*dev);
  ASSERT_TRUE(j->ForceCommit(2).ok());
  EXPECT_TRUE(LogHoldsPattern(*dev, 200, kHomeStart, 64));
  auto after2 = CrashCopy(*dev);
  auto j1 = OpenOk(*after1, TestOptions());
  EXPECT_EQ(PatternTid(HomeBlock(*after1, kHomeStart).data(), kHomeStart), 100);
  auto j2 = OpenOk(*after2, TestOptions());
  EXPECT_EQ(PatternTid(HomeBlock(*after2, kHomeStart).data(), kHomeStart), 200);
}

// Poke "file data" over a freed block, as the filesystem would after reuse.
void WriteData(MemoryDevice& dev, uint64_t nr) {
  std::vector<uint8_t> d(kBs, 0xDD);
  dev.Poke(nr * kBs, d.data(), kBs);
}

TEST(RevokeTest, RevokedBlockIsNotReplayedNorCheckpointed) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  ASSERT_TRUE(j->ForceCommit(WriteBlocks(*j, {kHomeStart, kHomeStart + 1})).ok());
  auto h = j->Start(1);
  ASSERT_TRUE((*h)->Revoke(kHomeStart).ok());
  uint64_t t2 = (*h)->tid();
  ASSERT_TRUE((*h)->Stop().ok());
  ASSERT_TRUE(j->ForceCommit(t2).ok());
  WriteData(*dev, kHomeStart);  // the freed block now holds file data
  auto crashed = CrashCopy(*dev);
  auto j2 = OpenOk(*crashed, TestOptions());
  EXPECT_EQ(j2->recovery_info().blocks_revoked, 1u);
  EXPECT_EQ(HomeBlock(*crashed, kHomeStart)[7], 0xDD);
  EXPECT_EQ(PatternTid(HomeBlock(*crashed, kHomeStart + 1).data(), kHomeStart + 1), 1);
  ASSERT_TRUE(j->Checkpoint().ok());
  EXPECT_EQ(HomeBlock(*dev, kHomeStart)[7], 0xDD);  // checkpoint dropped T1's copy
  EXPECT_EQ(PatternTid(HomeBlock(*dev, kHomeStart + 1).data(), kHomeStart + 1), 1);
}

TEST(RevokeTest, BlockJournaledAgainAfterRevokeIsReplayed) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  ASSERT_TRUE(j->ForceCommit(WriteBlocks(*j, {kHomeStart})).ok());
  auto h = j->Start(1);
  ASSERT_TRUE((*h)->Revoke(kHomeStart).ok());
  ASSERT_TRUE((*h)->Stop().ok());
  uint64_t t3 = WriteBlocks(*j, {kHomeStart}, /*tag=*/33);  // tid 2 still running: same tx
  ASSERT_TRUE(j->ForceCommit(t3).ok());
  uint64_t t4 = WriteBlocks(*j, {kHomeStart + 2});
  ASSERT_EQ(t4, 3u);
  auto h5 = j->Start(1);
  ASSERT_TRUE((*h5)->Revoke(kHomeStart + 2).ok());  // T3: revoke...
  ASSERT_TRUE((*h5)->Stop().ok());
  ASSERT_TRUE(j->ForceCommit(3).ok());
  uint64_t t6 = WriteBlocks(*j, {kHomeStart + 2}, /*tag=*/66);  // ...re-journaled in T4
  ASSERT_TRUE(j->ForceCommit(t6).ok());
  auto crashed = CrashCopy(*dev);
  auto j2 = OpenOk(*crashed, TestOptions());
  // Revoke and re-journal in the same transaction: the revoke was cancelled.
  EXPECT_EQ(PatternTid(HomeBlock(*crashed, kHomeStart).data(), kHomeStart), 33);
  // Revoked in T3, journaled again in T4 > T3: replayed.
  EXPECT_EQ(PatternTid(HomeBlock(*crashed, kHomeStart + 2).data(), kHomeStart + 2), 66);
}

TEST(CheckpointTest, CheckpointWritesHomeAndAdvancesTheTail) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  uint64_t tid = WriteBlocks(*j, {kHomeStart, kHomeStart + 3});
  ASSERT_TRUE(j->ForceCommit(tid).ok());
  EXPECT_LT(j->stats().log_free_blocks, j->stats().log_blocks);
  EXPECT_EQ(ReadSb(*dev).sequence, 1u);
  ASSERT_TRUE(j->Checkpoint().ok());
  EXPECT_EQ(PatternTid(HomeBlock(*dev, kHomeStart + 3).data(), kHomeStart + 3), 1);
  JournalSuperblock sb = ReadSb(*dev);
  EXPECT_EQ(sb.sequence, 2u);
  EXPECT_EQ(sb.start, 1u + 4u);  // descriptor + 2 copies + commit
  EXPECT_EQ(j->stats().log_free_blocks, j->stats().log_blocks);
  EXPECT_EQ(j->stats().checkpoints, 1u);
}

TEST(CheckpointTest, FullJournalForcesCheckpointAndLaterTransactionsSucceed) {
  auto dev = Formatted(64);
  auto j = OpenOk(*dev, TestOptions(64));
  const int per_tx = j->max_transaction_credits();
  ASSERT_GE(per_tx, 4);
  uint64_t last = 0;
  for (int t = 0; t < 100; ++t) {
    std::vector<uint64_t> blocks;
    for (int i = 0; i < per_tx; ++i) blocks.push_back(kHomeStart + (t * 3 + i) % 40);
    last = WriteBlocks(*j, blocks);
    if (t % 10 == 0) {
      ASSERT_TRUE(j->ForceCommit(last).ok());
    }
  }
  ASSERT_TRUE(j->ForceCommit(last).ok());
  EXPECT_GT(j->stats().checkpoints, 3u);
  EXPECT_FALSE(j->aborted());
  auto crashed = CrashCopy(*dev);
  ASSERT_TRUE(j->Close().ok());
  for (auto* d : {dev.get(), crashed.get()}) {
    auto j2 = OpenOk(*d, TestOptions(64));
    for (uint64_t nr = kHomeStart; nr < kHomeStart + 40; ++nr)
      EXPECT_GT(PatternTid(HomeBlock(*d, nr).data(), nr), 0) << nr;
    std::vector<uint64_t> final_blocks;
    for (int i = 0; i < per_tx; ++i) final_blocks.push_back(kHomeStart + (99 * 3 + i) % 40);
    for (uint64_t nr : final_blocks)
      EXPECT_EQ(PatternTid(HomeBlock(*d, nr).data(), nr), static_cast<int64_t>(last));
  }
}

TEST(AbortTest, IoErrorDuringCommitAbortsAndReopenShowsOnlyCommitted) {
  auto mem = Formatted();
  auto faulty = std::make_shared<FaultyDevice>(mem);
  auto j = OpenOk(*faulty, TestOptions());
  ASSERT_TRUE(j->ForceCommit(WriteBlocks(*j, {kHomeStart})).ok());
  faulty->FailRange(IoOp::kWrite, (kJournalStart + 1) * kBs, 63 * kBs, EIO);
  uint64_t t2 = WriteBlocks(*j, {kHomeStart, kHomeStart + 1});
  Status st = j->ForceCommit(t2);
  EXPECT_EQ(st.err(), EROFS);
  EXPECT_NE(st.message().find("Input/output"), std::string::npos) << st.ToString();
  EXPECT_TRUE(j->aborted());
  EXPECT_EQ(j->Start(1).err(), EROFS);
  EXPECT_EQ(j->Close().err(), EROFS);
  faulty->Heal();
  auto j2 = OpenOk(*mem, TestOptions());
  EXPECT_EQ(PatternTid(HomeBlock(*mem, kHomeStart).data(), kHomeStart), 1);
  EXPECT_EQ(PatternTid(HomeBlock(*mem, kHomeStart + 1).data(), kHomeStart + 1), 0);
}

TEST(AbortTest, IoErrorDuringCheckpointAbortsAndRecoveryReplays) {
  auto mem = Formatted();
  auto faulty = std::make_shared<FaultyDevice>(mem);
  auto j = OpenOk(*faulty, TestOptions());
  ASSERT_TRUE(j->ForceCommit(WriteBlocks(*j, {kHomeStart, kHomeStart + 1})).ok());
  faulty->FailRange(IoOp::kWrite, (kHomeStart + 1) * kBs, kBs, EIO);
  EXPECT_EQ(j->Checkpoint().err(), EROFS);
  EXPECT_EQ(j->ForceCommit(1).err(), 0);  // tid 1 had committed before the abort
  EXPECT_EQ(j->Start(1).err(), EROFS);
  j.reset();
  faulty->Heal();
  auto j2 = OpenOk(*mem, TestOptions());
  EXPECT_EQ(PatternTid(HomeBlock(*mem, kHomeStart + 1).data(), kHomeStart + 1), 1);
}

// A handle whose transaction is LOCKED (the commit waits for it to stop) sees
// the abort half-way through its update: its first block is dirty, the second
// is refused with EROFS. That transaction must not be committed after the
// abort, or the half-applied update would become durable and be replayed.
TEST(AbortTest, TransactionLockedWhenTheJournalAbortsIsNotCommitted) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  auto h = j->Start(2, "rename");
  ASSERT_TRUE(h.ok());
  const uint64_t tid = (*h)->tid();
  auto a = j->buffers().Read(kHomeStart);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*h)->GetWriteAccess(**a).ok());
  FillPattern((*a)->data(), 100, kHomeStart);
  ASSERT_TRUE((*h)->DirtyMetadata(**a).ok());
  // Another thread asks for the commit; the commit thread locks the transaction
  // and waits for this handle to stop.
  auto commit = std::async(std::launch::async, [&] { return j->ForceCommit(tid); });
  // The abort must land while the transaction is LOCKED, waiting for this handle.
  for (int i = 0; i < 10000 && j->open_transaction_state() != TransactionState::kLocked; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (j->open_transaction_state() != TransactionState::kLocked) {
    (void)(*h)->Stop();  // lets ForceCommit (and the future's destructor) finish
    FAIL() << "the commit never locked the transaction";
  }
  j->Abort(Status::Error(EIO, "test: abort while a handle runs"));
  auto b = j->buffers().Read(kHomeStart + 1);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*h)->GetWriteAccess(**b).err(), EROFS);  // the update stops half-way
  EXPECT_EQ((*h)->Stop().err(), EROFS);
  EXPECT_EQ(commit.get().err(), EROFS);
  EXPECT_LT(j->committed_tid(), tid);
  EXPECT_EQ(j->Close().err(), EROFS);
  j.reset();
  auto j2 = OpenOk(*dev, TestOptions());
  EXPECT_EQ(j2->recovery_info().transactions_replayed, 0u);
  EXPECT_EQ(PatternTid(HomeBlock(*dev, kHomeStart).data(), kHomeStart), 0);
}

TEST(AbortTest, ReadErrorDuringRecoveryFailsOpenAndKeepsTheLog) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  ASSERT_TRUE(j->ForceCommit(WriteBlocks(*j, {kHomeStart})).ok());
  auto crashed = CrashCopy(*dev);
  auto faulty = std::make_shared<FaultyDevice>(crashed);
  faulty->FailRange(IoOp::kRead, (kJournalStart + 1) * kBs, 63 * kBs, EIO);
  auto failed = Journal::Open(*faulty, TestOptions());
  EXPECT_EQ(failed.err(), EIO);
  EXPECT_NE(ReadSb(*crashed).start, 0u);  // not marked clean by the failed open
  faulty->Heal();
  auto j2 = OpenOk(*faulty, TestOptions());
  EXPECT_EQ(j2->recovery_info().transactions_replayed, 1u);
  EXPECT_EQ(PatternTid(HomeBlock(*crashed, kHomeStart).data(), kHomeStart), 1);
}

TEST(I1Test, ForceCommitWhileHoldingAHandleIsRefused) {
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  auto h = j->Start(1, "setattr");
  ASSERT_TRUE(h.ok());
#ifdef NDEBUG
  EXPECT_EQ(j->ForceCommit((*h)->tid()).err(), EDEADLK);
#else
  EXPECT_DEATH((void)j->ForceCommit((*h)->tid()), "setattr");
#endif
}

TEST(I1Test, AssertNoJournalHandleAbortsWhileHoldingAHandle) {
#ifdef NDEBUG
  GTEST_SKIP() << "the I1 checker is active in debug builds only";
#else
  auto dev = Formatted();
  auto j = OpenOk(*dev, TestOptions());
  AssertNoJournalHandle("nothing");  // no handle: fine
  auto h = j->Start(1, "truncate");
  ASSERT_TRUE(h.ok());
  EXPECT_DEATH(AssertNoJournalHandle("folio writeback"),
               "I1 violated: waiting for folio writeback while holding journal handle 'truncate'");
#endif
}

TEST(BufferCacheTest, EvictsOnlyUnreferencedBuffersBeyondTheBound) {
  auto dev = MakeDevice();
  auto cache = BufferCache::Create(*dev, kBs, 4);
  ASSERT_TRUE(cache.ok());
  std::vector<BufferRef> held;
  for (uint64_t nr = 10; nr < 16; ++nr) held.push_back(*(*cache)->Read(nr));
  for (uint64_t nr = 20; nr < 30; ++nr) ASSERT_TRUE((*cache)->Read(nr).ok());
  // The referenced ones stay, plus the last one read (evicted at the next insert).
  EXPECT_LE((*cache)->cached_count(), 7u);
  EXPECT_GE((*cache)->cached_count(), 6u);
  EXPECT_EQ((*cache)->Peek(12), held[2]);
  held.clear();
  ASSERT_TRUE((*cache)->Read(40).ok());
  EXPECT_LE((*cache)->cached_count(), 4u);
  EXPECT_EQ((*cache)->Read(100000).err(), EINVAL);
}

}  // namespace
}  // namespace foliofs::journal
