// XattrStore: one inode's extended attributes (FORMAT.md §10) — entries in
// the inode's 256-byte inline area (format::Inode::xattr_inline, of which
// xattr_inline_bytes are used) and in at most one external xattr block
// (format::Inode::xattr_block, block type 8), read and journaled through the
// journal's BufferCache.
//
// What it promises:
//  - Names are "<prefix><name>" with prefix "user.", "trusted." or
//    "security." (ParseXattrName). Limits: name after the prefix 1..255 bytes
//    (EINVAL when empty, ERANGE when longer), value 0..65535 bytes (E2BIG),
//    any bytes (NUL included) in both.
//  - Layout after every successful change: each area holds its entries
//    sorted by (index, name as unsigned bytes), strictly; a name is in one
//    area only; the block exists iff it holds at least one entry; the
//    inode's `blocks` counts it (+1 when allocated, −1 when freed).
//  - Placement: the entry being set goes inline when it fits there (after
//    its old copy, wherever it was, is dropped); otherwise into the block
//    (allocated on first need). Other entries never move. Remove drops the
//    entry from its area and frees the block when that leaves it empty.
//    An entry that fits neither area is ENOSPC.
//  - Failure atomicity: the new areas are built and encoded in memory first;
//    a Set/Remove that fails (ENOSPC, EEXIST, ENODATA, EUCLEAN, EIO, credit
//    exhaustion) leaves `rec` and the block's contents unchanged. A block
//    allocated for a failing Set is returned (best effort: a failing
//    FreeBlock leaks it, which fsck finds). The handle is the caller's.
//  - Journaling: the block gets GetWriteAccess before and DirtyMetadata
//    after each change; it is rewritten only when its entries change. The
//    inline area lives in the caller's `rec`: the caller writes rec into the
//    inode table in the same handle after Set/Remove/FreeAll succeed.
//  - Damage is reported, never trusted: a bad inline area (xattr_inline_bytes
//    > 256, undecodable entries), a block failing DecodeXattrBlock (magic,
//    type, blocknr, owner, checksum, bounds, order) or lying beyond the
//    device, or a name in both areas is EUCLEAN naming the inode (and the
//    block). Read errors of the block pass through with that context.
//    List/Set/Remove verify both areas; Get stops at an inline hit; FreeAll
//    verifies only the block (it must not free a block it does not own).
//  - Credits: SetCredits() = 1 (the block buffer) + AllocCredits() +
//    FreeCredits() bounds Set, Remove and FreeAll (excluding the inode
//    record), including returning a block allocated by a failing Set.
//
// Thread safety: XattrStore holds no mutable state. The caller serialises
// calls on one inode (it holds that inode's lock, fs/LOCKING.md); calls on
// different inodes may run concurrently (the journal, its BufferCache and
// the XattrBlockSource are thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/filesystem.h"
#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/base/status.h"

namespace foliofs::fs {

inline constexpr size_t kXattrMaxName = 255;     // bytes after the prefix
inline constexpr size_t kXattrMaxValue = 65535;  // u16 value_len (§10)
inline constexpr size_t kXattrInlineSize = 256;  // inode bytes 256..511

// Where the store gets and returns its external block. The fs implements it
// over the block allocator (kMetadata); tests with a counter.
class XattrBlockSource {
 public:
  virtual ~XattrBlockSource() = default;
  // One block near `goal` (0: no preference), charged to the handle. A
  // failure changes nothing.
  virtual Result<uint64_t> AllocBlock(journal::Handle& handle, uint64_t goal) = 0;
  // Returns the block and revokes it in the journal.
  virtual Status FreeBlock(journal::Handle& handle, uint64_t blocknr) = 0;
  // Credits one AllocBlock / FreeBlock may spend (FreeCredits includes the revoke).
  virtual int AllocCredits() const = 0;
  virtual int FreeCredits() const = 0;
};

class XattrStore {
 public:
  // `seed` is the superblock's checksum seed (block checksums).
  XattrStore(journal::Journal& journal, XattrBlockSource& blocks, uint32_t seed,
             uint32_t block_size);
  XattrStore(const XattrStore&) = delete;
  XattrStore& operator=(const XattrStore&) = delete;

  // `rec` is the inode's in-memory record (the caller holds its lock and
  // writes rec back into the inode table in the same handle after Set/Remove).
  // The value of `name`; ENODATA if absent. A name found inline is returned
  // without reading the block.
  Result<std::string> Get(const format::Inode& rec, std::string_view name);
  // Every name with its prefix, sorted by (index, name).
  Result<std::vector<std::string>> List(const format::Inode& rec);
  // flags: 0, kXattrCreate (EEXIST if present), kXattrReplace (ENODATA if
  // absent); other bits EINVAL.
  Status Set(journal::Handle& handle, format::Inode& rec, std::string_view name,
             std::string_view value, int flags);
  // ENODATA if absent.
  Status Remove(journal::Handle& handle, format::Inode& rec, std::string_view name);
  // Inode deletion: verifies and frees the external block, if any, and
  // clears the inline area. EUCLEAN (nothing freed) if the block is damaged.
  Status FreeAll(journal::Handle& handle, format::Inode& rec);
  // Worst case for Set/Remove/FreeAll, excluding the inode record.
  int SetCredits() const;

 private:
  struct Areas;
  Status LoadInline(const format::Inode& rec, Areas* areas);
  Status LoadBlock(const format::Inode& rec, Areas* areas);
  Result<Areas> Load(const format::Inode& rec);
  Status Commit(journal::Handle& handle, format::Inode& rec, const Areas& areas);
  Result<uint64_t> WriteBlock(journal::Handle& handle, const format::Inode& rec,
                              const Areas& areas);
  Status StoreBlock(journal::Handle& handle, journal::Buffer& buffer,
                    const std::vector<uint8_t>& image);

  journal::Journal& journal_;
  XattrBlockSource& blocks_;
  const uint32_t seed_;
  const uint32_t block_size_;
};

// Splits "user.foo" into (index, "foo"): prefixes "user.", "trusted.",
// "security."; "system." and anything else → EOPNOTSUPP; empty name after
// the prefix → EINVAL; longer than 255 bytes after the prefix → ERANGE.
Result<std::pair<format::XattrIndex, std::string>> ParseXattrName(std::string_view name);

}  // namespace foliofs::fs
