// foliofs on-disk format v1: constants, records with explicit encode/decode,
// checksums, the layout computation and the read-only verifier (the start of fsck).
//
// fs/FORMAT.md is the specification; every constant and offset here points to it
// and the two change together. Decoders never cast raw buffers: each field is
// read little-endian at its documented offset. Decode() of a checksummed record
// verifies magic, type, own block number / inode number and checksum, and
// returns EUCLEAN (Status::Corrupted) with a message naming what is wrong.
//
// Thread safety: every function here is pure (or reads through the given
// BlockDevice, whose own contract applies); value types carry no shared state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "journal/journal_format.h"
#include "pagecache/base/status.h"
#include "pagecache/blockdev/block_device.h"

namespace foliofs::format {

// ---- Constants (FORMAT.md §1–§3) -------------------------------------------------
inline constexpr uint32_t kBlockMagic = 0x694C6F46;  // bytes "FoLi"
inline constexpr uint32_t kInodeMagic = 0x4F4E4946;  // bytes "FINO"
inline constexpr uint16_t kExtentMagic = 0xE17E;
inline constexpr uint32_t kFormatVersion = 1;

inline constexpr uint32_t kMinBlockSize = 1024;
inline constexpr uint32_t kMaxBlockSize = 65536;
inline constexpr uint32_t kDefaultBlockSize = 4096;
inline constexpr size_t kBlockHeaderSize = 32;
inline constexpr size_t kSuperblockSize = 1024;
inline constexpr size_t kInodeSize = 512;
inline constexpr size_t kGroupDescSize = 64;
inline constexpr uint64_t kRootIno = 2;
inline constexpr uint64_t kLostFoundIno = 11;
inline constexpr uint32_t kFirstIno = 11;
inline constexpr uint64_t kMaxBlocks = 1ULL << 48;
inline constexpr uint64_t kMaxLogicalBlocks = 1ULL << 32;
inline constexpr uint32_t kMaxExtentLength = (1U << 31) - 1;
inline constexpr size_t kMaxNameLen = 255;
inline constexpr size_t kLabelSize = 64;
inline constexpr uint64_t kMinJournalBlocks = journal::kMinJournalBlocks;  // FORMAT.md §12
inline constexpr uint64_t kMinFreeBlocks = 64;        // data blocks left after metadata
inline constexpr uint32_t kTailBackupGroup = 0xFFFFFFFF;

enum class BlockType : uint16_t {
  kSuperblock = 1,
  kGroupDesc = 2,
  kBlockBitmap = 3,
  kInodeBitmap = 4,
  kExtentNode = 5,
  kDirIndex = 6,
  kDirLeaf = 7,
  kXattr = 8,
};
const char* BlockTypeName(BlockType type);

// Feature masks (FORMAT.md §3).
inline constexpr uint32_t kCompatHasJournal = 0x1;
inline constexpr uint32_t kIncompatRecover = 0x1;
inline constexpr uint32_t kCompatSupported = kCompatHasJournal;
inline constexpr uint32_t kIncompatSupported = kIncompatRecover;
inline constexpr uint32_t kRoCompatSupported = 0;

inline constexpr uint16_t kStateClean = 0x1;
inline constexpr uint16_t kStateErrors = 0x2;
inline constexpr uint32_t kGroupItableZeroed = 0x1;

inline constexpr uint32_t kInodeFlagInlineData = 0x1;
inline constexpr uint32_t kInodeFlagImmutable = 0x10;
inline constexpr uint32_t kInodeFlagAppend = 0x20;
inline constexpr uint32_t kInodeFlagOrphan = 0x1000;

// Directory entry file types (ext4 FT_*).
enum class FileType : uint8_t {
  kUnknown = 0, kRegular = 1, kDirectory = 2, kCharDev = 3,
  kBlockDev = 4, kFifo = 5, kSocket = 6, kSymlink = 7,
};
FileType FileTypeFromMode(uint32_t mode);

using Uuid = std::array<uint8_t, 16>;

// ---- Checksums (FORMAT.md §2, §6) ------------------------------------------------
// Crc32c(0, uuid).
uint32_t ChecksumSeed(const Uuid& uuid);
// Checksum of a whole metadata block with its header checksum field taken as zero.
uint32_t BlockChecksum(uint32_t seed, std::span<const uint8_t> block);
// Stores BlockChecksum into the header of `block`.
void SealBlock(uint32_t seed, std::span<uint8_t> block);

// ---- Common block header (FORMAT.md §2) -----------------------------------------
struct BlockHeader {
  BlockType type = BlockType::kSuperblock;
  uint64_t blocknr = 0;
  uint32_t checksum = 0;  // filled by SealBlock; informational on decode
  uint64_t owner = 0;

  void Encode(uint8_t* out) const;  // 32 bytes, checksum field written as `checksum`
  static Result<BlockHeader> Decode(const uint8_t* in);  // checks the magic only
};
// Verifies magic, type, own block number and checksum of a whole block.
Status CheckBlock(std::span<const uint8_t> block, BlockType type, uint64_t blocknr,
                  uint32_t seed);

// ---- Superblock (FORMAT.md §3) ---------------------------------------------------
struct Superblock {
  uint64_t blocknr = 0;  // header: where this copy lives
  uint32_t feature_compat = kCompatHasJournal;
  uint32_t feature_incompat = 0;
  uint32_t feature_ro_compat = 0;
  uint32_t log_block_size = 12;
  uint64_t blocks_count = 0;
  uint64_t free_blocks_count = 0;
  uint64_t inodes_count = 0;
  uint64_t free_inodes_count = 0;
  uint32_t blocks_per_group = 0;
  uint32_t inodes_per_group = 0;
  uint32_t group_count = 0;
  uint32_t inode_size = kInodeSize;
  uint32_t gdt_blocks = 0;
  uint32_t first_ino = kFirstIno;
  uint64_t root_ino = kRootIno;
  uint64_t lost_found_ino = kLostFoundIno;
  uint64_t orphan_head = 0;
  uint64_t journal_first_block = 0;
  uint64_t journal_blocks = 0;
  uint64_t block_bitmap_start = 0;
  uint64_t inode_bitmap_start = 0;
  uint64_t inode_table_start = 0;
  uint32_t inode_table_blocks = 0;
  uint16_t state = kStateClean;
  Uuid uuid{};
  std::array<uint8_t, 16> hash_seed{};
  std::string label;  // <= 64 bytes, no NUL
  int64_t mkfs_time = 0;
  int64_t mount_time = 0;
  int64_t write_time = 0;
  uint32_t mount_count = 0;
  uint32_t backup_group = 0;
  uint32_t checksum_seed = 0;
  uint32_t version = kFormatVersion;
  uint64_t front_end = 0;

  uint32_t block_size() const { return 1U << log_block_size; }
  // Writes the 1024-byte record, checksum included.
  void Encode(uint8_t* out) const;
  // Checks magic, type, checksum, version, and field sanity (block size, inode
  // size, geometry consistency). Feature masks are NOT judged here; see CheckFeatures.
  static Result<Superblock> Decode(const uint8_t* in);
};
static_assert(kSuperblockSize == 1024);

enum class MountMode { kReadWrite, kReadOnly, kRefuse };
// Unknown incompat -> kRefuse; unknown ro_compat -> kReadOnly. `why` names the bits.
MountMode CheckFeatures(const Superblock& sb, std::string* why);

// ---- Group descriptors (FORMAT.md §4) --------------------------------------------
struct GroupDesc {
  uint64_t block_bitmap = 0;
  uint64_t inode_bitmap = 0;
  uint64_t inode_table = 0;
  uint32_t free_blocks = 0;
  uint32_t free_inodes = 0;
  uint32_t used_dirs = 0;
  uint32_t flags = 0;

  void Encode(uint8_t* out) const;  // 64 bytes
  static GroupDesc Decode(const uint8_t* in);
};
static_assert(kGroupDescSize == 64);
inline uint32_t DescsPerBlock(uint32_t block_size) {
  return (block_size - kBlockHeaderSize) / kGroupDescSize;
}

// ---- Bitmaps (FORMAT.md §5) ------------------------------------------------------
// Bits per bitmap block == blocks per group.
inline uint32_t BitsPerBitmap(uint32_t block_size) {
  return (block_size - kBlockHeaderSize) * 8;
}
inline bool TestBit(std::span<const uint8_t> bitmap_block, uint32_t bit) {
  return (bitmap_block[kBlockHeaderSize + bit / 8] >> (bit % 8)) & 1;
}
inline void SetBit(std::span<uint8_t> bitmap_block, uint32_t bit) {
  bitmap_block[kBlockHeaderSize + bit / 8] |= static_cast<uint8_t>(1U << (bit % 8));
}

// ---- Extent tree (FORMAT.md §7) --------------------------------------------------
inline constexpr size_t kExtentHeaderSize = 16;
inline constexpr size_t kExtentRecordSize = 24;
inline constexpr size_t kInodeExtentRootSize = 112;
inline constexpr uint16_t kInodeExtentRootMax = 4;
inline constexpr uint32_t kExtentUnwrittenBit = 1U << 31;

struct ExtentHeader {
  uint16_t entries = 0;
  uint16_t max = 0;
  uint16_t depth = 0;
};
struct Extent {  // leaf record
  uint64_t logical = 0;
  uint64_t physical = 0;
  uint32_t length = 0;  // blocks, 1..kMaxExtentLength
  bool unwritten = false;
};
struct ExtentIndex {  // index record
  uint64_t logical = 0;
  uint64_t child = 0;
};
// An extent node: the inline root (in i_block) or a whole extent block.
struct ExtentNode {
  ExtentHeader header;
  std::vector<Extent> extents;       // depth == 0
  std::vector<ExtentIndex> indexes;  // depth > 0
};
inline uint16_t ExtentBlockMax(uint32_t block_size) {
  return static_cast<uint16_t>((block_size - kBlockHeaderSize - kExtentHeaderSize) /
                               kExtentRecordSize);
}
// Encodes header + records into `out` of `capacity_bytes` (the 112-byte root or
// the part of a block after the common header). Fails if the records do not fit.
Status EncodeExtentNode(const ExtentNode& node, uint8_t* out, size_t capacity_bytes);
// Decodes and checks magic, entries <= max, max fits capacity, sorted keys.
Result<ExtentNode> DecodeExtentNode(const uint8_t* in, size_t capacity_bytes);
// A whole extent block (common header type 5 + node), sealed.
Status EncodeExtentBlock(const ExtentNode& node, uint64_t blocknr, uint64_t owner,
                         uint32_t seed, std::span<uint8_t> block);
Result<ExtentNode> DecodeExtentBlock(std::span<const uint8_t> block, uint64_t blocknr,
                                     uint64_t owner, uint32_t seed);

// ---- Inode (FORMAT.md §6) --------------------------------------------------------
struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  bool operator==(const Timespec&) const = default;
};
struct Inode {
  uint64_t ino = 0;
  uint32_t generation = 0;
  uint16_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint32_t flags = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;
  Timespec atime, mtime, ctime, crtime;
  uint64_t xattr_block = 0;
  uint64_t orphan_next = 0;
  uint64_t parent = 0;
  std::array<uint8_t, kInodeExtentRootSize> i_block{};  // extent root or inline data
  uint32_t xattr_inline_bytes = 0;
  std::array<uint8_t, 256> xattr_inline{};

  // Writes the 512-byte record with its checksum (seeded by fs seed, ino, generation).
  void Encode(uint32_t fs_seed, uint8_t* out) const;
  // Checks magic, own inode number `expect_ino`, checksum, nsec ranges.
  static Result<Inode> Decode(const uint8_t* in, uint32_t fs_seed, uint64_t expect_ino);
};
static_assert(kInodeSize == 512);
// True when a 512-byte record is all zero (never used).
bool InodeRecordIsZero(const uint8_t* in);
// An empty inline extent root (depth 0, 0 entries, max 4) for i_block.
std::array<uint8_t, kInodeExtentRootSize> EmptyExtentRoot();

// ---- Directories (FORMAT.md §8) --------------------------------------------------
// SipHash-2-4 of `name` keyed by the superblock hash_seed.
uint64_t NameHash(const std::array<uint8_t, 16>& hash_seed, std::span<const uint8_t> name);
// SipHash-2-4 (reference definition), exposed for the test vectors.
uint64_t SipHash24(const std::array<uint8_t, 16>& key, const void* data, size_t len);
// OK when `name` is 1..255 bytes without '/' or NUL and is not "." or "..".
Status ValidateName(std::span<const uint8_t> name);

inline constexpr size_t kDirNodeHeaderEnd = 48;  // entries start here in both node kinds
inline constexpr size_t kDirIndexEntrySize = 16;
inline constexpr uint32_t kDirIndexContinued = 0x1;

struct DirEntry {
  uint64_t hash = 0;
  uint64_t ino = 0;
  FileType type = FileType::kUnknown;
  std::string name;  // raw bytes
};
// Size an entry takes in a leaf: round_up(18 + name_len, 8).
inline size_t DirEntrySize(size_t name_len) { return (18 + name_len + 7) & ~size_t{7}; }

struct DirLeaf {
  uint32_t next_leaf = 0;
  std::vector<DirEntry> entries;  // sorted by (hash, name)
};
// Encodes a sealed leaf block; fails with ENOSPC if the entries do not fit,
// EINVAL if unsorted or a name is invalid.
Status EncodeDirLeaf(const DirLeaf& leaf, uint64_t blocknr, uint64_t owner, uint32_t seed,
                     std::span<uint8_t> block);
// Verifies the block, entry bounds, names and order. Hash values are not
// recomputed here (the caller knows the hash seed; see CheckDirLeafHashes).
Result<DirLeaf> DecodeDirLeaf(std::span<const uint8_t> block, uint64_t blocknr, uint64_t owner,
                              uint32_t seed);
// Bytes available for entries in one leaf block.
inline size_t DirLeafCapacity(uint32_t block_size) { return block_size - kDirNodeHeaderEnd; }

struct DirIndexEntry {
  uint64_t hash = 0;
  uint32_t child = 0;  // logical block within the directory
  uint32_t flags = 0;
};
struct DirIndex {
  uint16_t depth = 0;  // 0: children are leaves
  std::vector<DirIndexEntry> entries;  // sorted by hash; entry 0 has hash 0
};
inline uint16_t DirIndexMax(uint32_t block_size) {
  return static_cast<uint16_t>((block_size - kDirNodeHeaderEnd) / kDirIndexEntrySize);
}
Status EncodeDirIndex(const DirIndex& index, uint64_t blocknr, uint64_t owner, uint32_t seed,
                      std::span<uint8_t> block);
Result<DirIndex> DecodeDirIndex(std::span<const uint8_t> block, uint64_t blocknr,
                                uint64_t owner, uint32_t seed);
// Reads the type of a directory node block (leaf or index) without verifying it.
Result<BlockType> PeekBlockType(std::span<const uint8_t> block);

// ---- Xattrs (FORMAT.md §10) ------------------------------------------------------
enum class XattrIndex : uint8_t { kUser = 1, kTrusted = 2, kSecurity = 3, kSystem = 4 };
struct Xattr {
  XattrIndex index = XattrIndex::kUser;
  std::string name;   // without the namespace prefix
  std::string value;  // raw bytes
};
// Encodes entries packed (4-byte aligned) into `out`; ENOSPC if they do not fit.
// Returns the bytes used.
Result<size_t> EncodeXattrEntries(const std::vector<Xattr>& xattrs, uint8_t* out,
                                  size_t capacity);
Result<std::vector<Xattr>> DecodeXattrEntries(const uint8_t* in, size_t used);
Status EncodeXattrBlock(const std::vector<Xattr>& xattrs, uint64_t blocknr, uint64_t owner,
                        uint32_t seed, std::span<uint8_t> block);
Result<std::vector<Xattr>> DecodeXattrBlock(std::span<const uint8_t> block, uint64_t blocknr,
                                            uint64_t owner, uint32_t seed);

// ---- Layout (FORMAT.md §1) -------------------------------------------------------
struct Layout {
  uint32_t block_size = 0;
  uint64_t blocks_count = 0;
  uint32_t blocks_per_group = 0;
  uint32_t inodes_per_group = 0;
  uint32_t group_count = 0;
  uint32_t gdt_blocks = 0;
  uint64_t inodes_count = 0;
  uint32_t inode_table_blocks = 0;  // per group
  uint64_t block_bitmap_start = 0;
  uint64_t inode_bitmap_start = 0;
  uint64_t inode_table_start = 0;
  uint64_t journal_first_block = 0;
  uint64_t journal_blocks = 0;
  uint64_t front_end = 0;            // first data block
  std::vector<uint64_t> backup_blocks;  // first block of every sb+GDT copy (tail last)
  std::vector<uint32_t> backup_groups;  // group of each copy (kTailBackupGroup for tail)

  uint64_t group_first_block(uint32_t g) const { return uint64_t{g} * blocks_per_group; }
  uint32_t group_blocks(uint32_t g) const;
  // Blocks of every metadata structure, in block order (front region + backups).
  uint64_t metadata_blocks() const;
};
// inode_count 0 = default (one inode per 16 KiB); journal_blocks 0 = default
// (FORMAT.md §12). Errors: EINVAL for a bad block size / counts, ENOSPC with the
// minimum size in the message for a device that is too small.
Result<Layout> ComputeLayout(uint64_t device_bytes, uint32_t block_size, uint64_t inode_count,
                             uint64_t journal_blocks);
// Smallest device (bytes) ComputeLayout accepts for these parameters (0 if none).
uint64_t MinimumDeviceBytes(uint32_t block_size, uint64_t inode_count, uint64_t journal_blocks);
// The default journal size for a filesystem of `blocks` blocks.
uint64_t DefaultJournalBlocks(uint64_t blocks);
// Superblock fields that derive from the layout (counts are the caller's).
void ApplyLayout(const Layout& layout, Superblock* sb);
// Rebuilds the layout a superblock describes (fsck, mount) and checks it matches.
Result<Layout> LayoutFromSuperblock(const Superblock& sb);

// ---- Making a filesystem (mkfs; FORMAT.md §13) ----------------------------------
struct MakeOptions {
  std::string label;  // <= kLabelSize bytes, no NUL
  Uuid uuid{};        // the caller picks it (random unless -U)
  std::array<uint8_t, 16> hash_seed{};
  int64_t now = 0;    // seconds since the epoch, for every timestamp
  uint32_t root_uid = 0, root_gid = 0;
  // Initialises the journal region (journal::FormatJournal in mkfs). May be
  // empty in tests, which then get a region of zeros.
  std::function<Status(BlockDevice& dev, uint64_t first_block, uint64_t num_blocks,
                       uint32_t block_size, const Uuid& uuid)>
      format_journal;
  // Called after each group's inode table is zeroed: ("inode tables", done, total).
  std::function<void(const char* stage, uint64_t done, uint64_t total)> progress;
};
// Writes a complete, clean filesystem with `layout` onto `dev` (root and
// lost+found, bitmaps, GDT, backups, journal, then the primary superblock last,
// FUA, between flushes). Returns the superblock written.
Result<Superblock> MakeFilesystem(BlockDevice& dev, const Layout& layout,
                                  const MakeOptions& options);

// ---- Verifier (the start of fsck) ------------------------------------------------
struct VerifyOptions {
  bool check_backups = true;
  bool check_inodes = true;  // walk inode tables, trees, directories, link counts
  size_t max_findings = 1000;
};
struct Finding {
  enum class Severity { kWarning, kError };
  Severity severity = Severity::kError;
  std::string message;
};
struct VerifyReport {
  std::vector<Finding> findings;
  bool superblock_ok = false;  // the primary superblock decoded (geometry known)
  Superblock sb;               // valid when superblock_ok
  uint64_t inodes_in_use = 0;
  uint64_t blocks_in_use = 0;
  uint64_t directories = 0;
  size_t errors() const;
  bool clean() const { return errors() == 0; }
};
// Reads the filesystem on `dev` without writing and reports every inconsistency
// it finds. Returns an error Status only for operational failures (I/O errors
// on the device); corruption is reported as findings.
Result<VerifyReport> VerifyFilesystem(BlockDevice& dev, const VerifyOptions& options = {});

// Reads and decodes the primary superblock of `dev` (fills block size itself).
Result<Superblock> ReadSuperblock(BlockDevice& dev);

}  // namespace foliofs::format
