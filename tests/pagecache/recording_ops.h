// RecordingOps: a test AddressSpaceOps without a device. It follows
// writeback.h's protocol (lock, StartWriteback, ClearDirty, unlock,
// EndWriteback) and records every Writepages call — which mapping, sync or
// background — so tests can see exactly which mappings the flushers chose
// and in which order. Optionally runs a hook at the start of each call.
//
// Thread safety: Writepages may run concurrently from several threads; the
// record is guarded by a mutex. Configure the hook before use.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "pagecache/pagecache.h"

namespace foliofs::testing_ops {

class RecordingOps : public AddressSpaceOps {
 public:
  struct Call {
    const Mapping* mapping;
    bool sync;
    uint64_t written;
  };

  // Runs at the start of every call, with no lock held.
  std::function<void(Mapping&, const WritebackControl&)> before_write;

  std::vector<Call> calls() const {
    std::lock_guard lk(mu_);
    return calls_;
  }
  // The mappings of the background (non-sync) calls, in call order.
  std::vector<const Mapping*> background_mappings() const {
    std::lock_guard lk(mu_);
    std::vector<const Mapping*> out;
    for (const Call& c : calls_)
      if (!c.sync) out.push_back(c.mapping);
    return out;
  }
  void Clear() {
    std::lock_guard lk(mu_);
    calls_.clear();
  }

  Status Writepages(Mapping& m, WritebackControl& wbc) override {
    if (before_write) before_write(m, wbc);
    if (wbc.sync) m.WaitWritebackRange(wbc.start, wbc.end);
    uint64_t from = wbc.start;
    while (from < wbc.end) {
      FolioBatch batch;
      const uint64_t next = m.FindDirtyRun(from, wbc.sync ? UINT64_MAX : wbc.max_bytes, batch);
      if (batch.empty()) break;
      std::vector<Folio*> locked;
      for (const FolioRef& f : batch) {
        f->Lock();
        if (f->mapping() != &m || !f->dirty() || f->writeback()) {
          f->Unlock();
          continue;
        }
        f->StartWriteback();
        f->ClearDirty();
        locked.push_back(f.get());
        wbc.written += f->size();
      }
      for (Folio* f : locked) f->Unlock();
      for (Folio* f : locked) f->EndWriteback();
      if (!wbc.sync && wbc.written >= wbc.max_bytes) break;
      from = next;
    }
    std::lock_guard lk(mu_);
    calls_.push_back(Call{&m, wbc.sync, wbc.written});
    return Status::Ok();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Call> calls_;
};

// Makes [offset, offset+len) of the folio at `pos` (created with
// `order_hint` if missing) uptodate and dirty. False on ENOMEM.
inline bool DirtyRange(Mapping& m, uint64_t pos, uint32_t order_hint, uint64_t offset,
                       uint64_t len) {
  auto f = m.GetOrCreate(pos, order_hint);
  if (!f.ok()) return false;
  FolioRef folio = std::move(f).value();
  folio->Lock();
  folio->MarkUptodate(0, folio->size());
  folio->MarkDirty(offset, len);
  folio->Unlock();
  return true;
}

// Makes the whole folio at `pos` uptodate and dirty.
inline bool DirtyFolio(Mapping& m, uint64_t pos, uint32_t order_hint) {
  auto f = m.GetOrCreate(pos, order_hint);
  if (!f.ok()) return false;
  const uint64_t size = f.value()->size();
  return DirtyRange(m, pos, order_hint, 0, size);
}

}  // namespace foliofs::testing_ops
