// Directory: block reads, the hash descent, Lookup / Remove / Replace, Init
// and credits. Splits live in directory_insert.cc, ReadDir / IsEmpty in
// directory_readdir.cc, Check in directory_check.cc, raw leaf bytes in
// directory_leaf.cc.
#include "fs/directory.h"

#include <algorithm>
#include <string>

#include "fs/directory_leaf.h"
#include "pagecache/base/endian.h"

namespace foliofs::fs {

using format::DirEntry;
using format::DirIndex;
using format::kDirIndexContinued;

namespace {
constexpr size_t kIdxCount = 32, kIdxMax = 34, kIdxDepth = 36;  // index header (§8)

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

Directory::Directory(journal::Journal& journal, DirStorage& storage, uint64_t dir_ino,
                     uint32_t seed, const std::array<uint8_t, 16>& hash_seed, uint32_t block_size)
    : journal_(journal),
      storage_(storage),
      ino_(dir_ino),
      seed_(seed),
      hash_seed_(hash_seed),
      block_size_(block_size) {}

void Directory::set_hash_for_test(std::function<uint64_t(std::span<const uint8_t>)> fn) {
  hash_for_test_ = std::move(fn);
}

uint64_t Directory::Hash(std::span<const uint8_t> name) const {
  return hash_for_test_ ? hash_for_test_(name) : format::NameHash(hash_seed_, name);
}

std::string Directory::Where(uint32_t lblk) const {
  return "directory " + std::to_string(ino_) + ": block " + std::to_string(lblk);
}

Status Directory::Corrupt(uint32_t lblk, const std::string& what) const {
  return Status::Corrupted(Where(lblk) + ": " + what);
}

Result<journal::BufferRef> Directory::ReadBlock(uint32_t lblk) {
  if (lblk >= storage_.block_count()) {
    return Corrupt(lblk, "past the directory's " + std::to_string(storage_.block_count()) +
                             " blocks");
  }
  auto phys = storage_.PhysicalBlock(lblk);
  if (!phys.ok()) return phys.status().WithContext(Where(lblk));
  auto buffer = journal_.buffers().Read(*phys);
  if (!buffer.ok()) return buffer.status().WithContext(Where(lblk));
  return std::move(buffer).value();
}

// Buffer::verified_tag of a block checked as a leaf (or index node) of this
// directory: a block checked as one kind is checked again if read as the other.
uint64_t Directory::VerifiedTag(format::BlockType type) const {
  return (uint64_t{static_cast<uint8_t>(type)} << 56) | (ino_ & ((uint64_t{1} << 56) - 1));
}

Status Directory::CheckLeaf(uint32_t lblk, journal::Buffer& buffer) const {
  const uint64_t tag = VerifiedTag(format::BlockType::kDirLeaf);
  if (buffer.verified_tag() == tag) return Status::Ok();
  const std::span<const uint8_t> bytes(buffer.data(), buffer.size());
  const Status s = dirleaf::CheckLeafBlock(bytes, buffer.blocknr(), ino_, seed_);
  if (!s.ok()) return Corrupt(lblk, s.message());
  buffer.set_verified_tag(tag);
  return s;
}

Result<journal::BufferRef> Directory::ReadLeaf(uint32_t lblk) {
  ASSIGN_OR_RETURN(journal::BufferRef buffer, ReadBlock(lblk));
  RETURN_IF_ERROR(CheckLeaf(lblk, *buffer));
  return buffer;
}

Result<Directory::IndexLevel> Directory::ReadIndex(uint32_t lblk, int depth, uint64_t low) {
  ASSIGN_OR_RETURN(journal::BufferRef buffer, ReadBlock(lblk));
  return DecodeIndex(lblk, std::move(buffer), depth, low);
}

format::DirIndexEntry Directory::IndexLevel::Entry(size_t k) const {
  const uint8_t* p = buffer->data() + format::kDirNodeHeaderEnd + k * format::kDirIndexEntrySize;
  return format::DirIndexEntry{GetLe64(p), GetLe32(p + 8), GetLe32(p + 12)};
}

// An index node of `depth` (-1: the root, any depth) whose entry 0 must hold
// the lower bound `low` of its range. Checks what DecodeDirIndex checks
// except the entry order (Check() and the splits decode fully).
Result<Directory::IndexLevel> Directory::DecodeIndex(uint32_t lblk, journal::BufferRef buffer,
                                                     int depth, uint64_t low) const {
  const uint64_t tag = VerifiedTag(format::BlockType::kDirIndex);
  if (buffer->verified_tag() != tag) {
    const std::span<const uint8_t> bytes(buffer->data(), buffer->size());
    const Status s =
        format::CheckBlock(bytes, format::BlockType::kDirIndex, buffer->blocknr(), seed_);
    if (!s.ok()) return Corrupt(lblk, s.message());
    buffer->set_verified_tag(tag);  // the checks below are cheap and always run
  }
  const uint8_t* b = buffer->data();
  if (GetLe64(b + dirleaf::kOwner) != ino_) {
    return Corrupt(lblk, "index node owned by inode " + std::to_string(GetLe64(b + dirleaf::kOwner)));
  }
  IndexLevel level;
  level.count = GetLe16(b + kIdxCount);
  level.depth = GetLe16(b + kIdxDepth);
  if (GetLe16(b + kIdxMax) != format::DirIndexMax(block_size_) || level.count == 0 ||
      level.count > format::DirIndexMax(block_size_) || level.depth > 8) {
    return Corrupt(lblk, "index count/max/depth out of range");
  }
  if (depth >= 0 && level.depth != depth) {
    return Corrupt(lblk, "index depth " + std::to_string(level.depth) + ", expected " +
                             std::to_string(depth));
  }
  level.lblk = lblk;
  level.buffer = std::move(buffer);
  if (level.Entry(0).hash != low) {
    return Corrupt(lblk, "index lower bound " + std::to_string(level.Entry(0).hash) +
                             ", expected " + std::to_string(low));
  }
  return level;
}

// The first child whose hash range may contain h: the last entry with
// hash < h (entry 0 when none), moved on to the next entry when that one has
// hash == h without CONTINUED (then the earlier child ends at h − 1).
size_t Directory::FirstChild(const IndexLevel& node, uint64_t h) {
  size_t lo = 0, hi = node.count;  // first entry with hash >= h, by binary search
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (node.Entry(mid).hash < h) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  size_t pos = lo == 0 ? 0 : lo - 1;
  if (pos + 1 < node.count) {
    const format::DirIndexEntry next = node.Entry(pos + 1);
    if (next.hash == h && !(next.flags & kDirIndexContinued)) ++pos;
  }
  return pos;
}

// Extends a path whose last index level has its `pos` set down to a leaf,
// taking FirstChild(h) in every index node below.
Status Directory::DescendTo(Path* path, uint64_t h) {
  while (true) {
    const IndexLevel& up = path->index.back();
    const format::DirIndexEntry e = up.Entry(up.pos);
    if (up.depth == 0) {
      ASSIGN_OR_RETURN(path->leaf, ReadLeaf(e.child));
      path->leaf_lblk = e.child;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(IndexLevel child, ReadIndex(e.child, up.depth - 1, e.hash));
    child.pos = FirstChild(child, h);
    path->index.push_back(std::move(child));
  }
}

Result<Directory::Path> Directory::FindFirst(uint64_t h) {
  Path path;
  ASSIGN_OR_RETURN(journal::BufferRef root, ReadBlock(0));
  auto type = format::PeekBlockType(root->bytes());
  if (type.ok() && *type == format::BlockType::kDirLeaf) {
    RETURN_IF_ERROR(CheckLeaf(0, *root));
    path.leaf = std::move(root);
    path.leaf_lblk = 0;
    return path;
  }
  ASSIGN_OR_RETURN(IndexLevel level, DecodeIndex(0, std::move(root), -1, 0));
  level.pos = FirstChild(level, h);
  path.index.push_back(std::move(level));
  RETURN_IF_ERROR(DescendTo(&path, h));
  return path;
}

// Moves the path to the next leaf that may hold hash h (the next child
// through an entry with hash == h and CONTINUED, at the deepest level that
// has a next entry); false when there is none.
Result<bool> Directory::NextCandidate(Path* path, uint64_t h) {
  for (size_t level = path->index.size(); level-- > 0;) {
    IndexLevel& node = path->index[level];
    if (node.pos + 1 >= node.count) continue;  // ends here: ask the parent
    const format::DirIndexEntry next = node.Entry(node.pos + 1);
    if (next.hash != h || !(next.flags & kDirIndexContinued)) return false;
    ++node.pos;
    path->index.resize(level + 1);
    RETURN_IF_ERROR(DescendTo(path, h));
    return true;
  }
  return false;
}

// The leaf holding (h, name), walking the CONTINUED run.
Result<std::optional<Directory::Found>> Directory::Find(uint64_t h,
                                                        std::span<const uint8_t> name) {
  ASSIGN_OR_RETURN(Path path, FindFirst(h));
  while (true) {
    const dirleaf::Slot slot = dirleaf::FindSlot(path.leaf->data(), h, name);
    if (slot.found) return std::optional<Found>(Found{std::move(path), slot.offset});
    ASSIGN_OR_RETURN(bool more, NextCandidate(&path, h));
    if (!more) return std::optional<Found>();
  }
}

Result<std::optional<DirEntry>> Directory::Lookup(std::string_view name) {
  RETURN_IF_ERROR(format::ValidateName(Bytes(name)));
  ASSIGN_OR_RETURN(std::optional<Found> found, Find(Hash(Bytes(name)), Bytes(name)));
  if (!found) return std::optional<DirEntry>();
  DirEntry e = dirleaf::EntryAt(found->path.leaf->data(), found->offset);
  if (e.ino == 0 || static_cast<uint8_t>(e.type) > static_cast<uint8_t>(format::FileType::kSymlink)) {
    return Corrupt(found->path.leaf_lblk, "entry with inode 0 or a bad file type");
  }
  return std::optional<DirEntry>(std::move(e));
}

Status Directory::SealAndDirty(journal::Handle& handle, journal::Buffer& buffer) {
  format::SealBlock(seed_, buffer.bytes());
  return handle.DirtyMetadata(buffer);
}

Result<DirEntry> Directory::Remove(journal::Handle& handle, std::string_view name) {
  RETURN_IF_ERROR(format::ValidateName(Bytes(name)));
  ASSIGN_OR_RETURN(std::optional<Found> found, Find(Hash(Bytes(name)), Bytes(name)));
  if (!found) return Status::Error(ENOENT, "no entry " + std::string(name));
  journal::Buffer& leaf = *found->path.leaf;
  RETURN_IF_ERROR(handle.GetWriteAccess(leaf));
  DirEntry e = dirleaf::EntryAt(leaf.data(), found->offset);
  dirleaf::RemoveEntry(leaf.bytes(), found->offset);
  RETURN_IF_ERROR(SealAndDirty(handle, leaf));
  return e;
}

Status Directory::Replace(journal::Handle& handle, std::string_view name, uint64_t ino,
                          format::FileType type) {
  RETURN_IF_ERROR(format::ValidateName(Bytes(name)));
  if (ino == 0 || static_cast<uint8_t>(type) > static_cast<uint8_t>(format::FileType::kSymlink)) {
    return Status::Error(EINVAL, "directory entry needs an inode and a valid file type");
  }
  ASSIGN_OR_RETURN(std::optional<Found> found, Find(Hash(Bytes(name)), Bytes(name)));
  if (!found) return Status::Error(ENOENT, "no entry " + std::string(name));
  journal::Buffer& leaf = *found->path.leaf;
  RETURN_IF_ERROR(handle.GetWriteAccess(leaf));
  dirleaf::SetTarget(leaf.bytes(), found->offset, ino, type);
  return SealAndDirty(handle, leaf);
}

Status Directory::Init(journal::Handle& handle) {
  if (storage_.block_count() != 0) {
    return Status::Error(EEXIST, "directory " + std::to_string(ino_) + " already has blocks");
  }
  std::vector<NewBlock> fresh;
  return AppendBlocks(handle, 1, &fresh);  // formats block 0 as an empty leaf
}

Result<int> Directory::InsertCredits() {
  ASSIGN_OR_RETURN(journal::BufferRef root, ReadBlock(0));
  int depth = 0;
  auto type = format::PeekBlockType(root->bytes());
  if (!type.ok() || *type != format::BlockType::kDirLeaf) {
    ASSIGN_OR_RETURN(IndexLevel level, DecodeIndex(0, std::move(root), -1, 0));
    depth = level.depth + 1;
  }
  return (1 + depth) + (depth + 2) * (1 + storage_.AppendCredits());
}

}  // namespace foliofs::fs
