#include "tools/fsx/oplog.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace foliofs::fsx {

const char* OpName(OpKind kind) {
  switch (kind) {
    case OpKind::kRead:
      return "read";
    case OpKind::kWrite:
      return "write";
    case OpKind::kMapRead:
      return "mapread";
    case OpKind::kMapWrite:
      return "mapwrite";
    case OpKind::kTruncate:
      return "truncate";
    case OpKind::kFallocate:
      return "fallocate";
    case OpKind::kPunchHole:
      return "punch";
    case OpKind::kZeroRange:
      return "zero";
    case OpKind::kFsync:
      return "fsync";
    case OpKind::kFdatasync:
      return "fdatasync";
  }
  return "?";
}

std::string FormatOp(const OpRecord& r) {
  char buf[256];
  int n = 0;
  if (r.kind == OpKind::kTruncate) {
    n = snprintf(buf, sizeof buf, "%" PRIu64 " truncate %s0x%" PRIx64, r.num,
                 r.size_after >= r.size_before ? "up to " : "down to ", r.size_after);
  } else if (r.kind == OpKind::kFsync || r.kind == OpKind::kFdatasync) {
    n = snprintf(buf, sizeof buf, "%" PRIu64 " %s", r.num, OpName(r.kind));
  } else {
    n = snprintf(buf, sizeof buf,
                 "%" PRIu64 " %s%s 0x%" PRIx64 " thru 0x%" PRIx64 " (0x%" PRIx64 " bytes)", r.num,
                 OpName(r.kind), r.keep_size ? " keep_size" : "", r.off,
                 r.len ? r.off + r.len - 1 : r.off, r.len);
  }
  std::string s(buf, static_cast<size_t>(std::max(n, 0)));
  snprintf(buf, sizeof buf, " size 0x%" PRIx64 " -> 0x%" PRIx64, r.size_before, r.size_after);
  s += buf;
  if (r.skipped) s += " [skipped]";
  if (r.simulated) s += " [simulated]";
  if (r.reopen) s += " [close+reopen]";
  return s;
}

void OpLog::Add(const OpRecord& r) { ring_[count_++ % kCapacity] = r; }

std::vector<OpRecord> OpLog::Recent() const {
  std::vector<OpRecord> out;
  const size_t n = std::min(count_, kCapacity);
  for (size_t i = count_ - n; i < count_; ++i) out.push_back(ring_[i % kCapacity]);
  return out;
}

const OpRecord* OpLog::LastTouching(uint64_t off) const {
  const size_t n = std::min(count_, kCapacity);
  for (size_t i = 0; i < n; ++i) {
    const OpRecord& r = ring_[(count_ - 1 - i) % kCapacity];
    if (r.skipped) continue;
    switch (r.kind) {
      case OpKind::kWrite:
      case OpKind::kMapWrite:
      case OpKind::kPunchHole:
      case OpKind::kZeroRange:
        if (off >= r.off && off < r.off + r.len) return &r;
        break;
      case OpKind::kTruncate:
        if (off >= std::min(r.size_before, r.size_after) &&
            off < std::max(r.size_before, r.size_after))
          return &r;
        break;
      default:
        break;
    }
  }
  return nullptr;
}

}  // namespace foliofs::fsx
