// Internal to fs/directory*.cc: raw access to a directory leaf block
// (FORMAT.md §8) for the hot paths — lookup scans, single-entry inserts and
// removals — without decoding every entry into a std::string.
//
// Offsets are from the start of the block. CheckLeafBlock must have accepted
// a block before any other function here touches it: it guarantees that the
// `count` entries lie inside `used` bytes and add up to exactly `used`, so
// the walks below stay in bounds. Entry order is not checked here (Decode /
// Directory::Check do that); a misordered leaf gives wrong answers, never
// out-of-bounds access.
//
// Thread safety: pure functions over the caller's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fs/format/format.h"
#include "pagecache/base/status.h"

namespace foliofs::fs::dirleaf {

inline constexpr size_t kCount = 32, kUsed = 36, kNext = 40;  // leaf header fields
inline constexpr size_t kEntHash = 0, kEntIno = 8, kEntType = 16, kEntNameLen = 17,
                        kEntName = 18;
inline constexpr size_t kOwner = 24;  // common header

uint16_t Count(const uint8_t* block);
uint32_t Used(const uint8_t* block);
uint32_t NextLeaf(const uint8_t* block);
// Byte offset just past the last entry.
inline size_t End(const uint8_t* block) { return format::kDirNodeHeaderEnd + Used(block); }
uint64_t EntryHash(const uint8_t* block, size_t off);
size_t EntrySizeAt(const uint8_t* block, size_t off);

// Checksum, type, block number, owner, and entry bounds (see above). Errors
// are EUCLEAN with a message naming what is wrong (the caller adds where).
Status CheckLeafBlock(std::span<const uint8_t> block, uint64_t blocknr, uint64_t owner,
                      uint32_t seed);

// <0, 0, >0 as the entry at `off` sorts before, equal to, after (hash, name).
int CompareEntry(const uint8_t* block, size_t off, uint64_t hash, std::span<const uint8_t> name);

struct Slot {
  size_t offset = 0;  // the entry's offset if found, else where it would go
  bool found = false;
};
Slot FindSlot(const uint8_t* block, uint64_t hash, std::span<const uint8_t> name);

format::DirEntry EntryAt(const uint8_t* block, size_t off);

// These change the bytes only; the caller holds write access and seals.
// Precondition of InsertEntry: the entry fits (Used + size <= capacity).
void InsertEntry(std::span<uint8_t> block, size_t off, const format::DirEntry& entry);
void RemoveEntry(std::span<uint8_t> block, size_t off);
void SetTarget(std::span<uint8_t> block, size_t off, uint64_t ino, format::FileType type);

}  // namespace foliofs::fs::dirleaf
