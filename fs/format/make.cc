// MakeFilesystem: writes a fresh filesystem (FORMAT.md §13).
//
// Order matters for a crash or an interrupted mkfs: everything except the
// primary superblock is written and flushed first; the primary superblock
// (FUA, then a flush) is the commit point. A device whose primary superblock
// decodes holds a complete filesystem.
#include <algorithm>
#include <cstring>

#include "fs/format/format.h"

namespace foliofs::format {

namespace {
constexpr uint64_t kWipeBytes = 128 << 10;   // signature areas at both ends
constexpr uint64_t kZeroChunk = 4 << 20;     // one zero buffer, reused by every iovec
constexpr size_t kIovsPerWrite = 16;         // 64 MiB per request

// Writes zeros over [offset, offset + len) with large requests.
Status WriteZeros(BlockDevice& dev, uint64_t offset, uint64_t len, const uint8_t* zeros) {
  std::vector<iovec> iovs;
  std::vector<IoRequest> batch;
  iovs.reserve(len / kZeroChunk + 1);
  uint64_t off = 0;
  while (off < len) {
    const size_t first_iov = iovs.size();
    uint64_t req_len = 0;
    while (off + req_len < len && iovs.size() - first_iov < kIovsPerWrite) {
      const uint64_t n = std::min(kZeroChunk, len - off - req_len);
      iovs.push_back(iovec{const_cast<uint8_t*>(zeros), n});
      req_len += n;
    }
    IoRequest r;
    r.op = IoOp::kWrite;
    r.offset = offset + off;
    r.iov = std::span<const iovec>(iovs.data() + first_iov, iovs.size() - first_iov);
    batch.push_back(r);
    off += req_len;
  }
  return dev.Submit(batch);
}

Status WipeSignatures(BlockDevice& dev, const uint8_t* zeros) {
  const uint64_t size = dev.size_bytes();
  const uint64_t head = std::min(kWipeBytes, size);
  RETURN_IF_ERROR(WriteZeros(dev, 0, head, zeros));
  const uint64_t tail = std::min(kWipeBytes, size);
  return WriteZeros(dev, size - tail, tail, zeros);
}

Status ZeroInodeTables(BlockDevice& dev, const Layout& l, const MakeOptions& o,
                       const uint8_t* zeros) {
  const uint64_t table_bytes = uint64_t{l.inode_table_blocks} * l.block_size;
  // Several groups per batch keep requests large on small block sizes.
  const uint32_t per_batch = static_cast<uint32_t>(
      std::max<uint64_t>(1, (kZeroChunk * kIovsPerWrite) / table_bytes));
  for (uint32_t g = 0; g < l.group_count; g += per_batch) {
    const uint32_t n = std::min(per_batch, l.group_count - g);
    RETURN_IF_ERROR(WriteZeros(dev, (l.inode_table_start + uint64_t{g} * l.inode_table_blocks) *
                                        l.block_size,
                               table_bytes * n, zeros));
    if (o.progress) o.progress("inode tables", g + n, l.group_count);
  }
  return Status::Ok();
}

Inode MakeDirInode(uint64_t ino, uint16_t mode, uint32_t nlink, uint64_t block,
                   const Layout& l, const MakeOptions& o) {
  Inode n;
  n.ino = ino;
  n.mode = mode;
  n.uid = o.root_uid;
  n.gid = o.root_gid;
  n.nlink = nlink;
  n.size = l.block_size;
  n.blocks = 1;
  n.atime = n.mtime = n.ctime = n.crtime = Timespec{o.now, 0};
  n.parent = kRootIno;
  ExtentNode root;
  root.header.max = kInodeExtentRootMax;
  root.extents.push_back(Extent{0, block, 1, false});
  (void)EncodeExtentNode(root, n.i_block.data(), n.i_block.size());
  return n;
}

// Marks blocks [first, first + count) in the block bitmaps held in `bitmaps`.
void MarkUsed(const Layout& l, uint8_t* bitmaps, uint64_t first, uint64_t count) {
  for (uint64_t b = first; b < first + count; ++b) {
    const uint64_t g = b / l.blocks_per_group;
    SetBit(std::span<uint8_t>(bitmaps + g * l.block_size, l.block_size),
           static_cast<uint32_t>(b % l.blocks_per_group));
  }
}

struct Metadata {
  AlignedBuffer block_bitmaps, inode_bitmaps, gdt;
  std::vector<GroupDesc> descs;
  uint64_t free_blocks = 0, free_inodes = 0;
};

// Builds bitmaps and group descriptors (unsealed GDT: sealed per location).
Metadata BuildBitmaps(const Layout& l, uint32_t seed) {
  Metadata m;
  const size_t bs = l.block_size;
  m.block_bitmaps = AllocateAligned(l.group_count * bs, 4096);
  m.inode_bitmaps = AllocateAligned(l.group_count * bs, 4096);
  MarkUsed(l, m.block_bitmaps.get(), 0, l.front_end + 2);  // + root and lost+found blocks
  for (uint64_t b : l.backup_blocks) MarkUsed(l, m.block_bitmaps.get(), b, 1 + l.gdt_blocks);
  m.descs.resize(l.group_count);
  for (uint32_t g = 0; g < l.group_count; ++g) {
    std::span<uint8_t> bb(m.block_bitmaps.get() + g * bs, bs), ib(m.inode_bitmaps.get() + g * bs, bs);
    for (uint32_t i = l.group_blocks(g); i < BitsPerBitmap(l.block_size); ++i) SetBit(bb, i);
    for (uint32_t i = l.inodes_per_group; i < BitsPerBitmap(l.block_size); ++i) SetBit(ib, i);
    if (g == 0) {
      for (uint32_t i = 0; i < kLostFoundIno; ++i) SetBit(ib, i);  // inodes 1..11
    }
    GroupDesc& d = m.descs[g];
    d.block_bitmap = l.block_bitmap_start + g;
    d.inode_bitmap = l.inode_bitmap_start + g;
    d.inode_table = l.inode_table_start + uint64_t{g} * l.inode_table_blocks;
    d.flags = kGroupItableZeroed;
    d.used_dirs = g == 0 ? 2 : 0;
    for (uint32_t i = 0; i < l.group_blocks(g); ++i) d.free_blocks += TestBit(bb, i) ? 0 : 1;
    for (uint32_t i = 0; i < l.inodes_per_group; ++i) d.free_inodes += TestBit(ib, i) ? 0 : 1;
    m.free_blocks += d.free_blocks;
    m.free_inodes += d.free_inodes;
    BlockHeader{BlockType::kBlockBitmap, l.block_bitmap_start + g, 0, 0}.Encode(bb.data());
    BlockHeader{BlockType::kInodeBitmap, l.inode_bitmap_start + g, 0, 0}.Encode(ib.data());
    SealBlock(seed, bb);
    SealBlock(seed, ib);
  }
  m.gdt = AllocateAligned(uint64_t{l.gdt_blocks} * bs, 4096);
  const uint32_t per = DescsPerBlock(l.block_size);
  for (uint32_t g = 0; g < l.group_count; ++g) {
    m.descs[g].Encode(m.gdt.get() + (g / per) * bs + kBlockHeaderSize + (g % per) * kGroupDescSize);
  }
  return m;
}

// GDT blocks sealed for a copy starting at block `at`.
void SealGdt(const Layout& l, uint32_t seed, uint8_t* gdt, uint64_t at) {
  for (uint32_t b = 0; b < l.gdt_blocks; ++b) {
    std::span<uint8_t> blk(gdt + uint64_t{b} * l.block_size, l.block_size);
    BlockHeader{BlockType::kGroupDesc, at + b, 0, 0}.Encode(blk.data());
    SealBlock(seed, blk);
  }
}

Status WriteDirectories(BlockDevice& dev, const Layout& l, const MakeOptions& o, uint32_t seed) {
  const size_t bs = l.block_size;
  // Inode table blocks of group 0 up to lost+found's record.
  const uint64_t it_blocks = (kLostFoundIno * kInodeSize + bs - 1) / bs;
  AlignedBuffer table = AllocateAligned(it_blocks * bs, 4096);
  MakeDirInode(kRootIno, 040755, 3, l.front_end, l, o)
      .Encode(seed, table.get() + (kRootIno - 1) * kInodeSize);
  MakeDirInode(kLostFoundIno, 040700, 2, l.front_end + 1, l, o)
      .Encode(seed, table.get() + (kLostFoundIno - 1) * kInodeSize);
  AlignedBuffer dirs = AllocateAligned(2 * bs, 4096);
  DirLeaf root;
  const std::string lf = "lost+found";
  root.entries.push_back(DirEntry{
      NameHash(o.hash_seed, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(lf.data()), lf.size())),
      kLostFoundIno, FileType::kDirectory, lf});
  RETURN_IF_ERROR(EncodeDirLeaf(root, l.front_end, kRootIno, seed,
                                std::span<uint8_t>(dirs.get(), bs)));
  RETURN_IF_ERROR(EncodeDirLeaf(DirLeaf{}, l.front_end + 1, kLostFoundIno, seed,
                                std::span<uint8_t>(dirs.get() + bs, bs)));
  iovec iov[2] = {{table.get(), it_blocks * bs}, {dirs.get(), 2 * bs}};
  IoRequest reqs[2];
  reqs[0].op = reqs[1].op = IoOp::kWrite;
  reqs[0].offset = l.inode_table_start * bs;
  reqs[0].iov = std::span<const iovec>(&iov[0], 1);
  reqs[1].offset = l.front_end * bs;
  reqs[1].iov = std::span<const iovec>(&iov[1], 1);
  return dev.Submit(reqs);
}

Superblock MakeSuperblock(const Layout& l, const MakeOptions& o, const Metadata& m) {
  Superblock sb;
  ApplyLayout(l, &sb);
  sb.free_blocks_count = m.free_blocks;
  sb.free_inodes_count = m.free_inodes;
  sb.uuid = o.uuid;
  sb.hash_seed = o.hash_seed;
  sb.label = o.label;
  sb.mkfs_time = sb.write_time = o.now;
  sb.checksum_seed = ChecksumSeed(o.uuid);
  sb.state = kStateClean;
  return sb;
}

// Bitmaps, the primary GDT and every backup copy, in one batch.
Status WriteGroupMetadata(BlockDevice& dev, const Layout& l, const Superblock& sb, Metadata& m) {
  const size_t bs = l.block_size;
  const size_t copy_bytes = (1 + uint64_t{l.gdt_blocks}) * bs;
  AlignedBuffer copies = AllocateAligned(copy_bytes * (l.backup_blocks.size() + 1), 4096);
  std::vector<iovec> iovs;
  std::vector<IoRequest> batch;
  auto add = [&](uint64_t block, uint8_t* p, size_t len) {
    iovs.push_back(iovec{p, len});
    IoRequest r;
    r.op = IoOp::kWrite;
    r.offset = block * bs;
    batch.push_back(r);
  };
  add(l.block_bitmap_start, m.block_bitmaps.get(), l.group_count * bs);
  add(l.inode_bitmap_start, m.inode_bitmaps.get(), l.group_count * bs);
  uint8_t* primary_gdt = copies.get() + l.backup_blocks.size() * copy_bytes + bs;
  std::memcpy(primary_gdt, m.gdt.get(), l.gdt_blocks * bs);
  SealGdt(l, sb.checksum_seed, primary_gdt, 1);
  add(1, primary_gdt, l.gdt_blocks * bs);
  for (size_t i = 0; i < l.backup_blocks.size(); ++i) {
    uint8_t* c = copies.get() + i * copy_bytes;
    Superblock copy = sb;
    copy.blocknr = l.backup_blocks[i];
    copy.backup_group = l.backup_groups[i];
    copy.Encode(c);
    std::memcpy(c + bs, m.gdt.get(), l.gdt_blocks * bs);
    SealGdt(l, sb.checksum_seed, c + bs, copy.blocknr + 1);
    add(copy.blocknr, c, copy_bytes);
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i].iov = std::span<const iovec>(&iovs[i], 1);
  return dev.Submit(batch);
}
}  // namespace

Result<Superblock> MakeFilesystem(BlockDevice& dev, const Layout& l, const MakeOptions& o) {
  if (l.block_size < dev.logical_block_size() || l.blocks_count * l.block_size > dev.size_bytes()) {
    return Status::Error(EINVAL, "layout does not fit the device");
  }
  if (o.label.size() > kLabelSize || o.label.find('\0') != std::string::npos) {
    return Status::Error(EINVAL, "label longer than 64 bytes or containing NUL");
  }
  const uint32_t seed = ChecksumSeed(o.uuid);
  AlignedBuffer zeros = AllocateAligned(kZeroChunk, 4096);
  RETURN_IF_ERROR(WipeSignatures(dev, zeros.get()));
  RETURN_IF_ERROR(ZeroInodeTables(dev, l, o, zeros.get()));
  RETURN_IF_ERROR(WriteDirectories(dev, l, o, seed));
  Metadata m = BuildBitmaps(l, seed);
  Superblock sb = MakeSuperblock(l, o, m);
  RETURN_IF_ERROR(WriteGroupMetadata(dev, l, sb, m));
  if (o.format_journal) {
    RETURN_IF_ERROR(o.format_journal(dev, l.journal_first_block, l.journal_blocks, l.block_size,
                                     o.uuid));
  }
  RETURN_IF_ERROR(dev.Flush());
  AlignedBuffer block0 = AllocateAligned(l.block_size, 4096);
  sb.Encode(block0.get());
  RETURN_IF_ERROR(dev.Write(0, block0.get(), l.block_size, /*fua=*/true));
  RETURN_IF_ERROR(dev.Flush());
  return sb;
}

}  // namespace foliofs::format
