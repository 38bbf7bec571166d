// Block header, checksums, superblock and group descriptors (FORMAT.md §2–§4).
#include <sys/stat.h>

#include <cstring>

#include "fs/format/codec.h"
#include "fs/format/format.h"
#include "pagecache/base/crc32c.h"

namespace foliofs::format {

using namespace codec;

namespace {
constexpr uint8_t kZero4[4] = {0, 0, 0, 0};

// Superblock record offsets (FORMAT.md §3).
constexpr size_t kSbCompat = 32, kSbIncompat = 36, kSbRoCompat = 40, kSbLogBlockSize = 44;
constexpr size_t kSbBlocks = 48, kSbFreeBlocks = 56, kSbInodes = 64, kSbFreeInodes = 72;
constexpr size_t kSbBpg = 80, kSbIpg = 84, kSbGroups = 88, kSbInodeSize = 92;
constexpr size_t kSbGdtBlocks = 96, kSbFirstIno = 100, kSbRootIno = 104, kSbLostFound = 112;
constexpr size_t kSbOrphan = 120, kSbJournalFirst = 128, kSbJournalBlocks = 136;
constexpr size_t kSbBbStart = 144, kSbIbStart = 152, kSbItStart = 160, kSbItBlocks = 168;
constexpr size_t kSbState = 172, kSbUuid = 176, kSbHashSeed = 192, kSbLabel = 208;
constexpr size_t kSbMkfsTime = 272, kSbMountTime = 280, kSbWriteTime = 288;
constexpr size_t kSbMountCount = 296, kSbBackupGroup = 300, kSbCsumSeed = 304;
constexpr size_t kSbVersion = 308, kSbFrontEnd = 312;
static_assert(kSbFrontEnd + 8 <= kSuperblockSize);
}  // namespace

const char* BlockTypeName(BlockType type) {
  switch (type) {
    case BlockType::kSuperblock: return "superblock";
    case BlockType::kGroupDesc: return "group descriptor block";
    case BlockType::kBlockBitmap: return "block bitmap";
    case BlockType::kInodeBitmap: return "inode bitmap";
    case BlockType::kExtentNode: return "extent node";
    case BlockType::kDirIndex: return "directory index node";
    case BlockType::kDirLeaf: return "directory leaf";
    case BlockType::kXattr: return "xattr block";
  }
  return "unknown block type";
}

FileType FileTypeFromMode(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return FileType::kRegular;
    case S_IFDIR: return FileType::kDirectory;
    case S_IFCHR: return FileType::kCharDev;
    case S_IFBLK: return FileType::kBlockDev;
    case S_IFIFO: return FileType::kFifo;
    case S_IFSOCK: return FileType::kSocket;
    case S_IFLNK: return FileType::kSymlink;
    default: return FileType::kUnknown;
  }
}

uint32_t ChecksumSeed(const Uuid& uuid) { return Crc32c(0, uuid.data(), uuid.size()); }

// The checksum field (bytes 16..19) counts as zero.
uint32_t BlockChecksum(uint32_t seed, std::span<const uint8_t> block) {
  uint32_t c = Crc32c(seed, block.data(), kHdrChecksum);
  c = Crc32c(c, kZero4, 4);
  return Crc32c(c, block.data() + kHdrChecksum + 4, block.size() - kHdrChecksum - 4);
}

void SealBlock(uint32_t seed, std::span<uint8_t> block) {
  Put32(block.data(), kHdrChecksum, BlockChecksum(seed, block));
}

void BlockHeader::Encode(uint8_t* out) const {
  std::memset(out, 0, kBlockHeaderSize);
  Put32(out, kHdrMagic, kBlockMagic);
  Put16(out, kHdrType, static_cast<uint16_t>(type));
  Put64(out, kHdrBlocknr, blocknr);
  Put32(out, kHdrChecksum, checksum);
  Put64(out, kHdrOwner, owner);
}

Result<BlockHeader> BlockHeader::Decode(const uint8_t* in) {
  if (Get32(in, kHdrMagic) != kBlockMagic) return Status::Corrupted("bad block magic");
  BlockHeader h;
  h.type = static_cast<BlockType>(Get16(in, kHdrType));
  h.blocknr = Get64(in, kHdrBlocknr);
  h.checksum = Get32(in, kHdrChecksum);
  h.owner = Get64(in, kHdrOwner);
  return h;
}

Status CheckBlock(std::span<const uint8_t> block, BlockType type, uint64_t blocknr,
                  uint32_t seed) {
  const std::string what = std::string(BlockTypeName(type)) + " at block " +
                           std::to_string(blocknr);
  ASSIGN_OR_RETURN(BlockHeader h, BlockHeader::Decode(block.data()));
  if (h.type != type) {
    return Status::Corrupted(what + ": block type " +
                             std::to_string(static_cast<unsigned>(h.type)) + ", expected " +
                             std::to_string(static_cast<unsigned>(type)));
  }
  if (h.blocknr != blocknr) {
    return Status::Corrupted(what + ": header names block " + std::to_string(h.blocknr) +
                             " (misdirected write?)");
  }
  if (h.checksum != BlockChecksum(seed, block)) {
    return Status::Corrupted(what + ": checksum mismatch");
  }
  return Status::Ok();
}

void Superblock::Encode(uint8_t* out) const {
  std::memset(out, 0, kSuperblockSize);
  BlockHeader{BlockType::kSuperblock, blocknr, 0, 0}.Encode(out);
  Put32(out, kSbCompat, feature_compat);
  Put32(out, kSbIncompat, feature_incompat);
  Put32(out, kSbRoCompat, feature_ro_compat);
  Put32(out, kSbLogBlockSize, log_block_size);
  Put64(out, kSbBlocks, blocks_count);
  Put64(out, kSbFreeBlocks, free_blocks_count);
  Put64(out, kSbInodes, inodes_count);
  Put64(out, kSbFreeInodes, free_inodes_count);
  Put32(out, kSbBpg, blocks_per_group);
  Put32(out, kSbIpg, inodes_per_group);
  Put32(out, kSbGroups, group_count);
  Put32(out, kSbInodeSize, inode_size);
  Put32(out, kSbGdtBlocks, gdt_blocks);
  Put32(out, kSbFirstIno, first_ino);
  Put64(out, kSbRootIno, root_ino);
  Put64(out, kSbLostFound, lost_found_ino);
  Put64(out, kSbOrphan, orphan_head);
  Put64(out, kSbJournalFirst, journal_first_block);
  Put64(out, kSbJournalBlocks, journal_blocks);
  Put64(out, kSbBbStart, block_bitmap_start);
  Put64(out, kSbIbStart, inode_bitmap_start);
  Put64(out, kSbItStart, inode_table_start);
  Put32(out, kSbItBlocks, inode_table_blocks);
  Put16(out, kSbState, state);
  std::memcpy(out + kSbUuid, uuid.data(), 16);
  std::memcpy(out + kSbHashSeed, hash_seed.data(), 16);
  std::memcpy(out + kSbLabel, label.data(), std::min(label.size(), kLabelSize));
  Put64(out, kSbMkfsTime, static_cast<uint64_t>(mkfs_time));
  Put64(out, kSbMountTime, static_cast<uint64_t>(mount_time));
  Put64(out, kSbWriteTime, static_cast<uint64_t>(write_time));
  Put32(out, kSbMountCount, mount_count);
  Put32(out, kSbBackupGroup, backup_group);
  Put32(out, kSbCsumSeed, checksum_seed);
  Put32(out, kSbVersion, version);
  Put64(out, kSbFrontEnd, front_end);
  Put32(out, kHdrChecksum, BlockChecksum(0, std::span<const uint8_t>(out, kSuperblockSize)));
}

namespace {
void DecodeSuperblockFields(const uint8_t* in, Superblock* sb) {
  sb->blocknr = Get64(in, kHdrBlocknr);
  sb->feature_compat = Get32(in, kSbCompat);
  sb->feature_incompat = Get32(in, kSbIncompat);
  sb->feature_ro_compat = Get32(in, kSbRoCompat);
  sb->log_block_size = Get32(in, kSbLogBlockSize);
  sb->blocks_count = Get64(in, kSbBlocks);
  sb->free_blocks_count = Get64(in, kSbFreeBlocks);
  sb->inodes_count = Get64(in, kSbInodes);
  sb->free_inodes_count = Get64(in, kSbFreeInodes);
  sb->blocks_per_group = Get32(in, kSbBpg);
  sb->inodes_per_group = Get32(in, kSbIpg);
  sb->group_count = Get32(in, kSbGroups);
  sb->inode_size = Get32(in, kSbInodeSize);
  sb->gdt_blocks = Get32(in, kSbGdtBlocks);
  sb->first_ino = Get32(in, kSbFirstIno);
  sb->root_ino = Get64(in, kSbRootIno);
  sb->lost_found_ino = Get64(in, kSbLostFound);
  sb->orphan_head = Get64(in, kSbOrphan);
  sb->journal_first_block = Get64(in, kSbJournalFirst);
  sb->journal_blocks = Get64(in, kSbJournalBlocks);
  sb->block_bitmap_start = Get64(in, kSbBbStart);
  sb->inode_bitmap_start = Get64(in, kSbIbStart);
  sb->inode_table_start = Get64(in, kSbItStart);
  sb->inode_table_blocks = Get32(in, kSbItBlocks);
  sb->state = Get16(in, kSbState);
  std::memcpy(sb->uuid.data(), in + kSbUuid, 16);
  std::memcpy(sb->hash_seed.data(), in + kSbHashSeed, 16);
  const char* label = reinterpret_cast<const char*>(in + kSbLabel);
  sb->label.assign(label, strnlen(label, kLabelSize));
  sb->mkfs_time = static_cast<int64_t>(Get64(in, kSbMkfsTime));
  sb->mount_time = static_cast<int64_t>(Get64(in, kSbMountTime));
  sb->write_time = static_cast<int64_t>(Get64(in, kSbWriteTime));
  sb->mount_count = Get32(in, kSbMountCount);
  sb->backup_group = Get32(in, kSbBackupGroup);
  sb->checksum_seed = Get32(in, kSbCsumSeed);
  sb->version = Get32(in, kSbVersion);
  sb->front_end = Get64(in, kSbFrontEnd);
}

Status CheckSuperblockSanity(const Superblock& sb) {
  if (sb.version != kFormatVersion) {
    return Status::Corrupted("superblock: unsupported format version " +
                             std::to_string(sb.version));
  }
  if (sb.log_block_size < 10 || sb.log_block_size > 16) {
    return Status::Corrupted("superblock: bad log_block_size " +
                             std::to_string(sb.log_block_size));
  }
  if (sb.inode_size != kInodeSize) {
    return Status::Corrupted("superblock: bad inode size " + std::to_string(sb.inode_size));
  }
  if (sb.checksum_seed != ChecksumSeed(sb.uuid)) {
    return Status::Corrupted("superblock: checksum_seed does not match the uuid");
  }
  if (sb.blocks_count == 0 || sb.blocks_count > kMaxBlocks || sb.group_count == 0 ||
      sb.blocks_per_group == 0 || sb.inodes_per_group == 0) {
    return Status::Corrupted("superblock: zero or out-of-range geometry");
  }
  return Status::Ok();
}
}  // namespace

Result<Superblock> Superblock::Decode(const uint8_t* in) {
  if (Get32(in, kHdrMagic) != kBlockMagic ||
      Get16(in, kHdrType) != static_cast<uint16_t>(BlockType::kSuperblock)) {
    return Status::Corrupted("no foliofs superblock (bad magic)");
  }
  const uint32_t stored = Get32(in, kHdrChecksum);
  if (stored != BlockChecksum(0, std::span<const uint8_t>(in, kSuperblockSize))) {
    return Status::Corrupted("superblock checksum mismatch");
  }
  Superblock sb;
  DecodeSuperblockFields(in, &sb);
  RETURN_IF_ERROR(CheckSuperblockSanity(sb));
  return sb;
}

MountMode CheckFeatures(const Superblock& sb, std::string* why) {
  const uint32_t bad_incompat = sb.feature_incompat & ~kIncompatSupported;
  const uint32_t bad_ro = sb.feature_ro_compat & ~kRoCompatSupported;
  char buf[96];
  if (bad_incompat != 0) {
    snprintf(buf, sizeof buf, "unknown incompatible features 0x%x", bad_incompat);
    if (why != nullptr) *why = buf;
    return MountMode::kRefuse;
  }
  if (bad_ro != 0) {
    snprintf(buf, sizeof buf, "unknown read-only-compatible features 0x%x", bad_ro);
    if (why != nullptr) *why = buf;
    return MountMode::kReadOnly;
  }
  return MountMode::kReadWrite;
}

void GroupDesc::Encode(uint8_t* out) const {
  std::memset(out, 0, kGroupDescSize);
  Put64(out, 0, block_bitmap);
  Put64(out, 8, inode_bitmap);
  Put64(out, 16, inode_table);
  Put32(out, 24, free_blocks);
  Put32(out, 28, free_inodes);
  Put32(out, 32, used_dirs);
  Put32(out, 36, flags);
}

GroupDesc GroupDesc::Decode(const uint8_t* in) {
  GroupDesc d;
  d.block_bitmap = Get64(in, 0);
  d.inode_bitmap = Get64(in, 8);
  d.inode_table = Get64(in, 16);
  d.free_blocks = Get32(in, 24);
  d.free_inodes = Get32(in, 28);
  d.used_dirs = Get32(in, 32);
  d.flags = Get32(in, 36);
  return d;
}

}  // namespace foliofs::format
