// fsck.foliofs: the journal step that runs before the check (FORMAT.md §14).
//
// A journal "needs recovery" when its superblock's `start` is not 0 (a log
// holds transactions that may not be home yet; journal/journal_format.h).
// ReplayJournal opens it with journal::Journal::Open, which replays every
// complete transaction and resets the log, then closes it (empty log).
//
// Thread safety: one thread; nothing else may use the device meanwhile.
#pragma once

#include <cstdint>
#include <string>

#include "fs/format/format.h"
#include "pagecache/base/status.h"
#include "pagecache/blockdev/block_device.h"

namespace foliofs::fsck {

struct JournalState {
  bool present = false;         // HAS_JOURNAL and a decodable journal superblock
  bool needs_recovery = false;  // start != 0
  std::string problem;          // why it is not present (empty if it is)
};

// Reads the journal superblock of the filesystem `sb` describes. I/O errors
// are returned; a damaged journal superblock is reported in `problem`.
Result<JournalState> ProbeJournal(BlockDevice& dev, const format::Superblock& sb);

struct ReplayResult {
  uint64_t transactions = 0;  // transactions replayed
  uint64_t blocks = 0;        // blocks written home
};
// Opens (recovering) and closes the journal. Errors: the journal's own
// (EUCLEAN for a damaged journal superblock, EIO, ...).
Result<ReplayResult> ReplayJournal(BlockDevice& dev, const format::Superblock& sb);

}  // namespace foliofs::fsck
