// The foliofs journal: a jbd2-like write-ahead log for metadata (JOURNAL.md).
//
// What it promises. Metadata changes are grouped into transactions. A handle
// is one atomic update: the blocks it dirties and revokes become durable
// together or not at all. A transaction is durable once its commit block is
// (ForceCommit(tid) returning OK says so). Home locations of metadata are
// written only by the checkpoint, and only with committed contents; after a
// crash, Open() replays exactly the complete, checksum-valid transactions, in
// order, honouring revokes, so the home blocks equal "transactions 1..k
// applied" for some k at least as large as every tid ForceCommit returned for.
//
// Types (one paragraph each, jbd2.h style):
//  * Journal — one log region of a device, its superblock, the running and
//    committing transactions, the commit thread and the checkpoint list. It
//    owns the metadata BufferCache through which the filesystem reads metadata.
//  * Transaction (internal, transaction.h) — the set of buffers and revokes
//    from many handles, committed as one unit. States RUNNING → LOCKED (closed
//    to new handles, waiting for running ones to stop) → FLUSH (log blocks
//    being written) → COMMIT (commit block being made durable) → FINISHED.
//    At most one RUNNING and one committing transaction exist.
//  * Handle — RAII token of one atomic update, from Journal::Start(credits).
//    A handle belongs to the thread that started it; a nested Start on that
//    thread joins it (adding credits) instead of starting a new one. Credits
//    bound how many buffers (and revoke records) the handle may add to the
//    transaction; exceeding them is ENOSPC, never corruption.
//
// Usage:  auto h = j->Start(2);  h->GetWriteAccess(*b);  modify b->data();
//         h->DirtyMetadata(*b);  uint64_t tid = h->tid();  h->Stop();
//         j->ForceCommit(tid);   // fsync
//
// Errors. Any I/O error in commit or checkpoint aborts the journal: later
// Start/ForceCommit (of a tid not yet durable)/handle operations fail with
// EROFS quoting the original error; no commit block is written after the
// abort, so a handle that saw EROFS half-way is never made durable.
//
// Thread safety and lock order (take left before right; never the reverse):
//
//   checkpoint_mu_  →  Buffer::jmu_  →  state_mu_  →  BufferCache::mu_
//
//   checkpoint_mu_  serialises checkpoints and journal-superblock writes; it is
//                   the only journal lock held across device I/O.
//   Buffer::jmu_    a buffer's journal state (transaction_, next_transaction_,
//                   dirty flags, frozen copy).
//   state_mu_       everything else in Journal and Transaction (jbd2's
//                   j_state_lock + j_list_lock); never held across I/O.
//   BufferCache::mu_ leaf.
//   Buffer::io_mu_  held only across the device read that fills a buffer;
//                   no other lock is taken under it.
// Waits: Start() may wait for the running transaction to close, for a commit,
// or for checkpoint space; ForceCommit() waits for a commit. A thread that
// holds a handle of this journal must not wait for a commit (invariant I1), so
// those waits call AssertNoJournalHandle(); in release builds ForceCommit from
// such a thread returns EDEADLK instead.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "journal/buffer_cache.h"
#include "journal/journal_format.h"
#include "pagecache/base/status.h"
#include "pagecache/blockdev/block_device.h"

namespace foliofs::journal {

// Writes a fresh, empty journal (superblock with start = 0, sequence 1) into
// fs blocks [first_block, first_block + num_blocks) of `dev` and flushes.
// EINVAL if num_blocks < kMinJournalBlocks (64), the block size is not a power
// of two in [1 KiB, 64 KiB] or not a multiple of the device's logical block
// size, or the region does not fit the device.
Status FormatJournal(BlockDevice& dev, uint64_t first_block, uint64_t num_blocks,
                     uint32_t block_size, const std::array<uint8_t, 16>& uuid);

enum class TransactionState { kRunning, kLocked, kFlush, kCommit, kFinished };
const char* TransactionStateName(TransactionState s);

struct JournalOptions {
  uint64_t first_block = 0;   // fs block number of the journal superblock
  uint64_t num_blocks = 0;    // region size in fs blocks (superblock included)
  uint32_t block_size = 4096;
  std::array<uint8_t, 16> uuid{};  // must match the journal superblock
  std::chrono::milliseconds commit_interval{5000};
  size_t max_clean_buffers = 4096;  // BufferCache bound
  // Read-only use (a read-only mount): Open refuses (EROFS) a log that needs
  // recovery and writes nothing; Close writes nothing. Start must not be
  // called (the filesystem refuses changes first).
  bool read_only = false;
  // Tests: called by the commit thread after the transaction entered `state`
  // (kLocked: handles drained, new transaction open, nothing copied yet). May block.
  std::function<void(TransactionState state, uint64_t tid)> commit_hook;
};

// What Open()'s recovery found.
struct RecoveryInfo {
  bool was_clean = true;          // superblock said empty
  uint64_t first_tid = 0;         // first tid scanned
  uint64_t transactions_replayed = 0;
  uint64_t blocks_replayed = 0;   // home writes issued
  uint64_t blocks_revoked = 0;    // tags skipped because of revokes
  uint64_t next_tid = 0;          // tid of the first transaction after recovery
};

struct JournalStats {
  uint64_t commits = 0;
  uint64_t checkpoints = 0;
  uint64_t blocks_logged = 0;
  uint64_t blocks_frozen = 0;
  uint64_t log_free_blocks = 0;
  uint64_t log_blocks = 0;
};

struct Transaction;
struct HandleState;
struct CommitPlan;
class Handle;

class Journal {
 public:
  // Validates the superblock (magic, type, checksum, version, geometry, uuid,
  // start), runs recovery, resets the log (superblock start = 1) and starts the
  // commit thread.
  static Result<std::unique_ptr<Journal>> Open(BlockDevice& dev, const JournalOptions& options);
  ~Journal();  // Close(), errors logged
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Starts (or, on a thread already holding one, joins) a handle with
  // `credits` credits. May wait for log space. `what` names it in I1 reports.
  Result<std::unique_ptr<Handle>> Start(int credits, std::string_view what = "handle");
  // Waits until transaction `tid` is durable (at once if it is). EINVAL for a
  // tid never started; EROFS after abort unless `tid` is already durable;
  // EDEADLK (release) / abort (debug) when the calling thread holds a handle
  // of this journal.
  Status ForceCommit(uint64_t tid);
  // Commits the running transaction (if any) and writes every committed block
  // home, advancing the tail. Must not be called while holding a handle.
  Status Checkpoint();
  // Commits, checkpoints and marks the journal empty; stops the commit thread.
  // Precondition: no handle is held (every Handle must be stopped before the
  // journal is closed or destroyed). Idempotent.
  Status Close();

  // The running transaction's tid, or the last tid started if none is running.
  uint64_t current_tid() const;
  // Highest tid known durable.
  uint64_t committed_tid() const;
  // State of the transaction handles may still belong to: kRunning, or kLocked
  // while a commit waits for its handles to stop; kFinished when none is open.
  // For tests and debugging (it may change as soon as it is returned).
  TransactionState open_transaction_state() const;
  bool aborted() const;
  Status error() const;  // OK unless aborted
  // Aborts the journal (idempotent; the first reason is kept).
  void Abort(const Status& why);

  BufferCache& buffers() { return *cache_; }
  const RecoveryInfo& recovery_info() const { return recovery_; }
  JournalStats stats() const;
  // Largest credit count one transaction may hold (about a quarter of the log).
  int max_transaction_credits() const { return max_tx_credits_; }

 private:
  friend class Handle;
  struct CheckpointTx {  // a committed transaction still needed in the log
    uint64_t tid;
    uint64_t log_start, log_blocks;
  };
  struct CheckpointEntry {  // newest committed copy of a block, waiting to go home
    uint64_t tid;
    std::shared_ptr<AlignedBuffer> copy;
    BufferRef buffer;  // pins the buffer in the cache until it is home
  };

  Journal(BlockDevice& dev, const JournalOptions& options, std::unique_ptr<BufferCache> cache);
  Status Recover(const JournalSuperblock& sb);
  Status WriteSuperblock(uint64_t start, uint64_t sequence);  // FUA; checkpoint_mu_ held

  // journal.cc: handles.
  Status StartLocked(std::unique_lock<std::mutex>& lock, int credits, HandleState* hs);
  Status JoinNested(HandleState* hs, int credits);
  void StopHandle(HandleState* hs);
  Status WaitForSpaceLocked(std::unique_lock<std::mutex>& lock);
  uint64_t ReserveBlocks(int credits) const;
  Status AbortedStatusLocked() const;
  // revoke.cc
  Status HandleGetWriteAccess(HandleState* hs, Buffer& b);
  Status HandleDirtyMetadata(HandleState* hs, Buffer& b);
  Status HandleRevoke(HandleState* hs, uint64_t blocknr);
  Status ChargeCreditLocked(HandleState* hs, const char* what, uint64_t blocknr);
  // commit.cc
  void CommitThread();
  Status CommitTransaction(std::unique_ptr<Transaction> t);
  std::unique_ptr<Transaction> LockRunningLocked(std::unique_lock<std::mutex>& lock);
  Status BuildLog(Transaction& t, CommitPlan& plan);
  void CopyBuffers(Transaction& t, CommitPlan& plan);
  void BuildDescriptors(uint64_t tid, CommitPlan& plan);
  void BuildRevokeBlocks(uint64_t tid, CommitPlan& plan);
  void BuildCommitBlock(uint64_t tid, CommitPlan& plan);
  Status WriteLog(Transaction& t, CommitPlan& plan);
  void FinishCommit(Transaction& t, CommitPlan& plan);
  void RunHook(TransactionState s, uint64_t tid);
  // checkpoint.cc
  Status DoCheckpoint();
  using HomeBlocks = std::vector<std::pair<uint64_t, std::shared_ptr<AlignedBuffer>>>;
  Status WriteHome(const HomeBlocks& blocks);
  bool NeedCheckpointLocked() const;

  uint64_t LogOffset(uint64_t pos) const { return (opts_.first_block + pos) * opts_.block_size; }
  uint64_t LogAdvance(uint64_t pos, uint64_t n) const;

  BlockDevice& dev_;
  const JournalOptions opts_;
  const uint32_t seed_;          // ChecksumSeed(uuid)
  const uint64_t log_blocks_;    // num_blocks - 1
  int max_tx_credits_ = 0;       // set in Open, then const
  uint64_t nested_reserve_ = 0;  // log blocks top-level Starts leave for nested ones; const
  std::unique_ptr<BufferCache> cache_;
  RecoveryInfo recovery_;        // set in Open, then const

  std::mutex checkpoint_mu_;     // see lock order; held across checkpoint I/O
  JournalSuperblock sb_;         // GUARDED_BY(checkpoint_mu_): last superblock written

  mutable std::mutex state_mu_;
  std::condition_variable state_cv_;   // any change of the fields below (broadcast)
  std::condition_variable commit_cv_;  // wakes the commit thread
  std::unique_ptr<Transaction> running_;  // GUARDED_BY(state_mu_)
  Transaction* committing_ = nullptr;     // GUARDED_BY(state_mu_); owned by the commit thread
  uint64_t committing_reserved_ = 0;   // GUARDED_BY(state_mu_): estimate until the commit allocates
  uint64_t next_tid_ = 1;              // GUARDED_BY(state_mu_): tid of the next new transaction
  uint64_t commit_request_ = 0;        // GUARDED_BY(state_mu_): highest tid asked to commit
  uint64_t commit_sequence_ = 0;       // GUARDED_BY(state_mu_): highest durable tid
  uint64_t head_ = 1;                  // GUARDED_BY(state_mu_): next log block to write
  uint64_t tail_ = 1;                  // GUARDED_BY(state_mu_): oldest log block still needed
  uint64_t committed_end_ = 1;         // GUARDED_BY(state_mu_): log block after the last commit
  uint64_t free_ = 0;                  // GUARDED_BY(state_mu_): log blocks not in use
  uint64_t pending_free_ = 0;          // GUARDED_BY(state_mu_): checkpointed, tail not yet moved
  std::deque<CheckpointTx> cp_txs_;    // GUARDED_BY(state_mu_): in tid order
  std::map<uint64_t, CheckpointEntry> cp_entries_;  // GUARDED_BY(state_mu_): by blocknr
  bool aborted_ = false;               // GUARDED_BY(state_mu_)
  Status error_;                       // GUARDED_BY(state_mu_)
  bool stopping_ = false;              // GUARDED_BY(state_mu_): commit thread must exit
  bool closed_ = false;                // GUARDED_BY(state_mu_)
  JournalStats stats_;                 // GUARDED_BY(state_mu_)
  std::thread commit_thread_;
};

// One atomic update. Non-copyable; Stop() (or the destructor) ends it. All
// methods must be called by the thread that started it.
class Handle {
 public:
  ~Handle();
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  // Declares that the caller is about to modify `b`. Joins `b` to the
  // transaction (one credit the first time), freezing a copy first if the
  // committing transaction has not yet logged it. Cancels a revoke of `b`
  // made earlier in the same transaction.
  Status GetWriteAccess(Buffer& b);
  // Declares that `b` was modified; it will be logged at commit.
  Status DirtyMetadata(Buffer& b);
  // Records that metadata block `blocknr` was freed: older log copies of it
  // must never be replayed. One credit. Drops it from this transaction.
  Status Revoke(uint64_t blocknr);
  // Ends this handle (for a nested handle: leaves the outer one running).
  Status Stop();

  uint64_t tid() const;
  int credits_left() const;

 private:
  friend class Journal;
  Handle(Journal* j, HandleState* hs, uint64_t tid) : journal_(j), state_(hs), tid_(tid) {}
  Journal* journal_;
  HandleState* state_;  // nullptr once stopped
  uint64_t tid_;
};

}  // namespace foliofs::journal
