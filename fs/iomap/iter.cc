// IomapIter: the one loop every client runs (Linux fs/iomap/iter.c).
//
// A step is one mapping: Begin made it, the client advanced over part or all
// of it, End saw how much. Only Next() moves pos/len, by exactly what was
// advanced, so the loop always moves forward or stops.
#include <string>

#include "fs/iomap/internal.h"
#include "fs/iomap/iomap.h"
#include "pagecache/base/log.h"

namespace foliofs {
namespace {

bool SameMapping(const Iomap& a, const Iomap& b) {
  return a.offset == b.offset && a.length == b.length && a.addr == b.addr && a.type == b.type &&
         a.flags == b.flags && a.seq == b.seq;
}

}  // namespace

namespace iomap_internal {
spdlog::logger& Log() {
  static const std::shared_ptr<spdlog::logger> logger = GetLogger("iomap");
  return *logger;
}
}  // namespace iomap_internal

const char* IomapTypeName(IomapType type) {
  switch (type) {
    case IomapType::kHole:
      return "hole";
    case IomapType::kUnwritten:
      return "unwritten";
    case IomapType::kMapped:
      return "mapped";
  }
  return "?";
}

Status IomapInode::End(IomapIter&, uint64_t) { return Status::Ok(); }

Status IomapInode::Writepages(Mapping&, WritebackControl& wbc) {
  return IomapWritepages(*this, wbc);
}

IomapIter::IomapIter(IomapInode& inode, uint64_t pos, uint64_t len, uint32_t flags)
    : inode_(inode), pos_(pos), len_(len), flags_(flags) {}

uint64_t IomapIter::length() const {
  if (!have_map_ || iomap_.end() <= pos_) return 0;
  return std::min(len_, iomap_.end() - pos_);
}

void IomapIter::Advance(uint64_t bytes) {
  if (processed_ + bytes > length()) {
    SetError(Status::Error(EIO, "iomap: advance of " + std::to_string(bytes) +
                                    " bytes past the mapping at " + std::to_string(pos_)));
    return;
  }
  processed_ += bytes;
}

void IomapIter::SetError(Status error) {
  if (status_.ok() && !error.ok()) status_ = std::move(error);
}

// Ends the current step (End, then move forward); false when the loop stops.
bool IomapIter::Next() {
  const Iomap prev = iomap_;
  const uint64_t prev_processed = processed_;
  const bool had_map = have_map_;
  if (have_map_) {
    SetError(inode_.End(*this, processed_));
    pos_ += processed_;
    len_ -= processed_;
  }
  have_map_ = false;
  processed_ = 0;
  batch_.Clear();  // I3: the batch belongs to one step
  if (!status_.ok() || len_ == 0) return false;

  iomap_ = Iomap();
  has_srcmap_ = false;
  Status st = inode_.Begin(*this);
  if (!st.ok()) {
    batch_.Clear();
    SetError(st);
    return false;
  }
  if (iomap_.offset > pos_ || iomap_.end() <= pos_ ||
      (has_srcmap_ && (srcmap_.offset > pos_ || srcmap_.end() <= pos_))) {
    batch_.Clear();
    SetError(Status::Error(
        EIO, "iomap: Begin returned a mapping [" + std::to_string(iomap_.offset) + ", " +
                 std::to_string(iomap_.end()) + ") not covering " + std::to_string(pos_)));
    return false;
  }
  // A step that advanced nothing is allowed once (the client asks again,
  // e.g. after a stale mapping); twice with an unchanged mapping is a
  // livelock — report it instead of spinning.
  stalls_ = (had_map && prev_processed == 0 && SameMapping(prev, iomap_)) ? stalls_ + 1 : 0;
  if (stalls_ >= 2) {
    batch_.Clear();
    SetError(Status::Error(EIO, "iomap: no progress at " + std::to_string(pos_)));
    return false;
  }
  have_map_ = true;
  SPDLOG_LOGGER_TRACE(&iomap_internal::Log(), "iomap step pos={} len={} map=[{}, {}) {} seq={}",
                      pos_, length(), iomap_.offset, iomap_.end(), IomapTypeName(iomap_.type),
                      iomap_.seq);
  return true;
}

}  // namespace foliofs
