// Handles: Start (top-level and nested), Stop, and the Handle methods that
// forward to the journal (buffer access and revoke live in revoke.cc).
#include <string>

#include "journal/journal.h"
#include "journal/transaction.h"
#include "pagecache/base/held_handles.h"

namespace foliofs::journal {

Result<std::unique_ptr<Handle>> Journal::Start(int credits, std::string_view what) {
  if (credits < 0) return Status::Error(EINVAL, "journal: negative credits");
  if (auto* held = static_cast<HandleState*>(FindHeldHandle(this))) {
    RETURN_IF_ERROR(JoinNested(held, credits));
    return std::unique_ptr<Handle>(new Handle(this, held, held->tid));
  }
  if (credits > max_tx_credits_)
    return Status::Error(ENOSPC, "journal: handle '" + std::string(what) + "' asks for " +
                                     std::to_string(credits) + " credits; a transaction may hold " +
                                     std::to_string(max_tx_credits_));
  auto hs = std::make_unique<HandleState>();
  hs->what = std::string(what);
  {
    std::unique_lock<std::mutex> lock(state_mu_);
    RETURN_IF_ERROR(StartLocked(lock, credits, hs.get()));
  }
  HandleState* raw = hs.release();
  RegisterHeldHandle(this, raw, "'" + raw->what + "' (tid " + std::to_string(raw->tid) + ")");
  return std::unique_ptr<Handle>(new Handle(this, raw, raw->tid));
}

// Joins the running transaction, waiting while it is locked, too full, or the
// log lacks space for it (jbd2's start_this_handle/add_transaction_credits).
Status Journal::StartLocked(std::unique_lock<std::mutex>& lock, int credits, HandleState* hs) {
  for (;;) {
    if (aborted_) return AbortedStatusLocked();
    if (stopping_) return Status::Error(EROFS, "journal: closed");
    if (!running_) {
      running_ = std::make_unique<Transaction>(next_tid_++);
      commit_cv_.notify_one();  // starts the commit-interval timer
    }
    Transaction* t = running_.get();
    if (t->state != TransactionState::kRunning) {
      state_cv_.wait(lock);
      continue;
    }
    if (t->outstanding_credits + credits > max_tx_credits_) {
      if (commit_request_ < t->tid) commit_request_ = t->tid;
      commit_cv_.notify_one();
      state_cv_.wait(lock);
      continue;
    }
    if (ReserveBlocks(t->outstanding_credits + credits) + committing_reserved_ + nested_reserve_ >
        free_) {
      RETURN_IF_ERROR(WaitForSpaceLocked(lock));
      continue;
    }
    t->updates++;
    t->outstanding_credits += credits;
    hs->tx = t;
    hs->tid = t->tid;
    hs->credits = hs->credits_left = credits;
    hs->refs = 1;
    // Commit early when the transaction nears the journal's free space.
    if (ReserveBlocks(t->outstanding_credits) * 2 > free_ && commit_request_ < t->tid) {
      commit_request_ = t->tid;
      commit_cv_.notify_one();
    }
    return Status::Ok();
  }
}

// Makes log space: checkpoint committed transactions, or wait for a
// checkpoint in flight or the committing transaction, or get the running one
// committed. Called without a handle of this journal.
Status Journal::WaitForSpaceLocked(std::unique_lock<std::mutex>& lock) {
  if (!cp_txs_.empty()) {
    lock.unlock();
    Status st = DoCheckpoint();
    lock.lock();
    return st;
  }
  if (pending_free_ > 0 || committing_ != nullptr ||
      (running_ && running_->outstanding_credits > 0)) {  // space is on its way
    if (running_ && commit_request_ < running_->tid) commit_request_ = running_->tid;
    commit_cv_.notify_one();
    state_cv_.wait(lock);
    return Status::Ok();
  }
  return Status::Error(ENOSPC, "journal: log too small for this handle");
}

// A nested Start never waits (the caller holds a handle the commit waits
// for): the extra credits must fit now, or the caller gets ENOSPC. Top-level
// handles leave nested_reserve_ log blocks free, and a transaction may exceed
// max_tx_credits_ by that much through nested handles, so this rarely fails.
Status Journal::JoinNested(HandleState* hs, int credits) {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (aborted_) return AbortedStatusLocked();
  Transaction* t = hs->tx;
  if (static_cast<uint64_t>(t->outstanding_credits + credits) > max_tx_credits_ + nested_reserve_ ||
      ReserveBlocks(t->outstanding_credits + credits) + committing_reserved_ > free_)
    return Status::Error(ENOSPC, "journal: nested handle cannot get " + std::to_string(credits) +
                                     " more credits without waiting for log space");
  t->outstanding_credits += credits;
  hs->credits += credits;
  hs->credits_left += credits;
  hs->refs++;
  return Status::Ok();
}

void Journal::StopHandle(HandleState* hs) {
  if (--hs->refs > 0) return;
  UnregisterHeldHandle(hs);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    Transaction* t = hs->tx;
    t->outstanding_credits -= hs->credits_left;  // unused credits go back
    if (--t->updates == 0) state_cv_.notify_all();
  }
  delete hs;
}

Handle::~Handle() { (void)Stop(); }

Status Handle::Stop() {
  if (state_ == nullptr) return Status::Ok();
  HandleState* hs = state_;
  state_ = nullptr;
  journal_->StopHandle(hs);
  return journal_->error();
}

uint64_t Handle::tid() const { return tid_; }

int Handle::credits_left() const {
  if (state_ == nullptr) return 0;
  std::lock_guard<std::mutex> lock(journal_->state_mu_);
  return state_->credits_left;
}

Status Handle::GetWriteAccess(Buffer& b) {
  if (state_ == nullptr) return Status::Error(EINVAL, "journal: handle already stopped");
  b.set_verified_tag(0);  // the bytes are about to change: check them again
  return journal_->HandleGetWriteAccess(state_, b);
}

Status Handle::DirtyMetadata(Buffer& b) {
  if (state_ == nullptr) return Status::Error(EINVAL, "journal: handle already stopped");
  return journal_->HandleDirtyMetadata(state_, b);
}

Status Handle::Revoke(uint64_t blocknr) {
  if (state_ == nullptr) return Status::Error(EINVAL, "journal: handle already stopped");
  return journal_->HandleRevoke(state_, blocknr);
}

}  // namespace foliofs::journal
