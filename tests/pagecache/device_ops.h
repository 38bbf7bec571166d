// DeviceOps: a test AddressSpaceOps that follows writeback.h's protocol and
// writes a mapping's dirty blocks 1:1 to a block device (file position p →
// device offset base + p). It counts its calls and can be slowed down or
// hooked between unlocking the folios and ending their writeback, so tests
// can act while folios are unlocked but still under writeback.
//
// Thread safety: Writepages may run concurrently from several threads (each
// call writes the folios it locks). Configure hooks before use.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <vector>

#include "pagecache/blockdev/block_device.h"
#include "pagecache/pagecache.h"

namespace foliofs::testing_ops {

class DeviceOps : public AddressSpaceOps {
 public:
  DeviceOps(BlockDevice& device, uint64_t base = 0) : device_(device), base_(base) {}

  // Runs after the folios of a run are unlocked, before EndWriteback.
  std::function<void(const std::vector<Folio*>&)> after_unlock;
  // Runs at the start of every call (tests hold the flushers back with it).
  std::function<void()> before_write;

  uint64_t calls() const { return calls_.load(); }
  uint64_t sync_calls() const { return sync_calls_.load(); }
  uint64_t written() const { return written_.load(); }
  uint64_t errors() const { return errors_.load(); }

  Status Writepages(Mapping& m, WritebackControl& wbc) override {
    calls_++;
    if (wbc.sync) sync_calls_++;
    if (before_write) before_write();
    // WB_SYNC_ALL: folios redirtied while under writeback are written too,
    // after that writeback ends (no folio lock held while waiting).
    if (wbc.sync) m.WaitWritebackRange(wbc.start, wbc.end);
    Status first;
    uint64_t from = wbc.start;
    while (from < wbc.end) {
      FolioBatch batch;
      const uint64_t run_max =
          wbc.sync ? kRunBytes : std::min(kRunBytes, wbc.max_bytes - wbc.written);
      const uint64_t next = m.FindDirtyRun(from, run_max, batch);
      if (batch.empty()) break;
      Status s = WriteRun(m, wbc, batch);
      if (!s.ok()) {
        errors_++;
        m.SetError(s);
        if (first.ok()) first = s;
      }
      if (!wbc.sync && wbc.written >= wbc.max_bytes) break;
      from = next;
    }
    return first;
  }

 private:
  static constexpr uint64_t kRunBytes = 256 * 1024;

  // Steps 1–4 of writeback.h for one run.
  Status WriteRun(Mapping& m, WritebackControl& wbc, const FolioBatch& batch) {
    std::vector<Folio*> locked;
    std::vector<iovec> iov;
    std::vector<uint64_t> offsets;
    iov.reserve(FolioBatch::kCapacity * 64);
    for (const FolioRef& f : batch) {
      if (f->pos() >= wbc.end) break;
      f->Lock();
      if (f->mapping() != &m || !f->dirty() || f->writeback()) {
        f->Unlock();
        continue;
      }
      for (uint32_t b = 0; b < f->nr_blocks(); b++) {
        if (!f->BlockDirty(b)) continue;
        iov.push_back({f->data() + uint64_t{b} * f->block_size(), f->block_size()});
        offsets.push_back(base_ + f->pos() + uint64_t{b} * f->block_size());
      }
      // StartWriteback before ClearDirty (writeback.h step 2): never a
      // moment where the folio looks neither dirty nor under writeback.
      f->StartWriteback();
      f->ClearDirty();
      locked.push_back(f.get());
    }
    std::vector<IoRequest> reqs(iov.size());
    uint64_t bytes = 0;
    for (size_t i = 0; i < iov.size(); i++) {
      reqs[i].op = IoOp::kWrite;
      reqs[i].offset = offsets[i];
      reqs[i].iov = std::span<const iovec>(&iov[i], 1);
      bytes += iov[i].iov_len;
    }
    Status s = reqs.empty() ? Status::Ok() : device_.Submit(reqs);  // folio locks held
    for (Folio* f : locked) f->Unlock();
    if (after_unlock) after_unlock(locked);
    for (Folio* f : locked) f->EndWriteback();
    if (s.ok()) {
      wbc.written += bytes;
      written_ += bytes;
    }
    return s;
  }

  BlockDevice& device_;
  const uint64_t base_;
  std::atomic<uint64_t> calls_{0}, sync_calls_{0}, written_{0}, errors_{0};
};

}  // namespace foliofs::testing_ops
