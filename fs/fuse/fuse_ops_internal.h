// Helpers shared by the handler files (fuse_ops_*.cc); internal to fs/fuse.
//
// Every handler has the shape
//     void DoX(fuse_req_t req, ...) {
//       Guard(req, "x", [&] { ... exactly one reply ... });
//     }
// and the handler tables in fuse_ops.cc name them all.
#pragma once

#include <sys/stat.h>

#include <exception>
#include <memory>
#include <string>

#include "fs/filesystem.h"
#include "fs/fuse/fuse_ops.h"
#include "pagecache/base/log.h"
#include "pagecache/base/status.h"

namespace foliofs::fuse::internal {

inline FuseFs& Self(fuse_req_t req) { return *static_cast<FuseFs*>(fuse_req_userdata(req)); }

inline spdlog::logger& Log() {
  static const std::shared_ptr<spdlog::logger> logger = GetLogger("fuse");
  return *logger;
}

// Replies with `err` (a positive errno); anything out of range becomes EIO.
void ReplyErr(fuse_req_t req, const char* op, int err);
inline void ReplyStatus(fuse_req_t req, const char* op, const Status& st) {
  if (!st.ok()) Log().debug("{}: {}", op, st.ToString());
  ReplyErr(req, op, st.ok() ? 0 : st.err());
}

// Runs `body`; an exception escaping it is logged and answered with EIO (or
// no reply for forget, whose `reply_none` is true). A body that already
// replied must not throw afterwards: it only throws while it prepares data
// (allocation), before its one reply.
template <typename Body>
void Guard(fuse_req_t req, const char* op, Body&& body, bool reply_none = false) {
  try {
    body();
    return;
  } catch (const std::exception& e) {
    Log().error("{}: unexpected exception: {}", op, e.what());
  } catch (...) {
    Log().error("{}: unexpected exception", op);
  }
  if (reply_none) {
    fuse_reply_none(req);
  } else {
    fuse_reply_err(req, EIO);
  }
}

// stat(2) fields from an Attr (st_ino: foliofs's own inode number).
struct stat ToStat(const fs::Attr& attr);

// Replies with an entry holding one Filesystem reference to attr.ino; if the
// kernel drops the reply, the reference is given back (Forget).
void ReplyEntry(fuse_req_t req, const fs::Attr& attr);

inline fs::Caller CallerOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  // The kernel applied the umask to the mode already (no FUSE_CAP_DONT_MASK).
  return fs::Caller{ctx->uid, ctx->gid, 0};
}

// Open flags we answer with: the kernel's page cache stays valid across
// opens, because every change to file data goes through this mount and the
// changes the daemon makes itself are invalidated explicitly.
inline void SetOpenFlags(fuse_file_info* fi) { fi->keep_cache = 1; }

}  // namespace foliofs::fuse::internal
