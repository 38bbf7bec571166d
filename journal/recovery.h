// Internal: journal recovery (JOURNAL.md, "Recovery"). Runs in Journal::Open
// before anything else touches the device; single-threaded.
//
// Three passes over the log, starting at the superblock's (start, sequence):
//  1. SCAN: walk transactions in tid order. A transaction is complete when
//     every block from its first descriptor to its commit block has a valid
//     header (magic, type, expected sequence, checksum), every tagged copy
//     matches its tag checksum, and the commit block counts exactly the blocks
//     before it. The first incomplete transaction ends the log; it and
//     everything after it are ignored.
//  2. REVOKE: from the complete transactions' revoke records, the highest
//     revoking tid of each block.
//  3. REPLAY: for each block, the newest copy from a complete transaction with
//     tid greater than the block's revoke tid is written home; then a flush.
// Recovery is idempotent: running it again replays the same copies.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "journal/journal.h"

namespace foliofs::journal {

struct LogGeometry {
  BlockDevice* dev;
  uint64_t first_block;
  uint64_t num_blocks;  // region, superblock included
  uint32_t block_size;
  uint32_t seed;
  uint64_t log_blocks() const { return num_blocks - 1; }
  uint64_t Offset(uint64_t pos) const { return (first_block + pos) * block_size; }
  uint64_t Advance(uint64_t pos, uint64_t n) const { return 1 + (pos - 1 + n) % log_blocks(); }
};

struct ScannedTag {
  BlockTag tag;
  uint64_t pos;  // log block holding the copy
};
struct ScannedTransaction {
  uint64_t tid = 0;
  uint64_t start = 0;
  uint64_t nblocks = 0;  // including the commit block
  std::vector<ScannedTag> tags;
  std::vector<uint64_t> revokes;
};

// Pass 1. Device errors are returned; invalid log contents just end the scan.
Result<std::vector<ScannedTransaction>> ScanLog(const LogGeometry& g, uint64_t start,
                                                uint64_t sequence);
// Pass 2: blocknr -> highest tid that revoked it.
std::unordered_map<uint64_t, uint64_t> CollectRevokes(const std::vector<ScannedTransaction>& txs);
// Pass 3: writes the surviving copies home and flushes.
Status ReplayLog(const LogGeometry& g, const std::vector<ScannedTransaction>& txs,
                 const std::unordered_map<uint64_t, uint64_t>& revokes, RecoveryInfo* info);
// All three, filling RecoveryInfo (next_tid = first incomplete tid + 1).
Result<RecoveryInfo> RecoverLog(const LogGeometry& g, uint64_t start, uint64_t sequence);

}  // namespace foliofs::journal
