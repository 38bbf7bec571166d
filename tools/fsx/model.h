// The in-memory model of the file under test: its bytes and its size.
//
// Invariant: every model byte at or beyond size() is zero, so growing the file
// (truncate up, extending fallocate, writes past EOF) exposes zeros without
// extra work, exactly what POSIX promises for the file.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace foliofs::fsx {

// Fills `dst` with the data op `opnum` writes at file offset `off`. Even
// offsets hold (opnum % 255) + 1 (never zero, so data is told from holes, and a
// hex dump names the writing op modulo 255); odd offsets hold a function of the
// offset and the op, so shifted data is caught too.
void FillPattern(uint64_t opnum, uint64_t off, uint8_t* dst, uint64_t len);

// The op tag an even-offset byte carries: ops n with n % 255 == tag - 1.
inline int OpTag(uint64_t opnum) { return static_cast<int>(opnum % 255) + 1; }

class FileModel {
 public:
  explicit FileModel(uint64_t max_len) : bytes_(max_len, 0) {}

  uint64_t size() const { return size_; }
  uint64_t max_len() const { return bytes_.size(); }
  const uint8_t* data() const { return bytes_.data(); }

  // Requires off + len <= max_len(). Grows the size to off + len if larger.
  void Write(uint64_t off, const uint8_t* src, uint64_t len);
  // Truncate up or down (requires new_size <= max_len()).
  void SetSize(uint64_t new_size);
  // Zeroes [off, off + len) clipped to the current size (the size is unchanged).
  void Zero(uint64_t off, uint64_t len);
  // The first offset in [off, off + len) whose model byte differs from
  // buf[offset - off]; bytes beyond max_len() compare against zero.
  std::optional<uint64_t> FirstMismatch(uint64_t off, const uint8_t* buf, uint64_t len) const;
  // Model byte at `off`, zero beyond max_len().
  uint8_t At(uint64_t off) const { return off < bytes_.size() ? bytes_[off] : 0; }

 private:
  std::vector<uint8_t> bytes_;
  uint64_t size_ = 0;
};

}  // namespace foliofs::fsx
