// Journal recovery; recovery.h explains the three passes.
#include "journal/recovery.h"

#include <algorithm>
#include <map>

#include "pagecache/base/log.h"

namespace foliofs::journal {
namespace {

// Reads `n` consecutive log blocks starting at `pos` (wrapping) into `out`.
Status ReadLogBlocks(const LogGeometry& g, uint64_t pos, uint64_t n, AlignedBuffer* out) {
  *out = AllocateAligned(n * g.block_size);
  for (uint64_t done = 0; done < n;) {
    uint64_t run = std::min(n - done, g.num_blocks - pos);
    RETURN_IF_ERROR(g.dev->Read(g.Offset(pos), out->get() + done * g.block_size,
                                run * g.block_size));
    done += run;
    pos = g.Advance(pos, run);
  }
  return Status::Ok();
}

// Undoes the escape and checks the tag checksum of one copy.
bool CopyMatchesTag(const LogGeometry& g, uint64_t tid, const BlockTag& tag, uint8_t* copy) {
  if (tag.flags & kTagFlagEscaped) PutLe32(copy, kJournalMagic);
  return TagChecksum(g.seed, tid, {copy, g.block_size}) == tag.checksum;
}

// Scans one descriptor block at log offset n of the transaction: verifies
// every tagged copy. Returns the blocks consumed, or 0 if the transaction is bad.
Result<uint64_t> ScanDescriptor(const LogGeometry& g, ScannedTransaction& tx, uint64_t n,
                                std::span<const uint8_t> desc, uint32_t count) {
  if (n + 1 + count + 1 > g.log_blocks()) return uint64_t{0};
  AlignedBuffer copies;
  uint64_t first = g.Advance(tx.start, n + 1);
  RETURN_IF_ERROR(ReadLogBlocks(g, first, count, &copies));
  for (uint32_t i = 0; i < count; ++i) {
    BlockTag tag = DecodeTag(desc, i);
    if (!CopyMatchesTag(g, tx.tid, tag, copies.get() + uint64_t{i} * g.block_size)) return uint64_t{0};
    tx.tags.push_back({tag, g.Advance(first, i)});
  }
  return uint64_t{1} + count;
}

// Scans the transaction starting at tx.start with tid tx.tid. True if complete.
Result<bool> ScanTransaction(const LogGeometry& g, ScannedTransaction& tx) {
  AlignedBuffer block = AllocateAligned(g.block_size);
  std::span<const uint8_t> span(block.get(), g.block_size);
  for (uint64_t n = 0; n < g.log_blocks();) {
    RETURN_IF_ERROR(g.dev->Read(g.Offset(g.Advance(tx.start, n)), block.get(), g.block_size));
    LogHeader h;
    if (!DecodeLogHeader(g.seed, span, &h) || h.sequence != tx.tid) return false;
    switch (h.type) {
      case BlockType::kDescriptor: {
        ASSIGN_OR_RETURN(uint64_t used, ScanDescriptor(g, tx, n, span, h.count));
        if (used == 0) return false;
        n += used;
        break;
      }
      case BlockType::kRevoke:
        for (uint32_t i = 0; i < h.count; ++i) tx.revokes.push_back(DecodeRevokeRecord(span, i));
        n += 1;
        break;
      case BlockType::kCommit:
        if (h.count != n) return false;
        tx.nblocks = n + 1;
        return true;
      default:
        return false;
    }
  }
  return false;  // ran around the whole log without a commit block
}

}  // namespace

Result<std::vector<ScannedTransaction>> ScanLog(const LogGeometry& g, uint64_t start,
                                                uint64_t sequence) {
  std::vector<ScannedTransaction> txs;
  uint64_t pos = start, used = 0;
  for (uint64_t tid = sequence;; ++tid) {
    ScannedTransaction tx;
    tx.tid = tid;
    tx.start = pos;
    ASSIGN_OR_RETURN(bool complete, ScanTransaction(g, tx));
    if (!complete || used + tx.nblocks > g.log_blocks()) break;
    used += tx.nblocks;
    pos = g.Advance(pos, tx.nblocks);
    txs.push_back(std::move(tx));
  }
  return txs;
}

std::unordered_map<uint64_t, uint64_t> CollectRevokes(const std::vector<ScannedTransaction>& txs) {
  std::unordered_map<uint64_t, uint64_t> revoked;
  for (const ScannedTransaction& tx : txs)
    for (uint64_t nr : tx.revokes) revoked[nr] = std::max(revoked[nr], tx.tid);
  return revoked;
}

namespace {

// Reads the copies of `group` from the log and writes them home: one batch of
// reads, one batch of writes.
Status ReplayGroup(const LogGeometry& g, const std::vector<std::pair<uint64_t, ScannedTag>>& group) {
  const size_t bs = g.block_size;
  AlignedBuffer buf = AllocateAligned(group.size() * bs);
  std::vector<iovec> iovs(group.size());
  std::vector<IoRequest> reqs(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    if ((group[i].first + 1) * bs > g.dev->size_bytes())
      return Status::Corrupted("journal replay: block " + std::to_string(group[i].first) +
                               " beyond device end");
    iovs[i] = {buf.get() + i * bs, bs};
    reqs[i].op = IoOp::kRead;
    reqs[i].offset = g.Offset(group[i].second.pos);
    reqs[i].iov = std::span<const iovec>(&iovs[i], 1);
  }
  RETURN_IF_ERROR(g.dev->Submit(reqs));
  for (size_t i = 0; i < group.size(); ++i) {
    if (group[i].second.tag.flags & kTagFlagEscaped) PutLe32(buf.get() + i * bs, kJournalMagic);
    reqs[i] = IoRequest{};
    reqs[i].op = IoOp::kWrite;
    reqs[i].offset = group[i].first * bs;
    reqs[i].iov = std::span<const iovec>(&iovs[i], 1);
  }
  return g.dev->Submit(reqs);
}

}  // namespace

Status ReplayLog(const LogGeometry& g, const std::vector<ScannedTransaction>& txs,
                 const std::unordered_map<uint64_t, uint64_t>& revokes, RecoveryInfo* info) {
  std::map<uint64_t, ScannedTag> newest;  // blocknr -> newest surviving copy
  for (const ScannedTransaction& tx : txs) {
    for (const ScannedTag& t : tx.tags) {
      auto r = revokes.find(t.tag.blocknr);
      if (r != revokes.end() && r->second >= tx.tid) {
        info->blocks_revoked++;
        continue;
      }
      newest[t.tag.blocknr] = t;
    }
  }
  constexpr size_t kGroup = 64;
  std::vector<std::pair<uint64_t, ScannedTag>> group;
  for (const auto& entry : newest) {
    group.push_back(entry);
    if (group.size() == kGroup) {
      RETURN_IF_ERROR(ReplayGroup(g, group));
      group.clear();
    }
  }
  if (!group.empty()) RETURN_IF_ERROR(ReplayGroup(g, group));
  info->blocks_replayed = newest.size();
  return g.dev->Flush();
}

Result<RecoveryInfo> RecoverLog(const LogGeometry& g, uint64_t start, uint64_t sequence) {
  RecoveryInfo info;
  info.was_clean = false;
  info.first_tid = sequence;
  ASSIGN_OR_RETURN(auto txs, ScanLog(g, start, sequence));
  auto revokes = CollectRevokes(txs);
  RETURN_IF_ERROR(ReplayLog(g, txs, revokes, &info).WithContext("journal replay"));
  info.transactions_replayed = txs.size();
  // Skip one tid past the first incomplete one, as jbd2 does, so no stale
  // block of that incomplete transaction can ever match an expected sequence.
  info.next_tid = sequence + txs.size() + 1;
  GetLogger("journal")->info("recovery: {} transactions from tid {}, {} blocks replayed, {} revoked",
                             txs.size(), sequence, info.blocks_replayed, info.blocks_revoked);
  return info;
}

}  // namespace foliofs::journal
