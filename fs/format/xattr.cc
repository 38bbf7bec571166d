// Extended attribute entries, inline and in an xattr block (FORMAT.md §10).
#include <algorithm>
#include <cstring>

#include "fs/format/codec.h"
#include "fs/format/format.h"

namespace foliofs::format {

using namespace codec;

namespace {
constexpr size_t kXaHeader = 4;  // u8 index, u8 name_len, u16 value_len
constexpr size_t kXbCount = 32, kXbUsed = 36;

size_t XattrEntrySize(const Xattr& x) { return (kXaHeader + x.name.size() + x.value.size() + 3) & ~size_t{3}; }

bool XattrLess(const Xattr& a, const Xattr& b) {
  if (a.index != b.index) return a.index < b.index;
  return a.name < b.name;
}
}  // namespace

Result<size_t> EncodeXattrEntries(const std::vector<Xattr>& xattrs, uint8_t* out,
                                  size_t capacity) {
  size_t off = 0;
  for (size_t i = 0; i < xattrs.size(); ++i) {
    const Xattr& x = xattrs[i];
    if (x.name.empty() || x.name.size() > 255 || x.value.size() > 0xFFFF) {
      return Status::Error(EINVAL, "xattr name or value length out of range");
    }
    if (i > 0 && !XattrLess(xattrs[i - 1], x)) {
      return Status::Error(EINVAL, "xattrs not sorted by (index, name) or duplicated");
    }
    if (off + XattrEntrySize(x) > capacity) return Status::Error(ENOSPC, "xattrs do not fit");
    std::memset(out + off, 0, XattrEntrySize(x));
    out[off] = static_cast<uint8_t>(x.index);
    out[off + 1] = static_cast<uint8_t>(x.name.size());
    Put16(out, off + 2, static_cast<uint16_t>(x.value.size()));
    std::memcpy(out + off + kXaHeader, x.name.data(), x.name.size());
    std::memcpy(out + off + kXaHeader + x.name.size(), x.value.data(), x.value.size());
    off += XattrEntrySize(x);
  }
  return off;
}

Result<std::vector<Xattr>> DecodeXattrEntries(const uint8_t* in, size_t used) {
  std::vector<Xattr> out;
  size_t off = 0;
  while (off < used) {
    if (used - off < kXaHeader) return Status::Corrupted("xattr: truncated entry header");
    const uint8_t index = in[off];
    const size_t name_len = in[off + 1];
    const size_t value_len = Get16(in, off + 2);
    if (index < 1 || index > 4 || name_len == 0) {
      return Status::Corrupted("xattr: bad namespace index or empty name");
    }
    Xattr x;
    x.index = static_cast<XattrIndex>(index);
    if (off + kXaHeader + name_len + value_len > used) {
      return Status::Corrupted("xattr: entry runs past the area");
    }
    x.name.assign(reinterpret_cast<const char*>(in + off + kXaHeader), name_len);
    x.value.assign(reinterpret_cast<const char*>(in + off + kXaHeader + name_len), value_len);
    off += XattrEntrySize(x);
    if (!out.empty() && !XattrLess(out.back(), x)) {
      return Status::Corrupted("xattr: entries out of order or duplicated");
    }
    out.push_back(std::move(x));
  }
  if (off != used) return Status::Corrupted("xattr: padding runs past the area");
  return out;
}

Status EncodeXattrBlock(const std::vector<Xattr>& xattrs, uint64_t blocknr, uint64_t owner,
                        uint32_t seed, std::span<uint8_t> block) {
  std::fill(block.begin(), block.end(), 0);
  BlockHeader{BlockType::kXattr, blocknr, 0, owner}.Encode(block.data());
  ASSIGN_OR_RETURN(size_t used, EncodeXattrEntries(xattrs, block.data() + kDirNodeHeaderEnd,
                                                   block.size() - kDirNodeHeaderEnd));
  Put32(block.data(), kXbCount, static_cast<uint32_t>(xattrs.size()));
  Put32(block.data(), kXbUsed, static_cast<uint32_t>(used));
  SealBlock(seed, block);
  return Status::Ok();
}

Result<std::vector<Xattr>> DecodeXattrBlock(std::span<const uint8_t> block, uint64_t blocknr,
                                            uint64_t owner, uint32_t seed) {
  RETURN_IF_ERROR(CheckBlock(block, BlockType::kXattr, blocknr, seed));
  if (Get64(block.data(), kHdrOwner) != owner) {
    return Status::Corrupted("xattr block " + std::to_string(blocknr) + ": wrong owner");
  }
  const size_t used = Get32(block.data(), kXbUsed);
  if (used > block.size() - kDirNodeHeaderEnd) return Status::Corrupted("xattr block: bad used");
  ASSIGN_OR_RETURN(auto xattrs, DecodeXattrEntries(block.data() + kDirNodeHeaderEnd, used));
  if (xattrs.size() != Get32(block.data(), kXbCount)) {
    return Status::Corrupted("xattr block: count does not match entries");
  }
  return xattrs;
}

}  // namespace foliofs::format
