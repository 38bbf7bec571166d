// setxattr, getxattr, listxattr, removexattr.
//
// Size probes as xattr(7): a request with size 0 asks for the size
// (fuse_reply_xattr); a buffer too small for the value is ERANGE.
#include <string>

#include "fs/fuse/fuse_ops_handlers.h"
#include "fs/fuse/fuse_ops_internal.h"

namespace foliofs::fuse::internal {
namespace {

void ReplyXattrData(fuse_req_t req, const char* op, const std::string& data, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, data.size());
  } else if (data.size() > size) {
    ReplyErr(req, op, ERANGE);
  } else {
    fuse_reply_buf(req, data.data(), data.size());
  }
}

}  // namespace

void DoSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  Guard(req, "setxattr", [&] {
    FuseFs& self = Self(req);
    // XATTR_CREATE / XATTR_REPLACE have the values of fs::kXattrCreate / kXattrReplace.
    Status st = self.fs().SetXattr(self.ToFs(ino), name, std::string_view(value, size), flags);
    // st_blocks may have changed (the external xattr block); the kernel keeps
    // attributes for their timeout, so drop them before replying.
    if (st.ok()) self.InvalidateAttrsNow(self.ToFs(ino));
    ReplyStatus(req, "setxattr", st);
  });
}

void DoGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guard(req, "getxattr", [&] {
    FuseFs& self = Self(req);
    Result<std::string> value = self.fs().GetXattr(self.ToFs(ino), name);
    if (!value.ok()) return ReplyStatus(req, "getxattr", value.status());
    ReplyXattrData(req, "getxattr", *value, size);
  });
}

void DoListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guard(req, "listxattr", [&] {
    FuseFs& self = Self(req);
    Result<std::vector<std::string>> names = self.fs().ListXattr(self.ToFs(ino));
    if (!names.ok()) return ReplyStatus(req, "listxattr", names.status());
    std::string list;  // "name\0name\0..."
    // trusted.* is for CAP_SYS_ADMIN only (xattr(7)); the kernel filters
    // get/set of them but not the list. uid 0 stands in for the capability.
    const bool privileged = fuse_req_ctx(req)->uid == 0;
    for (const std::string& n : *names) {
      if (!privileged && n.rfind("trusted.", 0) == 0) continue;
      list += n;
      list += '\0';
    }
    ReplyXattrData(req, "listxattr", list, size);
  });
}

void DoRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Guard(req, "removexattr", [&] {
    FuseFs& self = Self(req);
    Status st = self.fs().RemoveXattr(self.ToFs(ino), name);
    if (st.ok()) self.InvalidateAttrsNow(self.ToFs(ino));
    ReplyStatus(req, "removexattr", st);
  });
}

}  // namespace foliofs::fuse::internal
