// fallocate(2) modes 0 and KEEP_SIZE: unwritten preallocation (I8). Like
// ext4, blocks allocated before an ENOSPC stay allocated; the size then does
// not change.
#include <string>

#include "fs/inode.h"
#include "fs/inode_data_internal.h"

namespace foliofs::fs {

using inode_data::AllocateRange;
using inode_data::DivRoundUp;
using inode_data::MaxFileBytes;
using inode_data::UpdateRecord;

namespace {

constexpr uint64_t kMaxOffT = static_cast<uint64_t>(INT64_MAX);

Status CheckArgs(const Inode& inode, int mode, uint64_t offset, uint64_t length) {
  if (inode.is_dir()) return Status::Error(EISDIR, "fallocate on a directory");
  if (!inode.is_reg()) return Status::Error(ENODEV, "fallocate on a non-regular file");
  if ((mode & ~kFallocKeepSize) != 0) {
    return Status::Error(EOPNOTSUPP, "fallocate mode " + std::to_string(mode) + " not supported");
  }
  if (length == 0 || offset > kMaxOffT || length > kMaxOffT) {
    return Status::Error(EINVAL, "fallocate: bad range");
  }
  return Status::Ok();
}

}  // namespace

Status Inode::Fallocate(int mode, uint64_t offset, uint64_t length) {
  RETURN_IF_ERROR(CheckArgs(*this, mode, offset, length));
  if (mapping_ == nullptr || tree_ == nullptr) return Status::Error(ENODEV, "fallocate: no data");
  if (offset + length > MaxFileBytes(fs_) || offset + length < offset) {
    return Status::Error(EFBIG, "fallocate past the largest file");
  }
  RETURN_IF_ERROR(fs_.CheckWritable());
  const uint64_t bs = fs_.block_size;
  const uint64_t end = offset + length;
  RETURN_IF_ERROR(AllocateRange(*this, offset / bs, DivRoundUp(end, bs)));

  const uint64_t old = size();
  if ((mode & kFallocKeepSize) == 0 && end > old) {
    // I6: the old EOF block's tail is zeroed before the new size is visible.
    RETURN_IF_ERROR(IomapTruncatePage(*this, old));
    set_size(end);
    return UpdateRecord(*this, true, true, &end);
  }
  return UpdateRecord(*this, false, true, nullptr);
}

}  // namespace foliofs::fs
