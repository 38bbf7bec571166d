// On-disk records of the foliofs journal (journal/JOURNAL.md is the spec).
//
// Every multi-byte field is little-endian and encoded/decoded explicitly; no
// raw buffer is ever cast to a struct. Offsets are given in the comments.
//
// The journal region is `num_blocks` fs blocks. Block 0 is the journal
// superblock; blocks 1..num_blocks-1 form the circular log. Every log block
// that is not a copy of a metadata block starts with a LogHeader (magic, type,
// sequence = tid, crc32c over the whole block, count).
//
// Thread safety: pure functions and value types.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "pagecache/base/endian.h"
#include "pagecache/base/status.h"

namespace foliofs::journal {

inline constexpr uint32_t kJournalMagic = 0x4A4C4F46;  // bytes "FOLJ"
inline constexpr uint32_t kJournalVersion = 1;
inline constexpr uint64_t kMinJournalBlocks = 64;
inline constexpr uint32_t kMinJournalBlockSize = 1024;
inline constexpr uint32_t kMaxJournalBlockSize = 65536;

enum class BlockType : uint32_t {
  kSuperblock = 1,
  kDescriptor = 2,
  kRevoke = 3,
  kCommit = 4,
};

// Superblock record: the first 512 bytes of region block 0 (one sector, so an
// update is never torn); the rest of the block is zero.
//   0 u32 magic        4 u32 type (=1)      8 u64 sequence (tid at `start`)
//  16 u32 checksum    20 u32 version       24 u32 block_size   28 u32 reserved
//  32 u64 first_block 40 u64 num_blocks    48 u64 start (log block; 0 = empty)
//  56 u8[16] uuid     72 u32 compat        76 u32 incompat     80 u32 ro_compat
//  84 u32 errno       88..511 zero
// checksum = Crc32c(0, bytes[0,512) with the checksum field zero).
inline constexpr size_t kSuperblockBytes = 512;
struct JournalSuperblock {
  uint64_t sequence = 0;
  uint32_t version = kJournalVersion;
  uint32_t block_size = 0;
  uint64_t first_block = 0;
  uint64_t num_blocks = 0;
  uint64_t start = 0;
  std::array<uint8_t, 16> uuid{};
  uint32_t compat = 0, incompat = 0, ro_compat = 0;
  uint32_t error = 0;
};
void EncodeSuperblock(const JournalSuperblock& sb, std::span<uint8_t, kSuperblockBytes> out);
// Checks magic, type, checksum and version; EUCLEAN with a message otherwise.
Result<JournalSuperblock> DecodeSuperblock(std::span<const uint8_t> in);

// Header of descriptor, revoke and commit blocks:
//   0 u32 magic  4 u32 type  8 u64 sequence  16 u32 checksum  20 u32 count
// checksum = Crc32c(seed, whole block with the checksum field zero), where
// seed = ChecksumSeed(uuid). count: tags (descriptor), records (revoke),
// log blocks of the transaction before the commit block (commit).
inline constexpr size_t kLogHeaderBytes = 24;
struct LogHeader {
  BlockType type = BlockType::kDescriptor;
  uint64_t sequence = 0;
  uint32_t count = 0;
};

// Descriptor tag, at 24 + 16*i:  0 u64 blocknr  8 u32 flags  12 u32 checksum
// checksum = Crc32c(Crc32c(seed, tid as u64 LE), original block bytes).
inline constexpr size_t kTagBytes = 16;
inline constexpr uint32_t kTagFlagEscaped = 1;  // first 4 bytes of the copy were the magic; zeroed in the log
struct BlockTag {
  uint64_t blocknr = 0;
  uint32_t flags = 0;
  uint32_t checksum = 0;
};
// Revoke record, at 24 + 8*i: u64 blocknr.
inline constexpr size_t kRevokeRecordBytes = 8;
// Commit body: 24 u64 commit_time_ns, 32 u32 total tags, rest zero.

uint32_t ChecksumSeed(const std::array<uint8_t, 16>& uuid);
uint32_t TagChecksum(uint32_t seed, uint64_t tid, std::span<const uint8_t> data);
size_t TagsPerDescriptor(uint32_t block_size);
size_t RecordsPerRevokeBlock(uint32_t block_size);

// Fill `block` (zeroed first) as a log block of `header.type`; then SealLogBlock.
void EncodeLogHeader(const LogHeader& h, std::span<uint8_t> block);
void EncodeTag(const BlockTag& tag, size_t index, std::span<uint8_t> block);
void EncodeRevokeRecord(uint64_t blocknr, size_t index, std::span<uint8_t> block);
void EncodeCommitBody(uint64_t commit_time_ns, uint32_t total_tags, std::span<uint8_t> block);
// Computes and stores the block checksum. Must be the last change to `block`.
void SealLogBlock(uint32_t seed, std::span<uint8_t> block);

// Decodes a log block header if magic and checksum are valid and the count
// fits the block; std::nullopt-like: returns false otherwise.
bool DecodeLogHeader(uint32_t seed, std::span<const uint8_t> block, LogHeader* out);
BlockTag DecodeTag(std::span<const uint8_t> block, size_t index);
uint64_t DecodeRevokeRecord(std::span<const uint8_t> block, size_t index);

}  // namespace foliofs::journal
