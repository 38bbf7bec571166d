// Directory name hash and directory node codecs (FORMAT.md §8).
#include <algorithm>
#include <cstring>

#include "fs/format/codec.h"
#include "fs/format/format.h"

namespace foliofs::format {

using namespace codec;

namespace {
inline uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline void SipRound(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1; v1 = Rotl(v1, 13); v1 ^= v0; v0 = Rotl(v0, 32);
  v2 += v3; v3 = Rotl(v3, 16); v3 ^= v2;
  v0 += v3; v3 = Rotl(v3, 21); v3 ^= v0;
  v2 += v1; v1 = Rotl(v1, 17); v1 ^= v2; v2 = Rotl(v2, 32);
}

// Leaf node header offsets (FORMAT.md §8).
constexpr size_t kLeafCount = 32, kLeafUsed = 36, kLeafNext = 40;
// Index node header offsets.
constexpr size_t kIdxCount = 32, kIdxMax = 34, kIdxDepth = 36;
// Entry field offsets.
constexpr size_t kEntHash = 0, kEntIno = 8, kEntType = 16, kEntNameLen = 17, kEntName = 18;

bool EntryLess(const DirEntry& a, const DirEntry& b) {
  if (a.hash != b.hash) return a.hash < b.hash;
  return a.name < b.name;  // std::string compares bytes as unsigned char
}

Status CheckOwner(std::span<const uint8_t> block, uint64_t owner, const char* what) {
  if (Get64(block.data(), kHdrOwner) != owner) {
    return Status::Corrupted(std::string(what) + " at block " +
                             std::to_string(Get64(block.data(), kHdrBlocknr)) +
                             " is owned by inode " +
                             std::to_string(Get64(block.data(), kHdrOwner)) + ", expected " +
                             std::to_string(owner));
  }
  return Status::Ok();
}
}  // namespace

uint64_t SipHash24(const std::array<uint8_t, 16>& key, const void* data, size_t len) {
  const uint64_t k0 = Get64(key.data(), 0), k1 = Get64(key.data(), 8);
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  const auto* p = static_cast<const uint8_t*>(data);
  const size_t full = len - len % 8;
  for (size_t i = 0; i < full; i += 8) {
    const uint64_t m = Get64(p, i);
    v3 ^= m;
    SipRound(v0, v1, v2, v3);
    SipRound(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t b = static_cast<uint64_t>(len) << 56;
  for (size_t i = 0; i < len % 8; ++i) b |= static_cast<uint64_t>(p[full + i]) << (8 * i);
  v3 ^= b;
  SipRound(v0, v1, v2, v3);
  SipRound(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) SipRound(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t NameHash(const std::array<uint8_t, 16>& hash_seed, std::span<const uint8_t> name) {
  return SipHash24(hash_seed, name.data(), name.size());
}

Status ValidateName(std::span<const uint8_t> name) {
  if (name.empty() || name.size() > kMaxNameLen) {
    return Status::Error(name.empty() ? EINVAL : ENAMETOOLONG,
                         "name length " + std::to_string(name.size()) + " not in 1..255");
  }
  for (uint8_t c : name) {
    if (c == '/' || c == 0) return Status::Error(EINVAL, "name contains '/' or NUL");
  }
  if ((name.size() == 1 && name[0] == '.') ||
      (name.size() == 2 && name[0] == '.' && name[1] == '.')) {
    return Status::Error(EINVAL, "'.' and '..' are not stored");
  }
  return Status::Ok();
}

Status EncodeDirLeaf(const DirLeaf& leaf, uint64_t blocknr, uint64_t owner, uint32_t seed,
                     std::span<uint8_t> block) {
  size_t used = 0;
  for (size_t i = 0; i < leaf.entries.size(); ++i) {
    const DirEntry& e = leaf.entries[i];
    RETURN_IF_ERROR(ValidateName(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(e.name.data()), e.name.size())));
    if (i > 0 && !EntryLess(leaf.entries[i - 1], e)) {
      return Status::Error(EINVAL, "directory leaf entries not sorted by (hash, name)");
    }
    used += DirEntrySize(e.name.size());
  }
  if (used > block.size() - kDirNodeHeaderEnd || leaf.entries.size() > 0xFFFF) {
    return Status::Error(ENOSPC, "directory leaf entries do not fit in one block");
  }
  std::fill(block.begin(), block.end(), 0);
  BlockHeader{BlockType::kDirLeaf, blocknr, 0, owner}.Encode(block.data());
  Put16(block.data(), kLeafCount, static_cast<uint16_t>(leaf.entries.size()));
  Put32(block.data(), kLeafUsed, static_cast<uint32_t>(used));
  Put32(block.data(), kLeafNext, leaf.next_leaf);
  uint8_t* p = block.data() + kDirNodeHeaderEnd;
  for (const DirEntry& e : leaf.entries) {
    Put64(p, kEntHash, e.hash);
    Put64(p, kEntIno, e.ino);
    p[kEntType] = static_cast<uint8_t>(e.type);
    p[kEntNameLen] = static_cast<uint8_t>(e.name.size());
    std::memcpy(p + kEntName, e.name.data(), e.name.size());
    p += DirEntrySize(e.name.size());
  }
  SealBlock(seed, block);
  return Status::Ok();
}

namespace {
Result<DirEntry> DecodeDirEntry(const uint8_t* p, size_t remaining, const std::string& what) {
  if (remaining < DirEntrySize(1)) return Status::Corrupted(what + ": truncated entry");
  DirEntry e;
  e.hash = Get64(p, kEntHash);
  e.ino = Get64(p, kEntIno);
  e.type = static_cast<FileType>(p[kEntType]);
  const size_t len = p[kEntNameLen];
  if (len == 0 || DirEntrySize(len) > remaining) {
    return Status::Corrupted(what + ": entry name length out of bounds");
  }
  e.name.assign(reinterpret_cast<const char*>(p + kEntName), len);
  if (!ValidateName(std::span<const uint8_t>(p + kEntName, len)).ok()) {
    return Status::Corrupted(what + ": invalid name in entry");
  }
  if (e.ino == 0) return Status::Corrupted(what + ": entry with inode 0");
  if (static_cast<uint8_t>(e.type) > static_cast<uint8_t>(FileType::kSymlink)) {
    return Status::Corrupted(what + ": bad file type in entry");
  }
  return e;
}
}  // namespace

Result<DirLeaf> DecodeDirLeaf(std::span<const uint8_t> block, uint64_t blocknr, uint64_t owner,
                              uint32_t seed) {
  RETURN_IF_ERROR(CheckBlock(block, BlockType::kDirLeaf, blocknr, seed));
  RETURN_IF_ERROR(CheckOwner(block, owner, "directory leaf"));
  const std::string what = "directory leaf at block " + std::to_string(blocknr);
  const size_t count = Get16(block.data(), kLeafCount);
  const size_t used = Get32(block.data(), kLeafUsed);
  if (used > block.size() - kDirNodeHeaderEnd) return Status::Corrupted(what + ": used too big");
  DirLeaf leaf;
  leaf.next_leaf = Get32(block.data(), kLeafNext);
  size_t off = 0;
  for (size_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(DirEntry e,
                     DecodeDirEntry(block.data() + kDirNodeHeaderEnd + off, used - off, what));
    off += DirEntrySize(e.name.size());
    if (!leaf.entries.empty() && !EntryLess(leaf.entries.back(), e)) {
      return Status::Corrupted(what + ": entries out of order or duplicated");
    }
    leaf.entries.push_back(std::move(e));
  }
  if (off != used) return Status::Corrupted(what + ": entry bytes do not add up to 'used'");
  return leaf;
}

Status EncodeDirIndex(const DirIndex& index, uint64_t blocknr, uint64_t owner, uint32_t seed,
                      std::span<uint8_t> block) {
  const uint16_t max = DirIndexMax(static_cast<uint32_t>(block.size()));
  if (index.entries.size() > max) return Status::Error(ENOSPC, "directory index node full");
  for (size_t i = 1; i < index.entries.size(); ++i) {
    if (index.entries[i].hash < index.entries[i - 1].hash) {
      return Status::Error(EINVAL, "directory index entries not sorted");
    }
  }
  std::fill(block.begin(), block.end(), 0);
  BlockHeader{BlockType::kDirIndex, blocknr, 0, owner}.Encode(block.data());
  Put16(block.data(), kIdxCount, static_cast<uint16_t>(index.entries.size()));
  Put16(block.data(), kIdxMax, max);
  Put16(block.data(), kIdxDepth, index.depth);
  for (size_t i = 0; i < index.entries.size(); ++i) {
    uint8_t* p = block.data() + kDirNodeHeaderEnd + i * kDirIndexEntrySize;
    Put64(p, 0, index.entries[i].hash);
    Put32(p, 8, index.entries[i].child);
    Put32(p, 12, index.entries[i].flags);
  }
  SealBlock(seed, block);
  return Status::Ok();
}

Result<DirIndex> DecodeDirIndex(std::span<const uint8_t> block, uint64_t blocknr,
                                uint64_t owner, uint32_t seed) {
  RETURN_IF_ERROR(CheckBlock(block, BlockType::kDirIndex, blocknr, seed));
  RETURN_IF_ERROR(CheckOwner(block, owner, "directory index node"));
  const std::string what = "directory index node at block " + std::to_string(blocknr);
  const uint16_t count = Get16(block.data(), kIdxCount);
  const uint16_t max = Get16(block.data(), kIdxMax);
  if (max != DirIndexMax(static_cast<uint32_t>(block.size())) || count > max || count == 0) {
    return Status::Corrupted(what + ": count/max out of range");
  }
  DirIndex index;
  index.depth = Get16(block.data(), kIdxDepth);
  if (index.depth > 8) return Status::Corrupted(what + ": depth too large");
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* p = block.data() + kDirNodeHeaderEnd + i * kDirIndexEntrySize;
    DirIndexEntry e{Get64(p, 0), Get32(p, 8), Get32(p, 12)};
    if (i > 0 && (e.hash < index.entries.back().hash ||
                  (e.hash == index.entries.back().hash && !(e.flags & kDirIndexContinued)))) {
      return Status::Corrupted(what + ": keys out of order");
    }
    index.entries.push_back(e);
  }
  return index;
}

Result<BlockType> PeekBlockType(std::span<const uint8_t> block) {
  ASSIGN_OR_RETURN(BlockHeader h, BlockHeader::Decode(block.data()));
  return h.type;
}

}  // namespace foliofs::format
