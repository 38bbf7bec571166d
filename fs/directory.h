// Directory: one directory's contents (FORMAT.md §8) — a B+tree keyed by the
// 64-bit SipHash of the name, whose nodes are the directory's own blocks
// (logical block 0 is the root), read and journaled through the journal's
// BufferCache. `.` and `..` are not stored; the caller synthesizes them.
//
// What it promises:
//  - Lookup, ReadDir and IsEmpty never need a handle and never write. Lookup
//    decodes nothing: index nodes are binary-searched and leaves scanned in
//    place (one DirEntry is built for the result). Every block read is
//    verified (checksum, type, block number, owner, bounds) each time.
//  - Lookup descends, at each index node, into the *first* child whose hash
//    range contains h (the last entry with hash < h, or the following entry
//    when it has hash == h without CONTINUED), then moves right through
//    entries with hash == h and CONTINUED. (§8's "last entry with hash ≤ h"
//    would skip the earlier children of a CONTINUED run; the ranges of §8 are
//    what this follows.)
//  - Insert keeps entries in global (hash, name) order across the leaves of a
//    CONTINUED run; splits (§8 Insert) pick the hash change nearest the byte
//    middle among the split points that leave both halves fitting, else the
//    byte middle with CONTINUED. Index nodes split at the count middle,
//    preferring an entry without CONTINUED; the flag moves up with it.
//  - Every change happens inside the caller's handle: each block it changes
//    gets GetWriteAccess before and DirtyMetadata after; credits are bounded
//    by InsertCredits() / kRemoveCredits. All reads, write access and
//    AppendBlock calls come before any entry moves, so a failed change leaves
//    the tree valid and unchanged — except that blocks appended before a
//    failing AppendBlock stay in the directory as unreachable empty leaves
//    (fsck warns about them; they are harmless).
//  - Errors: a damaged block → EUCLEAN "directory N: block L: …"; device
//    errors pass through with that context; ENOSPC past 2^32 blocks or when
//    the tree would exceed depth 8.
//
// Thread safety: none inside. A Directory is transient (made per operation);
// the caller holds the directory inode's lock, shared for Lookup / ReadDir /
// IsEmpty / Check / InsertCredits, exclusive for changes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/base/status.h"

namespace foliofs::fs {

// Where a directory's blocks live: the fs implements it over the directory
// inode's extent tree and the block allocator; tests over a vector.
class DirStorage {
 public:
  virtual ~DirStorage() = default;
  virtual uint32_t block_count() const = 0;  // blocks in the directory now
  // Device block of logical block lblk (< block_count()); EUCLEAN if unmapped.
  virtual Result<uint64_t> PhysicalBlock(uint32_t lblk) = 0;
  // Appends one block at logical block_count() inside `handle` (allocates, maps,
  // grows the size); returns its device block number. The caller (Directory)
  // then GetNew()s the buffer, takes write access and formats it.
  virtual Result<uint64_t> AppendBlock(journal::Handle& handle) = 0;
  virtual int AppendCredits() const = 0;  // journal credits one AppendBlock needs
};

class Directory {
 public:
  Directory(journal::Journal& journal, DirStorage& storage, uint64_t dir_ino, uint32_t seed,
            const std::array<uint8_t, 16>& hash_seed, uint32_t block_size);
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  // Tests only: replace the name hash (to force collisions / CONTINUED paths).
  void set_hash_for_test(std::function<uint64_t(std::span<const uint8_t>)> fn);

  // A new directory: storage has 0 blocks; appends block 0 and writes an empty
  // leaf. EEXIST if the storage already has blocks.
  Status Init(journal::Handle& handle);
  static int InitCredits(int append_credits) { return 1 + append_credits; }

  // nullopt when absent. Names are validated: EINVAL for an empty name, "/" or
  // NUL inside, "." or ".." (never stored); ENAMETOOLONG for > 255 bytes.
  Result<std::optional<format::DirEntry>> Lookup(std::string_view name);
  // EEXIST if present; EINVAL for ino 0 or a bad type. Splits leaves/index
  // nodes and grows the depth (§8 Insert).
  Status Insert(journal::Handle& handle, std::string_view name, uint64_t ino,
                format::FileType type);
  // Worst-case credits of one Insert in the current tree (reads block 0 for
  // the depth D, 0 when the root is a leaf): the leaf and D index nodes, plus
  // D + 2 new blocks (a split at every level and two for a new root level),
  // each one buffer and AppendCredits():
  //     (1 + D) + (D + 2) · (1 + AppendCredits()).
  Result<int> InsertCredits();
  // Removes and returns the entry; ENOENT if absent. 1 credit (one leaf).
  // Emptied leaves stay (v1 never merges).
  Result<format::DirEntry> Remove(journal::Handle& handle, std::string_view name);
  static constexpr int kRemoveCredits = 1;
  // Points an existing name at another inode (rename over an existing
  // target); ENOENT if absent. 1 credit.
  Status Replace(journal::Handle& handle, std::string_view name, uint64_t ino,
                 format::FileType type);
  static constexpr int kReplaceCredits = 1;

  // Stored entries (not "." / "..", which the caller synthesizes at positions
  // 0 and 1) with position P = (hash >> 2) + 3 >= cookie, in (hash, name)
  // order; fn gets the entry and the cookie that resumes after it (P + 1);
  // stops when fn returns false. fn must not change the directory.
  Status ReadDir(uint64_t cookie,
                 const std::function<bool(const format::DirEntry&, uint64_t next_cookie)>& fn);
  static uint64_t Position(uint64_t hash) { return (hash >> 2) + 3; }
  Result<bool> IsEmpty();
  // Walks the whole tree checking every §8 invariant (tests): node headers,
  // depths, key ranges and entry 0's lower bound, CONTINUED rules, leaf
  // order and bounds, every stored hash equal to the name's hash, the
  // next_leaf chain in tree order ending in 0, no block reached twice.
  // Blocks not reached from the root are not an error (see above).
  Status Check();

 private:
  // An index node on the way from the root to a leaf, read in place (header
  // checked by DecodeIndex; entries read raw, no decoding on lookups).
  struct IndexLevel {
    uint32_t lblk = 0;
    journal::BufferRef buffer;
    uint16_t depth = 0;
    uint16_t count = 0;
    size_t pos = 0;  // the child this path takes
    format::DirIndexEntry Entry(size_t k) const;
  };
  // The index nodes from the root down (empty when the root is a leaf) and
  // the leaf they lead to (checked by CheckLeafBlock, not decoded).
  struct Path {
    std::vector<IndexLevel> index;
    uint32_t leaf_lblk = 0;
    journal::BufferRef leaf;
  };
  struct NewBlock {
    uint32_t lblk = 0;
    journal::BufferRef buffer;  // write access taken, formatted as an empty leaf
  };

  // directory.cc: reads and walks.
  uint64_t Hash(std::span<const uint8_t> name) const;
  std::string Where(uint32_t lblk) const;
  Status Corrupt(uint32_t lblk, const std::string& what) const;
  Result<journal::BufferRef> ReadBlock(uint32_t lblk);
  Result<journal::BufferRef> ReadLeaf(uint32_t lblk);
  // Checks a leaf once per change of its bytes (Buffer::verified_tag).
  Status CheckLeaf(uint32_t lblk, journal::Buffer& buffer) const;
  uint64_t VerifiedTag(format::BlockType type) const;
  Result<IndexLevel> ReadIndex(uint32_t lblk, int depth, uint64_t low);
  Result<IndexLevel> DecodeIndex(uint32_t lblk, journal::BufferRef buffer, int depth,
                                 uint64_t low) const;
  static size_t FirstChild(const IndexLevel& node, uint64_t h);
  Result<Path> FindFirst(uint64_t h);
  Status DescendTo(Path* path, uint64_t h);
  Result<bool> NextCandidate(Path* path, uint64_t h);
  struct Found {
    Path path;
    size_t offset = 0;  // of the entry in path.leaf
  };
  Result<std::optional<Found>> Find(uint64_t h, std::span<const uint8_t> name);
  Status SealAndDirty(journal::Handle& handle, journal::Buffer& buffer);

  // directory_insert.cc: splits.
  Status InsertAt(journal::Handle& handle, Path& path, const format::DirEntry& entry);
  int NodesNeeded(const Path& path, size_t* top) const;
  Status AppendBlocks(journal::Handle& handle, int count, std::vector<NewBlock>* out);
  Status PrepareSplit(journal::Handle& handle, Path& path, std::vector<format::DirIndex>* nodes,
                      std::vector<NewBlock>* fresh);
  Status SplitInsert(journal::Handle& handle, Path& path, const format::DirEntry& entry);
  Status SplitRootLeaf(journal::Handle& handle, Path& path, std::vector<format::DirEntry> entries,
                       std::vector<NewBlock>& fresh);
  Status PropagateSplit(journal::Handle& handle, Path& path, std::vector<format::DirIndex>& nodes,
                        format::DirIndexEntry carry, std::vector<NewBlock>& fresh);
  Status WriteLeaf(journal::Handle& handle, journal::Buffer& buffer,
                   const format::DirLeaf& leaf);
  Status WriteIndex(journal::Handle& handle, journal::Buffer& buffer,
                    const format::DirIndex& index);

  // directory_check.cc
  struct LeafLink {
    uint32_t lblk;
    uint32_t next;
  };
  Status CheckNode(uint32_t lblk, int depth, uint64_t lo, uint64_t hi,
                   std::vector<LeafLink>* leaves, std::vector<bool>* seen);
  Status CheckLeafEntries(uint32_t lblk, const format::DirLeaf& leaf, uint64_t lo, uint64_t hi);

  journal::Journal& journal_;
  DirStorage& storage_;
  const uint64_t ino_;
  const uint32_t seed_;
  const std::array<uint8_t, 16> hash_seed_;
  const uint32_t block_size_;
  std::function<uint64_t(std::span<const uint8_t>)> hash_for_test_;
};

}  // namespace foliofs::fs
