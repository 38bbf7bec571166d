#include "journal/journal_format.h"

#include <cstring>
#include <string>

#include "pagecache/base/crc32c.h"

namespace foliofs::journal {

namespace {
constexpr size_t kChecksumOffset = 16;

uint32_t SuperblockChecksum(std::span<const uint8_t> rec) {
  uint8_t zero[4] = {0, 0, 0, 0};
  uint32_t c = Crc32c(0, rec.data(), kChecksumOffset);
  c = Crc32c(c, zero, 4);
  return Crc32c(c, rec.data() + kChecksumOffset + 4, kSuperblockBytes - kChecksumOffset - 4);
}

uint32_t BlockChecksum(uint32_t seed, std::span<const uint8_t> block) {
  uint8_t zero[4] = {0, 0, 0, 0};
  uint32_t c = Crc32c(seed, block.data(), kChecksumOffset);
  c = Crc32c(c, zero, 4);
  return Crc32c(c, block.data() + kChecksumOffset + 4, block.size() - kChecksumOffset - 4);
}
}  // namespace

void EncodeSuperblock(const JournalSuperblock& sb, std::span<uint8_t, kSuperblockBytes> out) {
  uint8_t* p = out.data();
  std::memset(p, 0, kSuperblockBytes);
  PutLe32(p + 0, kJournalMagic);
  PutLe32(p + 4, static_cast<uint32_t>(BlockType::kSuperblock));
  PutLe64(p + 8, sb.sequence);
  PutLe32(p + 20, sb.version);
  PutLe32(p + 24, sb.block_size);
  PutLe64(p + 32, sb.first_block);
  PutLe64(p + 40, sb.num_blocks);
  PutLe64(p + 48, sb.start);
  std::memcpy(p + 56, sb.uuid.data(), 16);
  PutLe32(p + 72, sb.compat);
  PutLe32(p + 76, sb.incompat);
  PutLe32(p + 80, sb.ro_compat);
  PutLe32(p + 84, sb.error);
  PutLe32(p + kChecksumOffset, SuperblockChecksum(out));
}

Result<JournalSuperblock> DecodeSuperblock(std::span<const uint8_t> in) {
  if (in.size() < kSuperblockBytes) return Status::Corrupted("journal superblock: short buffer");
  const uint8_t* p = in.data();
  if (GetLe32(p) != kJournalMagic)
    return Status::Corrupted("journal superblock: bad magic (not a foliofs journal)");
  if (GetLe32(p + 4) != static_cast<uint32_t>(BlockType::kSuperblock))
    return Status::Corrupted("journal superblock: bad block type");
  if (GetLe32(p + kChecksumOffset) != SuperblockChecksum(in.first(kSuperblockBytes)))
    return Status::Corrupted("journal superblock: checksum mismatch");
  JournalSuperblock sb;
  sb.sequence = GetLe64(p + 8);
  sb.version = GetLe32(p + 20);
  sb.block_size = GetLe32(p + 24);
  sb.first_block = GetLe64(p + 32);
  sb.num_blocks = GetLe64(p + 40);
  sb.start = GetLe64(p + 48);
  std::memcpy(sb.uuid.data(), p + 56, 16);
  sb.compat = GetLe32(p + 72);
  sb.incompat = GetLe32(p + 76);
  sb.ro_compat = GetLe32(p + 80);
  sb.error = GetLe32(p + 84);
  if (sb.version != kJournalVersion)
    return Status::Corrupted("journal superblock: unsupported version " + std::to_string(sb.version));
  if (sb.incompat != 0) return Status::Error(EOPNOTSUPP, "journal superblock: unknown incompat features");
  return sb;
}

uint32_t ChecksumSeed(const std::array<uint8_t, 16>& uuid) { return Crc32c(0, uuid.data(), 16); }

uint32_t TagChecksum(uint32_t seed, uint64_t tid, std::span<const uint8_t> data) {
  uint8_t t[8];
  PutLe64(t, tid);
  return Crc32c(Crc32c(seed, t, 8), data.data(), data.size());
}

size_t TagsPerDescriptor(uint32_t block_size) { return (block_size - kLogHeaderBytes) / kTagBytes; }
size_t RecordsPerRevokeBlock(uint32_t block_size) {
  return (block_size - kLogHeaderBytes) / kRevokeRecordBytes;
}

void EncodeLogHeader(const LogHeader& h, std::span<uint8_t> block) {
  uint8_t* p = block.data();
  PutLe32(p + 0, kJournalMagic);
  PutLe32(p + 4, static_cast<uint32_t>(h.type));
  PutLe64(p + 8, h.sequence);
  PutLe32(p + 16, 0);
  PutLe32(p + 20, h.count);
}

void EncodeTag(const BlockTag& tag, size_t index, std::span<uint8_t> block) {
  uint8_t* p = block.data() + kLogHeaderBytes + index * kTagBytes;
  PutLe64(p, tag.blocknr);
  PutLe32(p + 8, tag.flags);
  PutLe32(p + 12, tag.checksum);
}

void EncodeRevokeRecord(uint64_t blocknr, size_t index, std::span<uint8_t> block) {
  PutLe64(block.data() + kLogHeaderBytes + index * kRevokeRecordBytes, blocknr);
}

void EncodeCommitBody(uint64_t commit_time_ns, uint32_t total_tags, std::span<uint8_t> block) {
  PutLe64(block.data() + 24, commit_time_ns);
  PutLe32(block.data() + 32, total_tags);
}

void SealLogBlock(uint32_t seed, std::span<uint8_t> block) {
  PutLe32(block.data() + kChecksumOffset, BlockChecksum(seed, block));
}

bool DecodeLogHeader(uint32_t seed, std::span<const uint8_t> block, LogHeader* out) {
  const uint8_t* p = block.data();
  if (GetLe32(p) != kJournalMagic) return false;
  uint32_t type = GetLe32(p + 4);
  if (type < static_cast<uint32_t>(BlockType::kDescriptor) ||
      type > static_cast<uint32_t>(BlockType::kCommit))
    return false;
  if (GetLe32(p + kChecksumOffset) != BlockChecksum(seed, block)) return false;
  out->type = static_cast<BlockType>(type);
  out->sequence = GetLe64(p + 8);
  out->count = GetLe32(p + 20);
  const uint32_t bs = static_cast<uint32_t>(block.size());
  if (out->type == BlockType::kDescriptor && out->count > TagsPerDescriptor(bs)) return false;
  if (out->type == BlockType::kRevoke && out->count > RecordsPerRevokeBlock(bs)) return false;
  return true;
}

BlockTag DecodeTag(std::span<const uint8_t> block, size_t index) {
  const uint8_t* p = block.data() + kLogHeaderBytes + index * kTagBytes;
  return BlockTag{GetLe64(p), GetLe32(p + 8), GetLe32(p + 12)};
}

uint64_t DecodeRevokeRecord(std::span<const uint8_t> block, size_t index) {
  return GetLe64(block.data() + kLogHeaderBytes + index * kRevokeRecordBytes);
}

}  // namespace foliofs::journal
