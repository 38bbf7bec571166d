// Buffer access under a handle, and revoke.
//
// Revoke: the cases (after jbd2's revoke.c).
//
// Why revoke exists. Metadata block B is journaled in T1, then freed in T2 and
// reused for file data, which is written in place and never journaled. If we
// crash before T1's log copy leaves the log, replay would write T1's copy of B
// over the user's data. So freeing B under T2 writes a revoke record "B, T2"
// into T2's log: replay skips every copy of B from a transaction <= T2.
//
// The cases:
//  1. B journaled in T1, revoked in T2 (T2 > T1): T1's copy is never replayed
//     once T2 has committed. When T2 commits, any checkpoint write of T1's copy
//     still pending is dropped too (the checkpoint must not overwrite reused
//     data either); that drop waits for a checkpoint in flight (checkpoint_mu_).
//     Until T2 commits, B is still metadata and T1's copy is still needed, so
//     the filesystem may reuse B for data only after T2 has committed.
//  2. B journaled in T1, revoked in T2, journaled again in T3 (reallocated as
//     metadata): T3 > T2, so T3's copy is replayed ("un-revoked" for later
//     transactions) while T1's stays skipped.
//  3. B revoked and journaled again in the same transaction T: GetWriteAccess
//     cancels T's revoke record (jbd2's cancel_revoke); otherwise T's own copy
//     would be skipped because the revoke's tid equals T.
//  4. B journaled in T and revoked later in T: T stops logging B (jbd2's
//     forget); the revoke also covers earlier copies.
//  5. B revoked while T1 (which logged B) is still committing: T1's log still
//     carries B; the revoke belongs to the running T2 > T1, so case 1 applies.
//  6. Revoking a block never journaled: a harmless record (the filesystem need
//     not know whether a freed metadata block ever went through the log).
// Revoke records of one transaction live in its `revokes` set (state_mu_);
// once the transaction is locked only the commit thread reads it. Replay
// keeps, per block, the highest revoking tid and skips tags with tid <= it.
#include <cstring>
#include <string>

#include "journal/journal.h"
#include "journal/transaction.h"

namespace foliofs::journal {

Status Journal::ChargeCreditLocked(HandleState* hs, const char* what, uint64_t blocknr) {
  if (hs->credits_left <= 0)
    return Status::Error(ENOSPC, "journal: handle '" + hs->what + "' exceeded its " +
                                     std::to_string(hs->credits) + " credits (" + what +
                                     " block " + std::to_string(blocknr) + ")");
  hs->credits_left--;
  return Status::Ok();
}

// jbd2's do_get_write_access. If B still belongs to the committing transaction
// and has not been copied to the log yet, B is frozen: the commit logs the
// frozen copy, so the log never holds bytes of a later transaction.
Status Journal::HandleGetWriteAccess(HandleState* hs, Buffer& b) {
  if (!b.uptodate())
    return Status::Error(EINVAL, "journal: write access to block " + std::to_string(b.blocknr()) +
                                     " which was never read (use Read or GetNew)");
  Transaction* t = hs->tx;
  std::lock_guard<std::mutex> jl(b.jmu_);
  std::lock_guard<std::mutex> lock(state_mu_);
  if (aborted_) return AbortedStatusLocked();
  if (b.transaction_ == t || b.next_transaction_ == t) {
    t->revokes.erase(b.blocknr());  // case 3: cancel a revoke made earlier in t
    return Status::Ok();
  }
  RETURN_IF_ERROR(ChargeCreditLocked(hs, "write access to", b.blocknr()));
  if (b.transaction_ == nullptr) {
    b.transaction_ = t;
    b.dirty_ = false;
  } else {
    // b.transaction_ is the committing transaction and has not logged b yet
    // (the commit detaches a buffer as it copies it).
    if (!b.frozen_) {
      b.frozen_ = AllocateAligned(b.size());
      std::memcpy(b.frozen_.get(), b.data(), b.size());
      stats_.blocks_frozen++;
    }
    b.next_transaction_ = t;
    b.next_dirty_ = false;
  }
  t->buffers.push_back(b.shared_from_this());
  t->revokes.erase(b.blocknr());
  return Status::Ok();
}

Status Journal::HandleDirtyMetadata(HandleState* hs, Buffer& b) {
  Transaction* t = hs->tx;
  std::lock_guard<std::mutex> jl(b.jmu_);
  if (b.transaction_ == t) {
    b.dirty_ = true;
  } else if (b.next_transaction_ == t) {
    b.next_dirty_ = true;
  } else {
    return Status::Error(EINVAL, "journal: DirtyMetadata on block " + std::to_string(b.blocknr()) +
                                     " without GetWriteAccess in this transaction");
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  if (aborted_) return AbortedStatusLocked();
  t->revokes.erase(b.blocknr());  // dirtied again after a revoke: in use, so not revoked
  return Status::Ok();
}

Status Journal::HandleRevoke(HandleState* hs, uint64_t blocknr) {
  Transaction* t = hs->tx;
  BufferRef b = cache_->Peek(blocknr);
  std::unique_lock<std::mutex> jl;
  if (b) jl = std::unique_lock<std::mutex>(b->jmu_);
  std::lock_guard<std::mutex> lock(state_mu_);
  if (aborted_) return AbortedStatusLocked();
  if (t->revokes.count(blocknr) == 0) {
    RETURN_IF_ERROR(ChargeCreditLocked(hs, "revoke of", blocknr));
    t->revokes.insert(blocknr);
  }
  if (b) {  // case 4: this transaction no longer logs b
    if (b->transaction_ == t) b->dirty_ = false;
    if (b->next_transaction_ == t) b->next_dirty_ = false;
  }
  return Status::Ok();
}

}  // namespace foliofs::journal
