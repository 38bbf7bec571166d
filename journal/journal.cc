// Journal lifecycle (format, open, close), ForceCommit, accessors.
// Handles: handle.cc. Commit: commit.cc. Checkpoint: checkpoint.cc. Revoke and buffer access:
// revoke.cc. Recovery: recovery.cc.
#include "journal/journal.h"

#include <algorithm>
#include <cstring>

#include "journal/recovery.h"
#include "journal/transaction.h"
#include "pagecache/base/held_handles.h"
#include "pagecache/base/log.h"

namespace foliofs::journal {
namespace {

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

Status CheckGeometry(const BlockDevice& dev, uint64_t first_block, uint64_t num_blocks,
                     uint32_t block_size) {
  if (!IsPowerOfTwo(block_size) || block_size < kMinJournalBlockSize ||
      block_size > kMaxJournalBlockSize)
    return Status::Error(EINVAL, "journal: block size " + std::to_string(block_size) +
                                     " is not a power of two in [1 KiB, 64 KiB]");
  if (block_size % dev.logical_block_size() != 0)
    return Status::Error(EINVAL, "journal: block size " + std::to_string(block_size) +
                                     " is smaller than the device's logical block size");
  if (num_blocks < kMinJournalBlocks)
    return Status::Error(EINVAL, "journal: " + std::to_string(num_blocks) +
                                     " blocks is below the minimum of " +
                                     std::to_string(kMinJournalBlocks));
  if ((first_block + num_blocks) * block_size > dev.size_bytes())
    return Status::Error(EINVAL, "journal: region does not fit on " + dev.name());
  return Status::Ok();
}

// Zeroes the log so no stale record of an earlier filesystem can be mistaken
// for ours (checksums are seeded with the uuid, but a reformat may reuse it).
Status ZeroRegion(BlockDevice& dev, uint64_t offset, uint64_t len) {
  const size_t chunk = 1 << 20;
  AlignedBuffer zero = AllocateAligned(chunk);
  for (uint64_t done = 0; done < len;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, len - done));
    RETURN_IF_ERROR(dev.Write(offset + done, zero.get(), n));
    done += n;
  }
  return Status::Ok();
}

}  // namespace

const char* TransactionStateName(TransactionState s) {
  switch (s) {
    case TransactionState::kRunning: return "RUNNING";
    case TransactionState::kLocked: return "LOCKED";
    case TransactionState::kFlush: return "FLUSH";
    case TransactionState::kCommit: return "COMMIT";
    case TransactionState::kFinished: return "FINISHED";
  }
  return "?";
}

Status FormatJournal(BlockDevice& dev, uint64_t first_block, uint64_t num_blocks,
                     uint32_t block_size, const std::array<uint8_t, 16>& uuid) {
  RETURN_IF_ERROR(CheckGeometry(dev, first_block, num_blocks, block_size));
  RETURN_IF_ERROR(ZeroRegion(dev, (first_block + 1) * block_size, (num_blocks - 1) * block_size));
  JournalSuperblock sb;
  sb.sequence = 1;
  sb.block_size = block_size;
  sb.first_block = first_block;
  sb.num_blocks = num_blocks;
  sb.start = 0;
  sb.uuid = uuid;
  AlignedBuffer block = AllocateAligned(block_size);
  EncodeSuperblock(sb, std::span<uint8_t, kSuperblockBytes>(block.get(), kSuperblockBytes));
  RETURN_IF_ERROR(dev.Write(first_block * block_size, block.get(), block_size));
  return dev.Flush();
}

Journal::Journal(BlockDevice& dev, const JournalOptions& options, std::unique_ptr<BufferCache> cache)
    : dev_(dev),
      opts_(options),
      seed_(ChecksumSeed(options.uuid)),
      log_blocks_(options.num_blocks - 1),
      cache_(std::move(cache)) {
  free_ = log_blocks_;
  closed_ = true;  // until Open has recovered and started the commit thread
  nested_reserve_ = std::max<uint64_t>(2, log_blocks_ / 8);
  const uint64_t limit = log_blocks_ / 4;
  int c = static_cast<int>(limit);
  while (c > 0 && ReserveBlocks(c) > limit) --c;
  max_tx_credits_ = c;
}

Result<std::unique_ptr<Journal>> Journal::Open(BlockDevice& dev, const JournalOptions& o) {
  RETURN_IF_ERROR(CheckGeometry(dev, o.first_block, o.num_blocks, o.block_size));
  AlignedBuffer block = AllocateAligned(o.block_size);
  RETURN_IF_ERROR(dev.Read(o.first_block * o.block_size, block.get(), o.block_size)
                      .WithContext("reading journal superblock"));
  ASSIGN_OR_RETURN(JournalSuperblock sb, DecodeSuperblock({block.get(), o.block_size}));
  if (sb.block_size != o.block_size || sb.num_blocks != o.num_blocks ||
      sb.first_block != o.first_block)
    return Status::Corrupted("journal superblock: geometry mismatch (superblock says " +
                             std::to_string(sb.num_blocks) + " blocks of " +
                             std::to_string(sb.block_size) + " at block " +
                             std::to_string(sb.first_block) + ")");
  if (sb.uuid != o.uuid) return Status::Corrupted("journal superblock: uuid mismatch");
  if (sb.start >= sb.num_blocks)
    return Status::Corrupted("journal superblock: log start " + std::to_string(sb.start) +
                             " out of range");
  ASSIGN_OR_RETURN(auto cache, BufferCache::Create(dev, o.block_size, o.max_clean_buffers));
  std::unique_ptr<Journal> j(new Journal(dev, o, std::move(cache)));
  {
    std::lock_guard<std::mutex> cp(j->checkpoint_mu_);
    j->sb_ = sb;
  }
  RETURN_IF_ERROR(j->Recover(sb));
  if (j->max_tx_credits_ < 1) return Status::Error(EINVAL, "journal: too small");
  {
    // Only a journal that recovered may ever mark itself clean (Close): a
    // failed Open must leave the log for the next recovery.
    std::lock_guard<std::mutex> lock(j->state_mu_);
    j->closed_ = false;
  }
  j->commit_thread_ = std::thread([jp = j.get()] { jp->CommitThread(); });
  return j;
}

// Runs the three recovery passes (recovery.h), then makes the log live:
// superblock start = first log block, sequence = next tid.
Status Journal::Recover(const JournalSuperblock& sb) {
  uint64_t next = sb.sequence;
  recovery_.first_tid = sb.sequence;
  if (opts_.read_only) {
    // Nothing may be written: a log that needs replay cannot be used at all.
    if (sb.start != 0) {
      return Status::Error(EROFS, "journal needs recovery: mount read-write once, or run "
                                  "fsck.foliofs, before mounting read-only");
    }
    std::lock_guard<std::mutex> lock(state_mu_);
    next_tid_ = next;
    commit_sequence_ = next - 1;
    commit_request_ = next - 1;
    return Status::Ok();
  }
  if (sb.start != 0) {
    LogGeometry g{&dev_, opts_.first_block, opts_.num_blocks, opts_.block_size, seed_};
    ASSIGN_OR_RETURN(RecoveryInfo info, RecoverLog(g, sb.start, sb.sequence));
    recovery_ = info;
    next = info.next_tid;
  }
  recovery_.next_tid = next;
  std::lock_guard<std::mutex> cp(checkpoint_mu_);
  RETURN_IF_ERROR(WriteSuperblock(1, next).WithContext("resetting journal after recovery"));
  std::lock_guard<std::mutex> lock(state_mu_);
  next_tid_ = next;
  commit_sequence_ = next - 1;
  commit_request_ = next - 1;
  return Status::Ok();
}

Status Journal::WriteSuperblock(uint64_t start, uint64_t sequence) {
  JournalSuperblock sb = sb_;
  sb.start = start;
  sb.sequence = sequence;
  AlignedBuffer block = AllocateAligned(opts_.block_size);
  EncodeSuperblock(sb, std::span<uint8_t, kSuperblockBytes>(block.get(), kSuperblockBytes));
  RETURN_IF_ERROR(dev_.Write(LogOffset(0), block.get(), opts_.block_size, /*fua=*/true));
  sb_ = sb;
  return Status::Ok();
}

Journal::~Journal() {
  Status st = Close();
  if (!st.ok() && !aborted()) GetLogger("journal")->error("close: {}", st.ToString());
}

Status Journal::Close() {
  if (FindHeldHandle(this) != nullptr)
    return Status::Error(EBUSY, "journal: Close() called while holding a handle");
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (closed_) return aborted_ ? AbortedStatusLocked() : Status::Ok();
    closed_ = true;
    stopping_ = true;
  }
  commit_cv_.notify_all();
  if (commit_thread_.joinable()) commit_thread_.join();
  if (aborted()) return error();
  if (opts_.read_only) return Status::Ok();  // nothing was written; the log stays empty
  RETURN_IF_ERROR(DoCheckpoint());
  std::lock_guard<std::mutex> cp(checkpoint_mu_);
  uint64_t next;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    next = next_tid_;
  }
  Status st = WriteSuperblock(0, next);
  if (!st.ok()) Abort(st.WithContext("marking journal empty"));
  return st;
}

uint64_t Journal::LogAdvance(uint64_t pos, uint64_t n) const {
  return 1 + (pos - 1 + n) % log_blocks_;
}

// Log blocks a transaction holding `credits` may need: one per buffer or
// revoke record, the descriptors for them, and the commit block.
uint64_t Journal::ReserveBlocks(int credits) const {
  const uint64_t c = static_cast<uint64_t>(credits);
  const uint64_t tpd = TagsPerDescriptor(opts_.block_size);
  return c + (c + tpd - 1) / tpd + 1;
}

Status Journal::AbortedStatusLocked() const {
  return Status::Error(EROFS, "journal aborted: " + error_.ToString());
}

uint64_t Journal::current_tid() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return running_ ? running_->tid : next_tid_ - 1;
}

uint64_t Journal::committed_tid() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return commit_sequence_;
}

TransactionState Journal::open_transaction_state() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return running_ ? running_->state : TransactionState::kFinished;
}

bool Journal::aborted() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return aborted_;
}

Status Journal::error() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return aborted_ ? AbortedStatusLocked() : Status::Ok();
}

void Journal::Abort(const Status& why) {
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (aborted_) return;
    aborted_ = true;
    error_ = why;
  }
  GetLogger("journal")->error("journal aborted: {}", why.ToString());
  state_cv_.notify_all();
  commit_cv_.notify_all();
}

JournalStats Journal::stats() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  JournalStats s = stats_;
  s.log_free_blocks = free_;
  s.log_blocks = log_blocks_;
  return s;
}

Status Journal::ForceCommit(uint64_t tid) {
  if (FindHeldHandle(this) != nullptr) {
    AssertNoJournalHandle("a journal commit (ForceCommit)");
    return Status::Error(EDEADLK, "journal: ForceCommit while holding a handle would deadlock");
  }
  std::unique_lock<std::mutex> lock(state_mu_);
  if (tid <= commit_sequence_) return Status::Ok();
  if (tid >= next_tid_)
    return Status::Error(EINVAL, "journal: ForceCommit of tid " + std::to_string(tid) +
                                     " which was never started");
  while (commit_sequence_ < tid) {
    if (aborted_) return AbortedStatusLocked();
    if (commit_request_ < tid) commit_request_ = tid;
    commit_cv_.notify_one();
    state_cv_.wait(lock);
  }
  return Status::Ok();
}

Status Journal::Checkpoint() {
  if (FindHeldHandle(this) != nullptr) {
    AssertNoJournalHandle("a journal checkpoint");
    return Status::Error(EDEADLK, "journal: Checkpoint while holding a handle would deadlock");
  }
  uint64_t tid = current_tid();
  RETURN_IF_ERROR(ForceCommit(tid));
  return DoCheckpoint();
}

}  // namespace foliofs::journal
