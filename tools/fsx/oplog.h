// Operation records and the ring of the most recent ones, dumped on failure.
// Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace foliofs::fsx {

enum class OpKind : uint8_t {
  kRead,
  kWrite,
  kMapRead,
  kMapWrite,
  kTruncate,
  kFallocate,
  kPunchHole,
  kZeroRange,
  kFsync,
  kFdatasync,
};
constexpr int kOpKinds = 10;

const char* OpName(OpKind kind);

struct OpRecord {
  uint64_t num = 0;
  OpKind kind = OpKind::kRead;
  uint64_t off = 0;
  uint64_t len = 0;  // for truncate: 0 (the new size is size_after)
  bool keep_size = false;
  bool skipped = false;    // disabled by a flag / unsupported, or zero length
  bool simulated = false;  // before -b: model only
  bool reopen = false;     // close+reopen after the op (-c)
  uint64_t size_before = 0;
  uint64_t size_after = 0;
};

// One line, e.g. "17 write 0x1000 thru 0x1fff (0x1000 bytes) size 0x0 -> 0x2000".
std::string FormatOp(const OpRecord& r);

class OpLog {
 public:
  static constexpr size_t kCapacity = 100;

  void Add(const OpRecord& r);
  // Oldest first.
  std::vector<OpRecord> Recent() const;
  // The most recent logged, performed op that changed the bytes at `off`
  // (write, mapwrite, punch, zero, truncate over it), or nullptr.
  const OpRecord* LastTouching(uint64_t off) const;

 private:
  std::array<OpRecord, kCapacity> ring_{};
  size_t count_ = 0;  // total added
};

}  // namespace foliofs::fsx
