// Filesystem: a mounted foliofs — the public face of fs/ (what the FUSE front
// end in fs/fuse/ and the tests call). Operations are addressed by inode
// number, like FUSE's low-level API, and return errors as values (errno +
// message); nothing here throws.
//
// What it promises:
//  - Mount replays the journal (if the superblock says RECOVER or the log is
//    not empty), then processes the orphan list (frees unlinked inodes that
//    were still open at a crash; finishes interrupted truncates). Clear errors
//    for a damaged or foreign image: bad magic / checksum (EUCLEAN), unknown
//    incompat feature (EOPNOTSUPP), a device smaller than the superblock says
//    (EINVAL), each naming the device.
//  - Every metadata change happens inside journal handles; one namespace
//    operation is one handle, so it is atomic across a crash. Long truncates
//    span handles with the inode on the orphan list (FORMAT.md §11).
//  - File data goes through the page cache and fs/iomap: blocks for buffered
//    writes and fallocate are allocated unwritten and converted to written
//    after the data I/O completes (I8). Fsync writes the file's dirty data
//    (no handle held, I1), then forces the commit of the last transaction that
//    changed the inode.
//  - Unmount (and Sync) leave everything durable: dirty data written, the
//    journal committed and checkpointed, the superblock's counters and CLEAN
//    state written (FUA). After Unmount returns the device holds the whole
//    filesystem and fsck finds it clean.
//  - Lookup counting as in FUSE: Lookup, Create, Mkdir, Mknod, Symlink and Link
//    each add one reference to the inode they return; Forget(ino, n) drops n.
//    Open/Release count opens. An inode whose nlink is 0 is freed when both
//    counts reach zero (until then it is on the orphan list).
//  - Permission checks are the kernel's (the mount uses default_permissions);
//    Access() implements access(2) for callers that ask.
//  - A read-only mount (MountOptions::read_only) refuses every change with
//    EROFS and never writes the device (journal replay excepted, which must
//    run; a read-only device with a journal to replay fails with EROFS).
//
// Thread safety: every method may be called concurrently from the FUSE
// session threads. Locking is internal and written down in fs/LOCKING.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fs/format/format.h"
#include "pagecache/base/status.h"
#include "pagecache/blockdev/block_device.h"

namespace foliofs::fs {

struct FsContext;  // fs/fs_context.h (internal)

struct MountOptions {
  bool read_only = false;
  uint64_t cache_size = 256ull << 20;             // page cache bytes
  std::chrono::milliseconds commit_interval{5000};  // journal commit (-o commit=SECONDS)
  unsigned flusher_threads = 2;
  size_t metadata_buffers = 16384;                // journal BufferCache clean-buffer bound
};

// stat(2)-like attributes. blocks is in 512-byte units, like st_blocks.
struct Attr {
  uint64_t ino = 0;
  uint32_t generation = 0;
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;
  uint32_t blksize = 0;
  format::Timespec atime, mtime, ctime, crtime;
};

// setattr: which fields to change (bits), and their values.
struct SetAttrRequest {
  enum : uint32_t {
    kMode = 1u << 0,
    kUid = 1u << 1,
    kGid = 1u << 2,
    kSize = 1u << 3,
    kAtime = 1u << 4,
    kMtime = 1u << 5,
    kAtimeNow = 1u << 6,
    kMtimeNow = 1u << 7,
    kCtime = 1u << 8,
  };
  uint32_t valid = 0;
  uint32_t mode = 0;  // permission bits (and suid/sgid/sticky); the type never changes
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  format::Timespec atime, mtime, ctime;
};

// Who asks (from the FUSE request): owner of new inodes.
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t umask = 0;  // already applied by the kernel when it sends one; 0 here
};

struct DirListEntry {
  std::string name;
  uint64_t ino = 0;
  uint32_t mode_type = 0;  // S_IFMT bits (from the entry's dtype)
  uint64_t next_cookie = 0;  // resume readdir here to get the entries after this one
};

struct FsStats {
  uint32_t block_size = 0;
  uint64_t blocks = 0;
  uint64_t free_blocks = 0;   // bfree: everything free
  uint64_t avail_blocks = 0;  // bavail: free minus the metadata reserve
  uint64_t inodes = 0;
  uint64_t free_inodes = 0;
  uint32_t name_max = 255;
};

// Rename flags (renameat2).
inline constexpr unsigned kRenameNoReplace = 1u << 0;
inline constexpr unsigned kRenameExchange = 1u << 1;

// Xattr set flags (setxattr(2)).
inline constexpr int kXattrCreate = 1;
inline constexpr int kXattrReplace = 2;

// fallocate(2) modes accepted (the others: EOPNOTSUPP).
inline constexpr int kFallocKeepSize = 0x01;
inline constexpr int kFallocPunchHole = 0x02;
inline constexpr int kFallocZeroRange = 0x10;

class Filesystem {
 public:
  // Takes ownership of the device. `device_name` names it in messages.
  static Result<std::unique_ptr<Filesystem>> Mount(std::unique_ptr<BlockDevice> device,
                                                   std::string device_name,
                                                   const MountOptions& options);
  ~Filesystem();  // Unmount() if not done, errors logged
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // Writes everything and closes the journal; the object then refuses every
  // call with EIO. Idempotent.
  Status Unmount();
  // syncfs: all dirty data and metadata durable.
  Status Sync();

  uint64_t root_ino() const;
  uint32_t block_size() const;
  bool read_only() const;

  // ---- namespace ----
  Result<Attr> Lookup(uint64_t parent, std::string_view name);
  void Forget(uint64_t ino, uint64_t nlookup);
  Result<Attr> GetAttr(uint64_t ino);
  Result<Attr> SetAttr(uint64_t ino, const SetAttrRequest& request);
  Result<std::string> ReadLink(uint64_t ino);
  // mode includes the type bits (S_IFREG, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK).
  Result<Attr> Mknod(uint64_t parent, std::string_view name, uint32_t mode, uint64_t rdev,
                     const Caller& caller);
  Result<Attr> Mkdir(uint64_t parent, std::string_view name, uint32_t mode, const Caller& caller);
  Result<Attr> Symlink(uint64_t parent, std::string_view name, std::string_view target,
                       const Caller& caller);
  Result<Attr> Link(uint64_t ino, uint64_t new_parent, std::string_view new_name);
  Status Unlink(uint64_t parent, std::string_view name);
  Status Rmdir(uint64_t parent, std::string_view name);
  Status Rename(uint64_t parent, std::string_view name, uint64_t new_parent,
                std::string_view new_name, unsigned flags);
  // Create = Mknod(S_IFREG) + Open, atomically.
  Result<Attr> Create(uint64_t parent, std::string_view name, uint32_t mode,
                      const Caller& caller);
  // access(2): mask of R_OK/W_OK/X_OK for the caller (F_OK: existence).
  Status Access(uint64_t ino, int mask, const Caller& caller);

  // ---- directories ----
  // Calls fn for each entry at or after `cookie` (0 = start; "." and ".."
  // included) until fn returns false or the directory ends.
  Status ReadDir(uint64_t ino, uint64_t cookie,
                 const std::function<bool(const DirListEntry&)>& fn);
  Status FsyncDir(uint64_t ino);

  // ---- files ----
  // EISDIR for a directory opened for writing is the kernel's; Open counts.
  Status Open(uint64_t ino);
  void Release(uint64_t ino);
  Result<size_t> Read(uint64_t ino, uint64_t offset, std::span<uint8_t> out);
  Result<size_t> Write(uint64_t ino, uint64_t offset, std::span<const uint8_t> data);
  // Writes the file's dirty data and, unless datasync with only times
  // changed, its metadata.
  Status Fsync(uint64_t ino, bool datasync);
  // Flush (close of one fd): reports a pending writeback error, if any. The
  // FUSE front end does not call it (FLUSH answers ENOSYS, fs/fuse/README.md):
  // Fsync reports such errors, as on ext4.
  Status Flush(uint64_t ino);
  Status Fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length);
  // SEEK_DATA (3) / SEEK_HOLE (4).
  Result<uint64_t> Lseek(uint64_t ino, uint64_t offset, int whence);

  // ---- xattrs ---- (names with their namespace prefix: "user.x")
  Status SetXattr(uint64_t ino, std::string_view name, std::string_view value, int flags);
  Result<std::string> GetXattr(uint64_t ino, std::string_view name);
  // The names, each with its prefix.
  Result<std::vector<std::string>> ListXattr(uint64_t ino);
  Status RemoveXattr(uint64_t ino, std::string_view name);

  Result<FsStats> StatFs();

  // Tests: the internals (inode cache, allocator, journal).
  FsContext& context() { return *ctx_; }

 private:
  explicit Filesystem(std::unique_ptr<FsContext> ctx);
  Status ProcessOrphans();  // mount: free unlinked orphans, finish truncates
  Status StampMount();      // mount: clear CLEAN, mount time and count
  std::unique_ptr<FsContext> ctx_;
};

}  // namespace foliofs::fs
