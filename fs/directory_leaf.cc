// Raw directory leaf access (see directory_leaf.h).
#include "fs/directory_leaf.h"

#include <algorithm>
#include <cstring>

#include "pagecache/base/endian.h"

namespace foliofs::fs::dirleaf {

using format::kDirNodeHeaderEnd;

uint16_t Count(const uint8_t* block) { return GetLe16(block + kCount); }
uint32_t Used(const uint8_t* block) { return GetLe32(block + kUsed); }
uint32_t NextLeaf(const uint8_t* block) { return GetLe32(block + kNext); }
uint64_t EntryHash(const uint8_t* block, size_t off) { return GetLe64(block + off + kEntHash); }
size_t EntrySizeAt(const uint8_t* block, size_t off) {
  return format::DirEntrySize(block[off + kEntNameLen]);
}

Status CheckLeafBlock(std::span<const uint8_t> block, uint64_t blocknr, uint64_t owner,
                      uint32_t seed) {
  RETURN_IF_ERROR(format::CheckBlock(block, format::BlockType::kDirLeaf, blocknr, seed));
  const uint8_t* b = block.data();
  if (GetLe64(b + kOwner) != owner) {
    return Status::Corrupted("leaf owned by inode " + std::to_string(GetLe64(b + kOwner)));
  }
  const size_t used = Used(b);
  if (used > block.size() - kDirNodeHeaderEnd) {
    return Status::Corrupted("leaf 'used' " + std::to_string(used) + " too big");
  }
  const size_t count = Count(b);
  size_t off = kDirNodeHeaderEnd;
  const size_t end = kDirNodeHeaderEnd + used;
  for (size_t i = 0; i < count; ++i) {
    if (end - off < format::DirEntrySize(1)) return Status::Corrupted("leaf entry truncated");
    const size_t len = b[off + kEntNameLen];
    if (len == 0 || format::DirEntrySize(len) > end - off) {
      return Status::Corrupted("leaf entry name length out of bounds");
    }
    off += format::DirEntrySize(len);
  }
  if (off != end) return Status::Corrupted("leaf entry bytes do not add up to 'used'");
  return Status::Ok();
}

int CompareEntry(const uint8_t* block, size_t off, uint64_t hash, std::span<const uint8_t> name) {
  const uint64_t h = EntryHash(block, off);
  if (h != hash) return h < hash ? -1 : 1;
  const size_t len = block[off + kEntNameLen];
  const int c = std::memcmp(block + off + kEntName, name.data(), std::min(len, name.size()));
  if (c != 0) return c;
  if (len == name.size()) return 0;
  return len < name.size() ? -1 : 1;
}

// A linear scan: a leaf holds at most a few hundred entries (~100 at 4 KiB),
// and most are passed over after comparing one u64 hash.
Slot FindSlot(const uint8_t* block, uint64_t hash, std::span<const uint8_t> name) {
  const size_t end = End(block);
  size_t off = kDirNodeHeaderEnd;
  while (off < end) {
    if (EntryHash(block, off) >= hash) {
      const int c = CompareEntry(block, off, hash, name);
      if (c == 0) return Slot{off, true};
      if (c > 0) return Slot{off, false};
    }
    off += EntrySizeAt(block, off);
  }
  return Slot{end, false};
}

format::DirEntry EntryAt(const uint8_t* block, size_t off) {
  format::DirEntry e;
  e.hash = EntryHash(block, off);
  e.ino = GetLe64(block + off + kEntIno);
  e.type = static_cast<format::FileType>(block[off + kEntType]);
  e.name.assign(reinterpret_cast<const char*>(block + off + kEntName), block[off + kEntNameLen]);
  return e;
}

void InsertEntry(std::span<uint8_t> block, size_t off, const format::DirEntry& entry) {
  uint8_t* b = block.data();
  const size_t end = End(b);
  const size_t size = format::DirEntrySize(entry.name.size());
  std::memmove(b + off + size, b + off, end - off);
  std::memset(b + off, 0, size);
  PutLe64(b + off + kEntHash, entry.hash);
  PutLe64(b + off + kEntIno, entry.ino);
  b[off + kEntType] = static_cast<uint8_t>(entry.type);
  b[off + kEntNameLen] = static_cast<uint8_t>(entry.name.size());
  std::memcpy(b + off + kEntName, entry.name.data(), entry.name.size());
  PutLe16(b + kCount, static_cast<uint16_t>(Count(b) + 1));
  PutLe32(b + kUsed, static_cast<uint32_t>(Used(b) + size));
}

void RemoveEntry(std::span<uint8_t> block, size_t off) {
  uint8_t* b = block.data();
  const size_t end = End(b);
  const size_t size = EntrySizeAt(b, off);
  std::memmove(b + off, b + off + size, end - off - size);
  std::memset(b + end - size, 0, size);  // bytes past 'used' stay zero, as Encode leaves them
  PutLe16(b + kCount, static_cast<uint16_t>(Count(b) - 1));
  PutLe32(b + kUsed, static_cast<uint32_t>(Used(b) - size));
}

void SetTarget(std::span<uint8_t> block, size_t off, uint64_t ino, format::FileType type) {
  PutLe64(block.data() + off + kEntIno, ino);
  block[off + kEntType] = static_cast<uint8_t>(type);
}

}  // namespace foliofs::fs::dirleaf
