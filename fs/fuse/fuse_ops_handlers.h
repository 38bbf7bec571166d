// The request handlers, one per low-level operation (internal to fs/fuse).
// fuse_ops.cc puts them in the table; each file groups related operations:
//   fuse_ops_inode.cc   lookup, forget, getattr, setattr, readlink, access, statfs
//   fuse_ops_names.cc   mknod, mkdir, symlink, link, unlink, rmdir, rename
//   fuse_ops_file.cc    open, create, read, write_buf, flush, release, fsync,
//                       fallocate, lseek
//   fuse_ops_dir.cc     opendir, readdir, readdirplus, releasedir, fsyncdir
//   fuse_ops_xattr.cc   setxattr, getxattr, listxattr, removexattr
#pragma once

#include "fs/fuse/fuse_ops.h"

namespace foliofs::fuse::internal {

void DoLookup(fuse_req_t req, fuse_ino_t parent, const char* name);
void DoForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void DoForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets);
void DoGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void DoSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);
void DoReadlink(fuse_req_t req, fuse_ino_t ino);
void DoAccess(fuse_req_t req, fuse_ino_t ino, int mask);
void DoStatfs(fuse_req_t req, fuse_ino_t ino);

void DoMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
void DoMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
void DoSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name);
void DoLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname);
void DoUnlink(fuse_req_t req, fuse_ino_t parent, const char* name);
void DoRmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
void DoRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags);

void DoOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void DoCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi);
void DoRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void DoWriteBuf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* bufv, off_t off,
                fuse_file_info* fi);
void DoFlush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void DoRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void DoFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
void DoFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info* fi);
void DoLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi);

void DoOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void DoReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void DoReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void DoReleasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void DoFsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);

void DoSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags);
void DoGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
void DoListxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void DoRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name);

}  // namespace foliofs::fuse::internal
