#include "tools/fsx/model.h"

#include <algorithm>
#include <cstring>

namespace foliofs::fsx {

void FillPattern(uint64_t opnum, uint64_t off, uint8_t* dst, uint64_t len) {
  const uint8_t tag = static_cast<uint8_t>(OpTag(opnum));
  const uint64_t mix = opnum * 31;
  for (uint64_t i = 0; i < len; ++i) {
    const uint64_t o = off + i;
    dst[i] = (o & 1) == 0 ? tag : static_cast<uint8_t>((o >> 1) ^ (o >> 9) ^ mix);
  }
}

void FileModel::Write(uint64_t off, const uint8_t* src, uint64_t len) {
  std::memcpy(bytes_.data() + off, src, len);
  size_ = std::max(size_, off + len);
}

void FileModel::SetSize(uint64_t new_size) {
  if (new_size < size_) std::memset(bytes_.data() + new_size, 0, size_ - new_size);
  size_ = new_size;
}

void FileModel::Zero(uint64_t off, uint64_t len) {
  if (off >= size_) return;
  const uint64_t end = std::min(size_, off + len);
  std::memset(bytes_.data() + off, 0, end - off);
}

std::optional<uint64_t> FileModel::FirstMismatch(uint64_t off, const uint8_t* buf,
                                                 uint64_t len) const {
  const uint64_t in_model = off >= bytes_.size() ? 0 : std::min(len, bytes_.size() - off);
  if (in_model > 0 && std::memcmp(bytes_.data() + off, buf, in_model) != 0) {
    for (uint64_t i = 0; i < in_model; ++i)
      if (bytes_[off + i] != buf[i]) return off + i;
  }
  for (uint64_t i = in_model; i < len; ++i)
    if (buf[i] != 0) return off + i;
  return std::nullopt;
}

}  // namespace foliofs::fsx
