// Mapping's writeback entry points: WriteAndWait (fsync's data half),
// WaitWritebackRange, the error record, and ShrinkClean (reclaim's hook).
//
// Every wait here is for folio writeback, so each is I1-checked and runs
// with no folio lock and no Mapping::mu_ held (writeback.h).
#include <algorithm>
#include <vector>

#include "pagecache/base/held_handles.h"
#include "pagecache/mapping.h"

namespace foliofs {

FolioRef Mapping::NextUnderWriteback(uint64_t from, uint64_t end) const {
  std::lock_guard lk(mu_);
  for (auto it = FirstFromLocked(from); it != folios_.end() && it->first < end; ++it)
    if (it->second->writeback()) return it->second;
  return nullptr;
}

void Mapping::WaitWritebackRange(uint64_t start, uint64_t end) {
  AssertNoJournalHandle("Mapping::WaitWritebackRange");
  uint64_t cur = start;
  while (cur < end) {
    FolioRef folio = NextUnderWriteback(cur, end);
    if (!folio) return;
    folio->WaitWriteback();  // aborts in debug builds under a folio lock
    cur = std::max(cur, folio->end());
  }
}

Status Mapping::WriteAndWait(uint64_t start, uint64_t end) {
  AssertNoJournalHandle("Mapping::WriteAndWait");
  Status first;
  if (ops_ != nullptr && start < end) {
    for (int pass = 0; pass < 2; pass++) {
      WritebackControl wbc;
      wbc.start = start;
      wbc.end = end;
      wbc.sync = true;
      Status s = ops_->Writepages(*this, wbc);
      if (!s.ok() && first.ok()) first = s;
      // Folios redirtied while under writeback are written by the second
      // pass once this writeback has ended.
      WaitWritebackRange(start, end);
    }
  }
  WaitWritebackRange(start, end);
  // The ops recorded their errors with SetError too: consume the record so
  // that one failure is reported once.
  Status recorded = TakeError();
  return first.ok() ? recorded : first;
}

void Mapping::SetError(const Status& error) {
  if (error.ok()) return;
  std::lock_guard lk(mu_);
  if (error_.ok()) error_ = error;
}

Status Mapping::TakeError() {
  std::lock_guard lk(mu_);
  Status e = error_;
  error_ = Status::Ok();
  return e;
}

// CLOCK over the index, from clock_hand_, at most one revolution. A folio is
// reclaimable iff, under mu_, nobody but the index references it (so nobody
// can lock, dirty or start writeback on it: every new reference comes from
// the index, under mu_) and it is clean, not under writeback and unlocked.
// TryLock (never waits) makes the unlink a folio-lock holder, as mapping_
// requires. Freed folios are released after mu_ is dropped.
uint64_t Mapping::ShrinkClean(uint64_t target, bool all) {
  std::vector<FolioRef> dropped;
  uint64_t freed = 0;
  {
    std::lock_guard lk(mu_);
    size_t budget = folios_.size();
    auto it = folios_.lower_bound(clock_hand_);
    while (budget-- > 0 && freed < target) {
      if (it == folios_.end()) it = folios_.begin();
      Folio& f = *it->second;
      auto next = std::next(it);
      const bool referenced = !all && f.TestAndClearAccessed();
      if (!referenced && it->second.use_count() == 1 && !f.dirty() && !f.writeback() &&
          f.TryLock()) {
        if (!f.dirty() && !f.writeback()) {
          dropped.push_back(it->second);
          freed += UnlinkLocked(it);
        }
        f.Unlock();
      }
      it = next;
    }
    clock_hand_ = it == folios_.end() ? 0 : it->first;
  }
  Uncharge(freed);
  return freed;
}

}  // namespace foliofs
