// Directory::ReadDir and IsEmpty: a walk along the next_leaf chain from the
// first leaf that may hold the cookie's hash (FORMAT.md §8 readdir cookies).
#include <string>

#include "fs/directory.h"
#include "fs/directory_leaf.h"

namespace foliofs::fs {

using format::DirEntry;

Status Directory::ReadDir(
    uint64_t cookie, const std::function<bool(const DirEntry&, uint64_t next_cookie)>& fn) {
  // Entries with P = (hash >> 2) + 3 >= cookie are those with hash >= min_hash.
  uint64_t min_hash = 0;
  if (cookie > 3) {
    if (cookie - 3 >= (uint64_t{1} << 62)) return Status::Ok();  // past every position
    min_hash = (cookie - 3) << 2;
  }
  ASSIGN_OR_RETURN(Path path, FindFirst(min_hash));
  uint32_t lblk = path.leaf_lblk;
  journal::BufferRef leaf = std::move(path.leaf);
  const uint32_t blocks = storage_.block_count();
  for (uint32_t visited = 1;; ++visited) {
    const uint8_t* b = leaf->data();
    for (size_t off = format::kDirNodeHeaderEnd; off < dirleaf::End(b);
         off += dirleaf::EntrySizeAt(b, off)) {
      if (dirleaf::EntryHash(b, off) < min_hash) continue;
      const DirEntry e = dirleaf::EntryAt(b, off);
      const std::span<const uint8_t> name(reinterpret_cast<const uint8_t*>(e.name.data()),
                                          e.name.size());
      if (e.ino == 0 ||
          static_cast<uint8_t>(e.type) > static_cast<uint8_t>(format::FileType::kSymlink) ||
          !format::ValidateName(name).ok()) {
        return Corrupt(lblk, "entry with inode 0, a bad file type or a bad name");
      }
      if (!fn(e, Position(e.hash) + 1)) return Status::Ok();
    }
    const uint32_t next = dirleaf::NextLeaf(b);
    if (next == 0) return Status::Ok();
    if (visited >= blocks) return Corrupt(lblk, "next_leaf chain loops");
    ASSIGN_OR_RETURN(leaf, ReadLeaf(next));
    lblk = next;
  }
}

Result<bool> Directory::IsEmpty() {
  bool empty = true;
  RETURN_IF_ERROR(ReadDir(0, [&](const DirEntry&, uint64_t) {
    empty = false;
    return false;
  }));
  return empty;
}

}  // namespace foliofs::fs
