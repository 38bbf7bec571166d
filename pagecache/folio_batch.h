// FolioBatch: a fixed-capacity array of folio references (the kernel's
// struct folio_batch). It lives inside its user — the iomap iterator (I3), a
// writeback pass — so filling it never allocates and never fails: Add reports
// "full" instead, and the filler tells the caller where it stopped looking.
//
// Thread safety: none; a batch belongs to one thread. The folios it holds are
// referenced (they stay valid) but not locked; see Mapping::FillDirtyFolios.
#pragma once

#include <array>
#include <cstddef>

#include "pagecache/folio.h"

namespace foliofs {

class FolioBatch {
 public:
  // Like PAGEVEC_SIZE / folio_batch: 31 references plus a count fit in 256
  // bytes of pointers on the kernel side; here it only bounds the iterator's
  // per-step work.
  static constexpr size_t kCapacity = 31;

  FolioBatch() = default;
  ~FolioBatch() { Clear(); }
  FolioBatch(const FolioBatch&) = delete;
  FolioBatch& operator=(const FolioBatch&) = delete;

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == kCapacity; }
  static constexpr size_t capacity() { return kCapacity; }

  // Appends a reference; returns false (and keeps nothing) when full.
  bool Add(FolioRef folio) {
    if (full()) return false;
    folios_[count_++] = std::move(folio);
    return true;
  }
  // Precondition: i < size().
  const FolioRef& operator[](size_t i) const { return folios_[i]; }
  Folio& at(size_t i) const { return *folios_[i]; }

  const FolioRef* begin() const { return folios_.data(); }
  const FolioRef* end() const { return folios_.data() + count_; }

  // Drops every reference.
  void Clear() {
    for (size_t i = 0; i < count_; i++) folios_[i].reset();
    count_ = 0;
  }

 private:
  std::array<FolioRef, kCapacity> folios_;
  size_t count_ = 0;
};

}  // namespace foliofs
