// Randomized model test: a Mapping driven by ~100k random operations
// (create, write bytes, zero range, writeback, truncate, invalidate) against a
// flat model — per-block presence/uptodate/dirty and a flat byte array — with
// fixed seeds. Every few hundred operations the whole cache is compared.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <ostream>
#include <random>
#include <vector>

#include "pagecache/pagecache.h"

namespace foliofs {
namespace {

constexpr uint64_t kSpace = 1024 * 1024;  // the file positions exercised

struct BlockModel {
  bool present = false;
  bool uptodate = false;
  bool dirty = false;
};

class ModelRun {
 public:
  ModelRun(uint32_t bs, uint64_t seed)
      : bs_(bs), rng_(seed), blocks_(kSpace / bs), bytes_(kSpace, 0) {
    mapping_ = std::move(Mapping::Create(bs, 64 * 1024).value());
  }

  void Step() {
    const uint32_t op = Rand(100);
    if (op < 25)
      Create();
    else if (op < 55)
      Write();
    else if (op < 65)
      Zero();
    else if (op < 80)
      Writeback();
    else if (op < 90)
      Shrink(false);
    else
      Shrink(true);
  }

  void Check() {
    size_t dirty_folios = 0;
    for (uint64_t b = 0; b < blocks_.size();) {
      FolioRef f = mapping_->Lookup(b * bs_);
      ASSERT_EQ(f != nullptr, blocks_[b].present) << "block " << b;
      if (!f) {
        b++;
        continue;
      }
      ASSERT_EQ(f->pos(), b * bs_) << "folio not at its first block";
      FolioLockGuard guard(*f);  // unlocks even when an ASSERT returns early
      bool any_dirty = false;
      for (uint32_t i = 0; i < f->nr_blocks(); i++, b++) {
        ASSERT_TRUE(blocks_[b].present);
        ASSERT_EQ(f->BlockUptodate(i), blocks_[b].uptodate) << "block " << b;
        ASSERT_EQ(f->BlockDirty(i), blocks_[b].dirty) << "block " << b;
        any_dirty = any_dirty || blocks_[b].dirty;
      }
      ASSERT_EQ(std::memcmp(f->data(), &bytes_[f->pos()], f->size()), 0) << "folio " << f->pos();
      ASSERT_EQ(f->dirty(), any_dirty);
      dirty_folios += any_dirty;
    }
    ASSERT_EQ(mapping_->dirty_count(), dirty_folios);
    ASSERT_EQ(mapping_->RangeNeedsWriteback(0, kSpace), dirty_folios > 0);
    CheckFill();
  }

 private:
  uint32_t Rand(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  uint64_t RandPos() { return rng_() % kSpace; }

  // Every present block's folio over [start, end), by position.
  std::map<uint64_t, FolioRef> FoliosIn(uint64_t start, uint64_t end) {
    std::map<uint64_t, FolioRef> out;
    for (uint64_t b = start / bs_; b * bs_ < std::min(end, kSpace); b++)
      if (FolioRef f = mapping_->Lookup(b * bs_)) out.emplace(f->pos(), f);
    return out;
  }

  void Create() {
    const uint64_t pos = RandPos();
    const bool existed = blocks_[pos / bs_].present;
    FolioRef f = std::move(mapping_->GetOrCreate(pos, Rand(8)).value());
    ASSERT_TRUE(f->Contains(pos));
    ASSERT_LE(f->end(), kSpace);
    if (existed) return;
    for (uint64_t b = f->pos() / bs_; b < f->end() / bs_; b++) {
      ASSERT_FALSE(blocks_[b].present) << "new folio overlaps block " << b;
      blocks_[b] = BlockModel{true, false, false};
    }
    std::memset(&bytes_[f->pos()], 0, f->size());
  }

  // Locks the folio at a random position; nullptr when none.
  FolioRef LockedAt(uint64_t pos) {
    FolioRef f = mapping_->Lookup(pos);
    if (f) f->Lock();
    return f;
  }

  void Write() {
    const uint64_t pos = RandPos();
    FolioRef f = LockedAt(pos);
    if (!f) return;
    const uint64_t len = std::min<uint64_t>(1 + Rand(3 * bs_), f->end() - pos);
    const auto value = static_cast<uint8_t>(1 + Rand(255));
    std::memset(f->data() + (pos - f->pos()), value, len);
    f->MarkUptodate(pos - f->pos(), len);
    f->MarkDirty(pos - f->pos(), len);
    f->Unlock();
    std::memset(&bytes_[pos], value, len);
    for (uint64_t b = pos / bs_; b <= (pos + len - 1) / bs_; b++)
      blocks_[b].uptodate = blocks_[b].dirty = true;
  }

  void Zero() {
    const uint64_t pos = RandPos();
    FolioRef f = LockedAt(pos);
    if (!f) return;
    const uint64_t len = std::min<uint64_t>(1 + Rand(3 * bs_), f->end() - pos);
    f->ZeroRange(pos - f->pos(), len);
    f->MarkDirty(pos - f->pos(), len);
    f->Unlock();
    std::memset(&bytes_[pos], 0, len);
    for (uint64_t b = pos / bs_; b <= (pos + len - 1) / bs_; b++) blocks_[b].dirty = true;
  }

  void Writeback() {
    FolioRef f = LockedAt(RandPos());
    if (!f) return;
    const bool dirty = f->dirty();
    if (dirty) {
      f->ClearDirty();
      f->StartWriteback();
    }
    f->Unlock();
    if (!dirty) return;
    f->EndWriteback();
    for (uint64_t b = f->pos() / bs_; b < f->end() / bs_; b++) blocks_[b].dirty = false;
  }

  void Shrink(bool invalidate) {
    const uint64_t start = RandPos();
    const uint64_t end = Rand(10) == 0 ? UINT64_MAX : start + 1 + Rand(128 * 1024);
    std::map<uint64_t, FolioRef> before = FoliosIn(start, end);
    if (invalidate)
      mapping_->InvalidateRange(start, end);
    else
      mapping_->TruncateRange(start, end);
    for (auto& [pos, f] : before) ApplyShrink(*f, start, end, invalidate);
  }

  void ApplyShrink(const Folio& f, uint64_t start, uint64_t end, bool invalidate) {
    if (f.pos() >= start && f.end() <= end) {
      for (uint64_t b = f.pos() / bs_; b < f.end() / bs_; b++) blocks_[b] = BlockModel{};
      return;
    }
    const uint64_t from = std::max(start, f.pos()), to = std::min(end, f.end());
    std::memset(&bytes_[from], 0, to - from);
    for (uint64_t b = (from + bs_ - 1) / bs_; (b + 1) * bs_ <= to; b++) {
      blocks_[b].dirty = false;
      blocks_[b].uptodate = !invalidate;
    }
  }

  void CheckFill() {
    const uint64_t start = RandPos(), end = start + Rand(512 * 1024);
    std::vector<uint64_t> expect;
    for (auto& [pos, f] : FoliosIn(start, end))
      if (f->dirty()) expect.push_back(pos);
    FolioBatch batch;
    uint64_t pos = start;
    size_t i = 0;
    while (pos < end) {
      const uint64_t next = mapping_->FillDirtyFolios(pos, end, batch);
      ASSERT_GT(next, pos);
      for (const FolioRef& f : batch) {
        ASSERT_LT(i, expect.size());
        ASSERT_EQ(f->pos(), expect[i++]);
      }
      batch.Clear();
      pos = next;
    }
    ASSERT_EQ(i, expect.size());
  }

  const uint32_t bs_;
  std::mt19937_64 rng_;
  std::vector<BlockModel> blocks_;
  std::vector<uint8_t> bytes_;
  std::unique_ptr<Mapping> mapping_;
};

struct ModelParam {
  uint32_t block_size;
  uint64_t seed;
};

void PrintTo(const ModelParam& p, std::ostream* os) {
  *os << "bs " << p.block_size << " seed " << p.seed;
}

class PagecacheModelTest : public ::testing::TestWithParam<ModelParam> {};

TEST_P(PagecacheModelTest, RandomOperationsMatchAFlatByteArray) {
  ModelRun run(GetParam().block_size, GetParam().seed);
  for (int op = 0; op < 25000; op++) {
    run.Step();
    if (::testing::Test::HasFatalFailure()) return;
    if (op % 500 == 499) {
      run.Check();
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  run.Check();
}

INSTANTIATE_TEST_SUITE_P(Seeds, PagecacheModelTest,
                         ::testing::Values(ModelParam{1024, 1}, ModelParam{1024, 2},
                                           ModelParam{4096, 3}, ModelParam{4096, 4}),
                         [](const auto& info) {
                           return "bs" + std::to_string(info.param.block_size) + "_seed" +
                                  std::to_string(info.param.seed);
                         });

}  // namespace
}  // namespace foliofs
