// Checkpoint (jbd2's checkpoint.c): write committed blocks home, then free
// their log space by moving the tail in the journal superblock.
//
// Each block waiting for checkpoint has exactly one entry, holding the newest
// committed copy (cp_entries_): a later commit of the same block replaces the
// entry, so an older copy is never written over a newer one, and the live
// buffer (which may hold uncommitted changes of a running transaction) is never
// written home. A checkpoint:
//   1. snapshots the entries and the highest committed tid (state_mu_);
//   2. writes the copies home in one batch, sorted and coalesced, then flushes;
//   3. drops the entries it wrote (unless replaced meanwhile) and every
//      committed transaction <= that tid from the log list;
//   4. writes the superblock (FUA) with the new tail: the first remaining
//      committed transaction, else the end of the last commit;
//   5. only then returns the freed blocks to the free count — reusing them
//      before the superblock moved would let a crash scan overwritten log.
// checkpoint_mu_ is held throughout, so checkpoints and superblock writes are
// serialised and FinishCommit's revoke handling never races step 2.
#include <algorithm>

#include "journal/journal.h"
#include "journal/transaction.h"

namespace foliofs::journal {

namespace {
constexpr size_t kMaxIovPerRequest = 256;
}  // namespace

bool Journal::NeedCheckpointLocked() const { return free_ * 2 < log_blocks_; }

Status Journal::WriteHome(const HomeBlocks& blocks) {
  const uint32_t bs = opts_.block_size;
  std::vector<iovec> iovs;
  iovs.reserve(blocks.size());
  for (const auto& [nr, copy] : blocks) iovs.push_back({copy->get(), bs});
  std::vector<IoRequest> batch;
  for (size_t i = 0; i < blocks.size();) {
    size_t n = 1;
    while (i + n < blocks.size() && n < kMaxIovPerRequest &&
           blocks[i + n].first == blocks[i].first + n)
      ++n;
    IoRequest req;
    req.op = IoOp::kWrite;
    req.offset = blocks[i].first * bs;
    req.iov = std::span<const iovec>(iovs.data() + i, n);
    batch.push_back(req);
    i += n;
  }
  IoRequest flush;
  flush.op = IoOp::kFlush;
  batch.push_back(flush);
  return dev_.Submit(batch);
}

Status Journal::DoCheckpoint() {
  std::lock_guard<std::mutex> cp(checkpoint_mu_);
  HomeBlocks blocks;
  uint64_t upto;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (aborted_) return AbortedStatusLocked();
    if (cp_txs_.empty()) return Status::Ok();
    upto = commit_sequence_;
    for (const auto& [nr, e] : cp_entries_) blocks.emplace_back(nr, e.copy);  // sorted by nr
  }
  Status st = WriteHome(blocks);
  if (!st.ok()) {
    Abort(st.WithContext("checkpoint"));
    return error();
  }
  uint64_t freed = 0, new_tail, tail_tid;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    for (const auto& [nr, copy] : blocks) {
      auto it = cp_entries_.find(nr);
      if (it != cp_entries_.end() && it->second.copy == copy) cp_entries_.erase(it);
    }
    while (!cp_txs_.empty() && cp_txs_.front().tid <= upto) {
      freed += cp_txs_.front().log_blocks;
      cp_txs_.pop_front();
    }
    new_tail = cp_txs_.empty() ? committed_end_ : cp_txs_.front().log_start;
    tail_tid = cp_txs_.empty() ? commit_sequence_ + 1 : cp_txs_.front().tid;
    pending_free_ += freed;
  }
  st = WriteSuperblock(new_tail, tail_tid);
  if (!st.ok()) {
    Abort(st.WithContext("checkpoint: moving the log tail"));
    return error();
  }
  std::lock_guard<std::mutex> lock(state_mu_);
  tail_ = new_tail;
  free_ += freed;
  pending_free_ -= freed;
  stats_.checkpoints++;
  state_cv_.notify_all();
  return Status::Ok();
}

}  // namespace foliofs::journal
