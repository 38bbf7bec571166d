// XattrStore (fs/xattr_store.h): every change is computed on decoded copies
// of both areas (Areas), encoded in memory to prove it fits, and only then
// written: block first (allocate / rewrite / free — the fallible steps), the
// caller's inode record last, so a failure leaves rec and the block as they
// were.
#include "fs/xattr_store.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "pagecache/base/log.h"

namespace foliofs::fs {

using format::Xattr;
using format::XattrIndex;

namespace {

struct Prefix {
  XattrIndex index;
  std::string_view text;
};
// Indices 1..4 of FORMAT.md §10. Only the first three may be set through
// ParseXattrName; "system." names found on disk are still listed.
constexpr std::array<Prefix, 4> kPrefixes{{{XattrIndex::kUser, "user."},
                                           {XattrIndex::kTrusted, "trusted."},
                                           {XattrIndex::kSecurity, "security."},
                                           {XattrIndex::kSystem, "system."}}};

std::string FullName(const Xattr& x) {
  for (const Prefix& p : kPrefixes) {
    if (p.index == x.index) return std::string(p.text) + x.name;
  }
  return x.name;  // unreachable: the decoder accepts indices 1..4 only
}

// (index, name as unsigned bytes): std::string's operator< compares through
// char_traits<char>, which orders as unsigned char — the order of §10.
bool Less(const Xattr& a, const Xattr& b) {
  if (a.index != b.index) return a.index < b.index;
  return a.name < b.name;
}

using Entries = std::vector<Xattr>;

// Position of (index, name) in a sorted area, or end().
Entries::iterator Find(Entries& area, const Xattr& key) {
  auto it = std::lower_bound(area.begin(), area.end(), key, Less);
  if (it != area.end() && !Less(key, *it)) return it;
  return area.end();
}

// Inserts x into a sorted area and checks that the area still encodes into
// `capacity` bytes. On ENOSPC the area is left unchanged.
Status InsertFitting(Entries& area, Xattr x, size_t capacity) {
  auto it = std::lower_bound(area.begin(), area.end(), x, Less);
  it = area.insert(it, std::move(x));
  std::vector<uint8_t> scratch(capacity);
  auto used = format::EncodeXattrEntries(area, scratch.data(), capacity);
  if (used.ok()) return Status::Ok();
  area.erase(it);
  return used.status();
}

}  // namespace

// Decoded copies of both areas, plus the block's buffer when there is one.
struct XattrStore::Areas {
  Entries inline_entries;
  Entries block_entries;
  journal::BufferRef buffer;   // rec.xattr_block's buffer, or null
  bool block_changed = false;  // block_entries differ from the block on disk
};

XattrStore::XattrStore(journal::Journal& journal, XattrBlockSource& blocks, uint32_t seed,
                       uint32_t block_size)
    : journal_(journal), blocks_(blocks), seed_(seed), block_size_(block_size) {}

int XattrStore::SetCredits() const { return 1 + blocks_.AllocCredits() + blocks_.FreeCredits(); }

Result<std::pair<XattrIndex, std::string>> ParseXattrName(std::string_view name) {
  for (const Prefix& p : kPrefixes) {
    if (p.index == XattrIndex::kSystem || !name.starts_with(p.text)) continue;
    std::string_view rest = name.substr(p.text.size());
    if (rest.empty()) return Status::Error(EINVAL, "xattr name is only a prefix");
    if (rest.size() > kXattrMaxName) {
      return Status::Error(ERANGE, "xattr name longer than 255 bytes after the prefix");
    }
    return std::pair<XattrIndex, std::string>{p.index, std::string(rest)};
  }
  return Status::Error(EOPNOTSUPP, "xattr namespace not supported");
}

// Decodes the inline area of `rec` into areas->inline_entries.
Status XattrStore::LoadInline(const format::Inode& rec, Areas* areas) {
  const std::string inode = "inode " + std::to_string(rec.ino);
  if (rec.xattr_inline_bytes > kXattrInlineSize) {
    return Status::Corrupted(inode + ": xattr_inline_bytes " +
                             std::to_string(rec.xattr_inline_bytes) + " > 256");
  }
  auto inl = format::DecodeXattrEntries(rec.xattr_inline.data(), rec.xattr_inline_bytes);
  if (!inl.ok()) return Status::Corrupted(inode + ": inline xattrs: " + inl.status().message());
  areas->inline_entries = std::move(*inl);
  return Status::Ok();
}

// Reads and verifies rec's block (if any) into areas->block_entries / buffer.
Status XattrStore::LoadBlock(const format::Inode& rec, Areas* areas) {
  if (rec.xattr_block == 0) return Status::Ok();
  const std::string where =
      "inode " + std::to_string(rec.ino) + ": xattr block " + std::to_string(rec.xattr_block);
  auto buffer = journal_.buffers().Read(rec.xattr_block);
  if (!buffer.ok()) {
    if (buffer.err() == EINVAL) return Status::Corrupted(where + ": beyond the device");
    return buffer.status().WithContext(where);
  }
  auto blk = format::DecodeXattrBlock((*buffer)->bytes(), rec.xattr_block, rec.ino, seed_);
  if (!blk.ok()) return Status::Corrupted(where + ": " + blk.status().message());
  areas->block_entries = std::move(*blk);
  areas->buffer = std::move(*buffer);
  return Status::Ok();
}

// Reads and verifies both areas of `rec`, including that they are disjoint.
Result<XattrStore::Areas> XattrStore::Load(const format::Inode& rec) {
  Areas areas;
  RETURN_IF_ERROR(LoadInline(rec, &areas));
  RETURN_IF_ERROR(LoadBlock(rec, &areas));
  for (const Xattr& x : areas.block_entries) {
    if (Find(areas.inline_entries, x) != areas.inline_entries.end()) {
      return Status::Corrupted("inode " + std::to_string(rec.ino) + ": xattr block " +
                               std::to_string(rec.xattr_block) + ": " + FullName(x) +
                               " is also inline");
    }
  }
  return areas;
}

// The inline area is searched first and a hit there is returned without
// reading the block (ext4 does the same), so the common small-attribute
// lookup costs no block read or checksum.
Result<std::string> XattrStore::Get(const format::Inode& rec, std::string_view name) {
  ASSIGN_OR_RETURN(auto parsed, ParseXattrName(name));
  const Xattr key{parsed.first, std::move(parsed.second), {}};
  Areas areas;
  RETURN_IF_ERROR(LoadInline(rec, &areas));
  auto it = Find(areas.inline_entries, key);
  if (it != areas.inline_entries.end()) return std::move(it->value);
  RETURN_IF_ERROR(LoadBlock(rec, &areas));
  it = Find(areas.block_entries, key);
  if (it != areas.block_entries.end()) return std::move(it->value);
  return Status::Error(ENODATA, "no xattr " + std::string(name));
}

Result<std::vector<std::string>> XattrStore::List(const format::Inode& rec) {
  ASSIGN_OR_RETURN(Areas areas, Load(rec));
  Entries all = std::move(areas.inline_entries);
  for (Xattr& x : areas.block_entries) all.push_back(std::move(x));
  std::sort(all.begin(), all.end(), Less);
  std::vector<std::string> names;
  names.reserve(all.size());
  for (const Xattr& x : all) names.push_back(FullName(x));
  return names;
}

Status XattrStore::Set(journal::Handle& handle, format::Inode& rec, std::string_view name,
                       std::string_view value, int flags) {
  ASSIGN_OR_RETURN(auto parsed, ParseXattrName(name));
  if (value.size() > kXattrMaxValue) {
    return Status::Error(E2BIG, "xattr value of " + std::to_string(value.size()) + " bytes");
  }
  if ((flags & ~(kXattrCreate | kXattrReplace)) != 0) {
    return Status::Error(EINVAL, "unknown xattr flags " + std::to_string(flags));
  }
  ASSIGN_OR_RETURN(Areas areas, Load(rec));
  Xattr x{parsed.first, std::move(parsed.second), std::string(value)};
  auto in_inline = Find(areas.inline_entries, x);
  auto in_block = Find(areas.block_entries, x);
  const bool present =
      in_inline != areas.inline_entries.end() || in_block != areas.block_entries.end();
  if (present && (flags & kXattrCreate)) return Status::Error(EEXIST, std::string(name));
  if (!present && (flags & kXattrReplace)) return Status::Error(ENODATA, std::string(name));
  if (in_inline != areas.inline_entries.end()) areas.inline_entries.erase(in_inline);
  if (in_block != areas.block_entries.end()) {
    areas.block_entries.erase(in_block);
    areas.block_changed = true;
  }
  if (!InsertFitting(areas.inline_entries, x, kXattrInlineSize).ok()) {
    Status fits =
        InsertFitting(areas.block_entries, std::move(x), block_size_ - format::kDirNodeHeaderEnd);
    if (!fits.ok()) {
      return Status::Error(ENOSPC, "inode " + std::to_string(rec.ino) + ": xattr " +
                                       std::string(name) + " with a value of " +
                                       std::to_string(value.size()) + " bytes does not fit");
    }
    areas.block_changed = true;
  }
  return Commit(handle, rec, areas);
}

Status XattrStore::Remove(journal::Handle& handle, format::Inode& rec, std::string_view name) {
  ASSIGN_OR_RETURN(auto parsed, ParseXattrName(name));
  ASSIGN_OR_RETURN(Areas areas, Load(rec));
  const Xattr key{parsed.first, std::move(parsed.second), {}};
  auto in_inline = Find(areas.inline_entries, key);
  auto in_block = Find(areas.block_entries, key);
  if (in_inline != areas.inline_entries.end()) {
    areas.inline_entries.erase(in_inline);
  } else if (in_block != areas.block_entries.end()) {
    areas.block_entries.erase(in_block);
    areas.block_changed = true;
  } else {
    return Status::Error(ENODATA, "no xattr " + std::string(name));
  }
  return Commit(handle, rec, areas);
}

Status XattrStore::FreeAll(journal::Handle& handle, format::Inode& rec) {
  if (rec.xattr_block != 0) {
    // Verify before freeing: a damaged pointer must not free someone else's
    // block. The inline area is not checked: it is simply cleared.
    Areas areas;
    RETURN_IF_ERROR(LoadBlock(rec, &areas));
    RETURN_IF_ERROR(blocks_.FreeBlock(handle, rec.xattr_block));
    rec.xattr_block = 0;
    if (rec.blocks > 0) --rec.blocks;
  }
  rec.xattr_inline_bytes = 0;
  rec.xattr_inline.fill(0);
  return Status::Ok();
}

// Writes the block side of `areas` (the fallible part), then rec.
Status XattrStore::Commit(journal::Handle& handle, format::Inode& rec, const Areas& areas) {
  std::array<uint8_t, kXattrInlineSize> inline_area{};
  ASSIGN_OR_RETURN(
      size_t inline_used,
      format::EncodeXattrEntries(areas.inline_entries, inline_area.data(), inline_area.size()));
  uint64_t blocknr = rec.xattr_block;
  if (areas.block_changed && areas.block_entries.empty()) {
    if (blocknr != 0) {
      Status freed = blocks_.FreeBlock(handle, blocknr);
      if (!freed.ok()) {
        return freed.WithContext("inode " + std::to_string(rec.ino) + ": freeing xattr block");
      }
    }
    blocknr = 0;
  } else if (areas.block_changed) {
    ASSIGN_OR_RETURN(blocknr, WriteBlock(handle, rec, areas));
  }
  if (blocknr != rec.xattr_block) {
    if (blocknr != 0) {
      ++rec.blocks;
    } else if (rec.blocks > 0) {
      --rec.blocks;
    }
    rec.xattr_block = blocknr;
  }
  rec.xattr_inline = inline_area;
  rec.xattr_inline_bytes = static_cast<uint32_t>(inline_used);
  return Status::Ok();
}

// Encodes block_entries into rec's block, allocating one if rec has none.
// Returns the block number. On failure a freshly allocated block is returned
// to the source and the old block is untouched.
Result<uint64_t> XattrStore::WriteBlock(journal::Handle& handle, const format::Inode& rec,
                                        const Areas& areas) {
  const std::string inode = "inode " + std::to_string(rec.ino);
  const bool fresh = rec.xattr_block == 0;
  uint64_t blocknr = rec.xattr_block;
  if (fresh) {
    auto got = blocks_.AllocBlock(handle, 0);
    if (!got.ok()) return got.status().WithContext(inode + ": allocating an xattr block");
    blocknr = *got;
  }
  std::vector<uint8_t> image(block_size_);
  Status s = format::EncodeXattrBlock(areas.block_entries, blocknr, rec.ino, seed_, image);
  journal::BufferRef buffer = areas.buffer;
  if (s.ok() && fresh) {
    auto got = journal_.buffers().GetNew(blocknr);
    if (got.ok()) buffer = std::move(*got);
    s = got.status();
  }
  if (s.ok()) s = StoreBlock(handle, *buffer, image);
  if (s.ok()) return blocknr;
  if (fresh) {
    Status freed = blocks_.FreeBlock(handle, blocknr);
    if (!freed.ok()) {
      GetLogger("fs")->warn("{}: leaking xattr block {} after a failed write: {}", inode, blocknr,
                            freed.ToString());
    }
  }
  return s.WithContext(inode + ": xattr block " + std::to_string(blocknr));
}

// Replaces the buffer's contents with `image` under the handle. If the
// journal refuses the dirtying, the old contents are put back.
Status XattrStore::StoreBlock(journal::Handle& handle, journal::Buffer& buffer,
                              const std::vector<uint8_t>& image) {
  RETURN_IF_ERROR(handle.GetWriteAccess(buffer));
  std::vector<uint8_t> old(buffer.data(), buffer.data() + buffer.size());
  std::memcpy(buffer.data(), image.data(), image.size());
  Status s = handle.DirtyMetadata(buffer);
  if (!s.ok()) std::memcpy(buffer.data(), old.data(), old.size());
  return s;
}

}  // namespace foliofs::fs
