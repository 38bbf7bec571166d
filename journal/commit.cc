// The commit thread and the commit of one transaction (jbd2's commit.c).
//
// Protocol (JOURNAL.md, "Commit"):
//  1. LOCKED: the running transaction is closed to new handles; wait until
//     every handle in it has stopped; then it becomes the committing one and a
//     new running transaction may start at once.
//  2. FLUSH: copy every dirty buffer (its frozen copy if a later transaction
//     froze it) and detach it from the transaction; allocate the exact number
//     of log blocks; write descriptor blocks, block copies and revoke blocks in
//     one Submit batch ending with a flush.
//  3. COMMIT: unless the journal has aborted meanwhile, write the checksummed
//     commit block with FUA. The transaction is durable when that write
//     completes: this is the single commit point.
//  4. FINISHED: the copies become checkpoint entries; waiters are woken.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "journal/journal.h"
#include "journal/transaction.h"
#include "pagecache/base/log.h"

namespace foliofs::journal {

struct CommitPlan {
  struct Logged {
    uint64_t blocknr = 0;
    std::shared_ptr<AlignedBuffer> copy;  // the committed contents (unescaped)
    AlignedBuffer escaped;                // log image when the copy starts with the magic
    BufferRef buffer;
  };
  std::vector<Logged> blocks;
  std::vector<uint64_t> revokes;
  std::vector<AlignedBuffer> meta;      // descriptor and revoke blocks
  std::vector<const uint8_t*> order;    // every log block before the commit block, in order
  AlignedBuffer commit;
  uint64_t start = 0;                   // first log block
  uint64_t nblocks = 0;                 // including the commit block
};

namespace {
constexpr size_t kMaxIovPerRequest = 256;
}  // namespace

void Journal::RunHook(TransactionState s, uint64_t tid) {
  if (opts_.commit_hook) opts_.commit_hook(s, tid);
}

void Journal::CommitThread() {
  std::unique_lock<std::mutex> lock(state_mu_);
  for (;;) {
    if (aborted_ && stopping_) break;
    if (stopping_ && !running_) break;
    bool due = false;
    if (running_ && !aborted_) {
      due = stopping_ || commit_request_ >= running_->tid ||
            std::chrono::steady_clock::now() >= running_->start_time + opts_.commit_interval;
    }
    if (!due) {
      if (running_ && !aborted_)
        commit_cv_.wait_until(lock, running_->start_time + opts_.commit_interval);
      else
        commit_cv_.wait(lock);
      continue;
    }
    std::unique_ptr<Transaction> t = LockRunningLocked(lock);
    lock.unlock();
    Status st = CommitTransaction(std::move(t));
    bool cp = false;
    lock.lock();
    cp = st.ok() && !aborted_ && NeedCheckpointLocked();
    if (cp) {
      lock.unlock();
      (void)DoCheckpoint();  // aborts the journal on error
      lock.lock();
    }
  }
}

// RUNNING → LOCKED: no new handle may join; wait for running ones to stop,
// then hand the transaction to the commit and let a new one start.
std::unique_ptr<Transaction> Journal::LockRunningLocked(std::unique_lock<std::mutex>& lock) {
  Transaction* t = running_.get();
  t->state = TransactionState::kLocked;
  state_cv_.wait(lock, [t] { return t->updates == 0; });
  committing_reserved_ = ReserveBlocks(t->outstanding_credits);
  committing_ = t;
  std::unique_ptr<Transaction> owned = std::move(running_);
  state_cv_.notify_all();
  return owned;
}

Status Journal::CommitTransaction(std::unique_ptr<Transaction> t) {
  RunHook(TransactionState::kLocked, t->tid);
  CommitPlan plan;
  Status st = BuildLog(*t, plan);
  if (st.ok()) {
    RunHook(TransactionState::kFlush, t->tid);
    st = WriteLog(*t, plan);
  }
  if (!st.ok()) {
    Abort(st.WithContext("commit of transaction " + std::to_string(t->tid)));
    std::lock_guard<std::mutex> lock(state_mu_);
    committing_ = nullptr;
    state_cv_.notify_all();
    return st;
  }
  FinishCommit(*t, plan);
  RunHook(TransactionState::kFinished, t->tid);
  return Status::Ok();
}

// Copies the dirty buffers and builds descriptor, revoke and commit blocks.
Status Journal::BuildLog(Transaction& t, CommitPlan& plan) {
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    t.state = TransactionState::kFlush;
  }
  CopyBuffers(t, plan);
  plan.revokes.assign(t.revokes.begin(), t.revokes.end());
  std::sort(plan.revokes.begin(), plan.revokes.end());
  const uint32_t bs = opts_.block_size;
  const size_t tpd = TagsPerDescriptor(bs), rpb = RecordsPerRevokeBlock(bs);
  const size_t ndesc = (plan.blocks.size() + tpd - 1) / tpd;
  const size_t nrev = (plan.revokes.size() + rpb - 1) / rpb;
  plan.nblocks = ndesc + plan.blocks.size() + nrev + 1;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    plan.start = head_;
    head_ = LogAdvance(head_, plan.nblocks);
    free_ -= plan.nblocks;  // <= committing_reserved_ <= free_ (reservation invariant)
    committing_reserved_ = 0;
  }
  BuildDescriptors(t.tid, plan);
  BuildRevokeBlocks(t.tid, plan);
  BuildCommitBlock(t.tid, plan);
  return Status::Ok();
}

// Takes each dirty buffer's committed image (the frozen copy if a later
// transaction froze it) and detaches every buffer from `t`: a later
// transaction's claim (next_transaction_) becomes the owner.
void Journal::CopyBuffers(Transaction& t, CommitPlan& plan) {
  for (BufferRef& b : t.buffers) {
    std::lock_guard<std::mutex> jl(b->jmu_);
    if (b->dirty_) {
      auto copy = std::make_shared<AlignedBuffer>(AllocateAligned(b->size()));
      std::memcpy(copy->get(), b->frozen_ ? b->frozen_.get() : b->data(), b->size());
      plan.blocks.push_back({b->blocknr(), std::move(copy), nullptr, b});
    }
    b->transaction_ = b->next_transaction_;
    b->dirty_ = b->next_dirty_;
    b->next_transaction_ = nullptr;
    b->next_dirty_ = false;
    b->frozen_.reset();
  }
  t.buffers.clear();
}

void Journal::BuildDescriptors(uint64_t tid, CommitPlan& plan) {
  const uint32_t bs = opts_.block_size;
  const size_t tpd = TagsPerDescriptor(bs);
  for (size_t i = 0; i < plan.blocks.size(); i += tpd) {
    size_t n = std::min(tpd, plan.blocks.size() - i);
    AlignedBuffer d = AllocateAligned(bs);
    std::span<uint8_t> dspan(d.get(), bs);
    EncodeLogHeader({BlockType::kDescriptor, tid, static_cast<uint32_t>(n)}, dspan);
    plan.order.push_back(d.get());
    for (size_t k = 0; k < n; ++k) {
      CommitPlan::Logged& l = plan.blocks[i + k];
      BlockTag tag{l.blocknr, 0, TagChecksum(seed_, tid, {l.copy->get(), bs})};
      const uint8_t* image = l.copy->get();
      if (GetLe32(image) == kJournalMagic) {  // escape: replay must not see a header here
        l.escaped = AllocateAligned(bs);
        std::memcpy(l.escaped.get(), image, bs);
        PutLe32(l.escaped.get(), 0);
        image = l.escaped.get();
        tag.flags |= kTagFlagEscaped;
      }
      EncodeTag(tag, k, dspan);
      plan.order.push_back(image);
    }
    SealLogBlock(seed_, dspan);
    plan.meta.push_back(std::move(d));
  }
}

void Journal::BuildRevokeBlocks(uint64_t tid, CommitPlan& plan) {
  const uint32_t bs = opts_.block_size;
  const size_t rpb = RecordsPerRevokeBlock(bs);
  for (size_t i = 0; i < plan.revokes.size(); i += rpb) {
    size_t n = std::min(rpb, plan.revokes.size() - i);
    AlignedBuffer r = AllocateAligned(bs);
    std::span<uint8_t> rspan(r.get(), bs);
    EncodeLogHeader({BlockType::kRevoke, tid, static_cast<uint32_t>(n)}, rspan);
    for (size_t k = 0; k < n; ++k) EncodeRevokeRecord(plan.revokes[i + k], k, rspan);
    SealLogBlock(seed_, rspan);
    plan.order.push_back(r.get());
    plan.meta.push_back(std::move(r));
  }
}

void Journal::BuildCommitBlock(uint64_t tid, CommitPlan& plan) {
  const uint32_t bs = opts_.block_size;
  plan.commit = AllocateAligned(bs);
  std::span<uint8_t> cspan(plan.commit.get(), bs);
  EncodeLogHeader({BlockType::kCommit, tid, static_cast<uint32_t>(plan.nblocks - 1)}, cspan);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  EncodeCommitBody(static_cast<uint64_t>(ns), static_cast<uint32_t>(plan.blocks.size()), cspan);
  SealLogBlock(seed_, cspan);
}

// One batch: the log blocks as runs of consecutive log positions (split at
// the wrap and every kMaxIovPerRequest blocks), then a flush. Then the commit
// block with FUA.
//
// Never after an abort: the transaction may have been LOCKED when the journal
// aborted, with a handle that then saw EROFS half-way through its update, so
// committing it would make a half-applied handle durable. Checking after the
// handover is enough: if the journal is not aborted then, every handle of `t`
// (all stopped before the handover) ran whole.
Status Journal::WriteLog(Transaction& t, CommitPlan& plan) {
  RETURN_IF_ERROR(error());
  const uint32_t bs = opts_.block_size;
  std::vector<iovec> iovs;
  iovs.reserve(plan.order.size());
  for (const uint8_t* p : plan.order) iovs.push_back({const_cast<uint8_t*>(p), bs});
  std::vector<IoRequest> batch;
  uint64_t pos = plan.start;
  for (size_t i = 0; i < iovs.size();) {
    size_t n = std::min<size_t>({kMaxIovPerRequest, iovs.size() - i, opts_.num_blocks - pos});
    IoRequest req;
    req.op = IoOp::kWrite;
    req.offset = LogOffset(pos);
    req.iov = std::span<const iovec>(iovs.data() + i, n);
    batch.push_back(req);
    i += n;
    pos = LogAdvance(pos, n);
  }
  IoRequest flush;
  flush.op = IoOp::kFlush;
  batch.push_back(flush);
  RETURN_IF_ERROR(dev_.Submit(batch).WithContext("writing the log"));
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (aborted_) return AbortedStatusLocked();  // no commit block after an abort
    t.state = TransactionState::kCommit;
  }
  RunHook(TransactionState::kCommit, t.tid);
  return dev_.Write(LogOffset(pos), plan.commit.get(), bs, /*fua=*/true)
      .WithContext("writing the commit block");
}

// The transaction is durable: its copies become checkpoint entries (replacing
// older copies of the same blocks), its revokes drop pending home writes of
// older copies (taking checkpoint_mu_ so no checkpoint is writing them now).
void Journal::FinishCommit(Transaction& t, CommitPlan& plan) {
  std::unique_lock<std::mutex> cp;
  if (!plan.revokes.empty()) cp = std::unique_lock<std::mutex>(checkpoint_mu_);
  std::lock_guard<std::mutex> lock(state_mu_);
  for (CommitPlan::Logged& l : plan.blocks)
    cp_entries_[l.blocknr] = CheckpointEntry{t.tid, std::move(l.copy), std::move(l.buffer)};
  for (uint64_t r : plan.revokes) {
    auto it = cp_entries_.find(r);
    if (it != cp_entries_.end() && it->second.tid < t.tid) cp_entries_.erase(it);
  }
  cp_txs_.push_back(CheckpointTx{t.tid, plan.start, plan.nblocks});
  committed_end_ = LogAdvance(plan.start, plan.nblocks);
  t.state = TransactionState::kFinished;
  commit_sequence_ = t.tid;
  committing_ = nullptr;
  stats_.commits++;
  stats_.blocks_logged += plan.blocks.size();
  state_cv_.notify_all();
}

}  // namespace foliofs::journal
