// Inode records (FORMAT.md §6) and extent tree nodes (§7).
#include <algorithm>
#include <cstring>

#include "fs/format/codec.h"
#include "fs/format/format.h"
#include "pagecache/base/crc32c.h"

namespace foliofs::format {

using namespace codec;

namespace {
// Inode record offsets (FORMAT.md §6).
constexpr size_t kInMagic = 0, kInChecksum = 4, kInIno = 8, kInGeneration = 16;
constexpr size_t kInMode = 20, kInUid = 24, kInGid = 28, kInNlink = 32, kInFlags = 36;
constexpr size_t kInSize = 40, kInBlocks = 48, kInAtime = 56, kInMtime = 64, kInCtime = 72;
constexpr size_t kInCrtime = 80, kInAtimeNs = 88, kInMtimeNs = 92, kInCtimeNs = 96;
constexpr size_t kInCrtimeNs = 100, kInXattrBlock = 104, kInOrphanNext = 112;
constexpr size_t kInParent = 120, kInIBlock = 128, kInXattrBytes = 240, kInXattrInline = 256;
static_assert(kInIBlock + kInodeExtentRootSize == kInXattrBytes);
static_assert(kInXattrInline + 256 == kInodeSize);
constexpr uint32_t kNsecPerSec = 1000000000;

uint32_t InodeChecksum(uint32_t fs_seed, uint64_t ino, uint32_t generation,
                       const uint8_t* rec) {
  uint8_t key[12];
  Put64(key, 0, ino);
  Put32(key, 8, generation);
  const uint8_t zero[4] = {0, 0, 0, 0};
  uint32_t c = Crc32c(Crc32c(fs_seed, key, sizeof key), rec, kInChecksum);
  c = Crc32c(c, zero, 4);
  return Crc32c(c, rec + kInChecksum + 4, kInodeSize - kInChecksum - 4);
}

void PutTime(uint8_t* out, size_t sec_off, size_t nsec_off, const Timespec& t) {
  Put64(out, sec_off, static_cast<uint64_t>(t.sec));
  Put32(out, nsec_off, t.nsec);
}
Timespec GetTime(const uint8_t* in, size_t sec_off, size_t nsec_off) {
  return Timespec{static_cast<int64_t>(Get64(in, sec_off)), Get32(in, nsec_off)};
}
}  // namespace

void Inode::Encode(uint32_t fs_seed, uint8_t* out) const {
  std::memset(out, 0, kInodeSize);
  Put32(out, kInMagic, kInodeMagic);
  Put64(out, kInIno, ino);
  Put32(out, kInGeneration, generation);
  Put16(out, kInMode, mode);
  Put32(out, kInUid, uid);
  Put32(out, kInGid, gid);
  Put32(out, kInNlink, nlink);
  Put32(out, kInFlags, flags);
  Put64(out, kInSize, size);
  Put64(out, kInBlocks, blocks);
  PutTime(out, kInAtime, kInAtimeNs, atime);
  PutTime(out, kInMtime, kInMtimeNs, mtime);
  PutTime(out, kInCtime, kInCtimeNs, ctime);
  PutTime(out, kInCrtime, kInCrtimeNs, crtime);
  Put64(out, kInXattrBlock, xattr_block);
  Put64(out, kInOrphanNext, orphan_next);
  Put64(out, kInParent, parent);
  std::memcpy(out + kInIBlock, i_block.data(), i_block.size());
  Put32(out, kInXattrBytes, xattr_inline_bytes);
  std::memcpy(out + kInXattrInline, xattr_inline.data(), xattr_inline.size());
  Put32(out, kInChecksum, InodeChecksum(fs_seed, ino, generation, out));
}

Result<Inode> Inode::Decode(const uint8_t* in, uint32_t fs_seed, uint64_t expect_ino) {
  const std::string what = "inode " + std::to_string(expect_ino);
  if (Get32(in, kInMagic) != kInodeMagic) return Status::Corrupted(what + ": bad magic");
  Inode n;
  n.ino = Get64(in, kInIno);
  if (n.ino != expect_ino) {
    return Status::Corrupted(what + ": record names inode " + std::to_string(n.ino));
  }
  n.generation = Get32(in, kInGeneration);
  if (Get32(in, kInChecksum) != InodeChecksum(fs_seed, n.ino, n.generation, in)) {
    return Status::Corrupted(what + ": checksum mismatch");
  }
  n.mode = Get16(in, kInMode);
  n.uid = Get32(in, kInUid);
  n.gid = Get32(in, kInGid);
  n.nlink = Get32(in, kInNlink);
  n.flags = Get32(in, kInFlags);
  n.size = Get64(in, kInSize);
  n.blocks = Get64(in, kInBlocks);
  n.atime = GetTime(in, kInAtime, kInAtimeNs);
  n.mtime = GetTime(in, kInMtime, kInMtimeNs);
  n.ctime = GetTime(in, kInCtime, kInCtimeNs);
  n.crtime = GetTime(in, kInCrtime, kInCrtimeNs);
  for (const Timespec* t : {&n.atime, &n.mtime, &n.ctime, &n.crtime}) {
    if (t->nsec >= kNsecPerSec) return Status::Corrupted(what + ": nanoseconds out of range");
  }
  n.xattr_block = Get64(in, kInXattrBlock);
  n.orphan_next = Get64(in, kInOrphanNext);
  n.parent = Get64(in, kInParent);
  std::memcpy(n.i_block.data(), in + kInIBlock, n.i_block.size());
  n.xattr_inline_bytes = Get32(in, kInXattrBytes);
  if (n.xattr_inline_bytes > n.xattr_inline.size()) {
    return Status::Corrupted(what + ": inline xattr size out of range");
  }
  std::memcpy(n.xattr_inline.data(), in + kInXattrInline, n.xattr_inline.size());
  return n;
}

bool InodeRecordIsZero(const uint8_t* in) {
  return std::all_of(in, in + kInodeSize, [](uint8_t b) { return b == 0; });
}

std::array<uint8_t, kInodeExtentRootSize> EmptyExtentRoot() {
  std::array<uint8_t, kInodeExtentRootSize> root{};
  ExtentNode node;
  node.header.max = kInodeExtentRootMax;
  (void)EncodeExtentNode(node, root.data(), root.size());
  return root;
}

// ---- Extent nodes ----------------------------------------------------------------

Status EncodeExtentNode(const ExtentNode& node, uint8_t* out, size_t capacity_bytes) {
  const bool leaf = node.header.depth == 0;
  const size_t n = leaf ? node.extents.size() : node.indexes.size();
  const size_t fit = (capacity_bytes - kExtentHeaderSize) / kExtentRecordSize;
  if (n > node.header.max || node.header.max > fit) {
    return Status::Error(EINVAL, "extent node: " + std::to_string(n) +
                                     " records do not fit (max " +
                                     std::to_string(node.header.max) + ")");
  }
  std::memset(out, 0, capacity_bytes);
  Put16(out, 0, kExtentMagic);
  Put16(out, 2, static_cast<uint16_t>(n));
  Put16(out, 4, node.header.max);
  Put16(out, 6, node.header.depth);
  for (size_t i = 0; i < n; ++i) {
    uint8_t* r = out + kExtentHeaderSize + i * kExtentRecordSize;
    if (leaf) {
      const Extent& e = node.extents[i];
      Put64(r, 0, e.logical);
      Put64(r, 8, e.physical);
      Put32(r, 16, (e.length & ~kExtentUnwrittenBit) | (e.unwritten ? kExtentUnwrittenBit : 0));
    } else {
      Put64(r, 0, node.indexes[i].logical);
      Put64(r, 8, node.indexes[i].child);
    }
  }
  return Status::Ok();
}

namespace {
Status CheckExtentOrder(const ExtentNode& node) {
  if (node.header.depth == 0) {
    for (size_t i = 0; i < node.extents.size(); ++i) {
      const Extent& e = node.extents[i];
      if (e.length == 0) return Status::Corrupted("extent node: zero-length extent");
      if (e.logical + e.length > kMaxLogicalBlocks) {
        return Status::Corrupted("extent node: extent past the maximum file size");
      }
      if (i > 0 && node.extents[i - 1].logical + node.extents[i - 1].length > e.logical) {
        return Status::Corrupted("extent node: extents unsorted or overlapping");
      }
    }
    return Status::Ok();
  }
  for (size_t i = 1; i < node.indexes.size(); ++i) {
    if (node.indexes[i - 1].logical >= node.indexes[i].logical) {
      return Status::Corrupted("extent node: index keys not increasing");
    }
  }
  return Status::Ok();
}
}  // namespace

Result<ExtentNode> DecodeExtentNode(const uint8_t* in, size_t capacity_bytes) {
  if (Get16(in, 0) != kExtentMagic) return Status::Corrupted("extent node: bad magic");
  ExtentNode node;
  node.header.entries = Get16(in, 2);
  node.header.max = Get16(in, 4);
  node.header.depth = Get16(in, 6);
  const size_t fit = (capacity_bytes - kExtentHeaderSize) / kExtentRecordSize;
  if (node.header.max > fit || node.header.entries > node.header.max) {
    return Status::Corrupted("extent node: entries/max out of range");
  }
  if (node.header.depth > 8) return Status::Corrupted("extent node: depth too large");
  for (size_t i = 0; i < node.header.entries; ++i) {
    const uint8_t* r = in + kExtentHeaderSize + i * kExtentRecordSize;
    if (node.header.depth == 0) {
      const uint32_t len = Get32(r, 16);
      node.extents.push_back(Extent{Get64(r, 0), Get64(r, 8), len & ~kExtentUnwrittenBit,
                                    (len & kExtentUnwrittenBit) != 0});
    } else {
      node.indexes.push_back(ExtentIndex{Get64(r, 0), Get64(r, 8)});
    }
  }
  RETURN_IF_ERROR(CheckExtentOrder(node));
  return node;
}

Status EncodeExtentBlock(const ExtentNode& node, uint64_t blocknr, uint64_t owner,
                         uint32_t seed, std::span<uint8_t> block) {
  std::fill(block.begin(), block.end(), 0);
  BlockHeader{BlockType::kExtentNode, blocknr, 0, owner}.Encode(block.data());
  RETURN_IF_ERROR(EncodeExtentNode(node, block.data() + kBlockHeaderSize,
                                   block.size() - kBlockHeaderSize));
  SealBlock(seed, block);
  return Status::Ok();
}

Result<ExtentNode> DecodeExtentBlock(std::span<const uint8_t> block, uint64_t blocknr,
                                     uint64_t owner, uint32_t seed) {
  RETURN_IF_ERROR(CheckBlock(block, BlockType::kExtentNode, blocknr, seed));
  if (Get64(block.data(), kHdrOwner) != owner) {
    return Status::Corrupted("extent block " + std::to_string(blocknr) +
                             ": owned by inode " +
                             std::to_string(Get64(block.data(), kHdrOwner)));
  }
  return DecodeExtentNode(block.data() + kBlockHeaderSize, block.size() - kBlockHeaderSize);
}

}  // namespace foliofs::format
