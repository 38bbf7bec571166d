// The journal step of fsck.foliofs; see fsck_journal.h.
#include "tools/fsck/fsck_journal.h"

#include "journal/journal.h"
#include "journal/journal_format.h"

namespace foliofs::fsck {

Result<JournalState> ProbeJournal(BlockDevice& dev, const format::Superblock& sb) {
  JournalState state;
  if (!(sb.feature_compat & format::kCompatHasJournal) || sb.journal_blocks == 0) {
    state.problem = "the filesystem has no journal";
    return state;
  }
  const uint32_t bs = sb.block_size();
  if (sb.journal_first_block >= sb.blocks_count) {
    state.problem = "the journal lies outside the filesystem";
    return state;
  }
  AlignedBuffer buf = AllocateAligned(bs, 4096);
  RETURN_IF_ERROR(dev.Read(sb.journal_first_block * bs, buf.get(), bs));
  auto jsb =
      journal::DecodeSuperblock(std::span<const uint8_t>(buf.get(), journal::kSuperblockBytes));
  if (!jsb.ok()) {
    state.problem = "journal superblock: " + jsb.status().message();
    return state;
  }
  state.present = true;
  state.needs_recovery = jsb->start != 0;
  return state;
}

Result<ReplayResult> ReplayJournal(BlockDevice& dev, const format::Superblock& sb) {
  journal::JournalOptions options;
  options.first_block = sb.journal_first_block;
  options.num_blocks = sb.journal_blocks;
  options.block_size = sb.block_size();
  options.uuid = sb.uuid;
  ASSIGN_OR_RETURN(auto j, journal::Journal::Open(dev, options));
  ReplayResult result;
  result.transactions = j->recovery_info().transactions_replayed;
  result.blocks = j->recovery_info().blocks_replayed;
  RETURN_IF_ERROR(j->Close());
  return result;
}

}  // namespace foliofs::fsck
