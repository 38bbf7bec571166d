// mkfs safety checks: mounted, read-only, existing signatures.
#include "mkfs/probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fs/format/format.h"

namespace foliofs::mkfs {

namespace {
uint32_t Le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | uint32_t{p[3]} << 24; }

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The loop device backing `file` ("/dev/loopN") and its device number, if any.
bool FindBackingLoop(const std::string& file, std::string* loop, dev_t* dev) {
  char real[PATH_MAX];
  if (realpath(file.c_str(), real) == nullptr) return false;
  DIR* d = opendir("/sys/block");
  if (d == nullptr) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (std::strncmp(e->d_name, "loop", 4) != 0) continue;
    const std::string base = std::string("/sys/block/") + e->d_name;
    if (ReadLine(base + "/loop/backing_file") != real) continue;
    unsigned maj = 0, min = 0;
    if (sscanf(ReadLine(base + "/dev").c_str(), "%u:%u", &maj, &min) != 2) continue;
    *loop = std::string("/dev/") + e->d_name;
    *dev = makedev(maj, min);
    found = true;
    break;
  }
  closedir(d);
  return found;
}

std::string ExtVariant(const uint8_t* sb) {
  const uint32_t compat = Le32(sb + 0x5C), incompat = Le32(sb + 0x60);
  constexpr uint32_t kExt4Incompat = 0x40 /*extents*/ | 0x80 /*64bit*/ | 0x200 /*flex_bg*/;
  if (incompat & kExt4Incompat) return "ext4";
  if (compat & 0x4 /*has_journal*/) return "ext3";
  return "ext2";
}
}  // namespace

std::string FindMountPoint(dev_t dev) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, majmin, root, mount_point;
    fields >> id >> parent >> majmin >> root >> mount_point;
    unsigned maj = 0, min = 0;
    if (sscanf(majmin.c_str(), "%u:%u", &maj, &min) == 2 && makedev(maj, min) == dev) {
      return mount_point;
    }
  }
  return "";
}

Status CheckNotMounted(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Status::Ok();  // the open reports it
  if (S_ISBLK(st.st_mode)) {
    const std::string at = FindMountPoint(st.st_rdev);
    if (!at.empty()) {
      return Status::Error(EBUSY, path + " is mounted on " + at +
                                      "; will not make a filesystem here!");
    }
    return Status::Ok();
  }
  std::string loop;
  dev_t dev;
  if (S_ISREG(st.st_mode) && FindBackingLoop(path, &loop, &dev)) {
    const std::string at = FindMountPoint(dev);
    if (!at.empty()) {
      return Status::Error(EBUSY, path + " backs " + loop + ", which is mounted on " + at +
                                      "; will not make a filesystem here!");
    }
  }
  return Status::Ok();
}

Status CheckWritable(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Status::Error(errno, path + ": " + std::strerror(errno));
  }
  if (S_ISBLK(st.st_mode)) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error(errno, path + ": " + std::strerror(errno));
    int ro = 0;
    const int rc = ioctl(fd, BLKROGET, &ro);
    close(fd);
    if (rc == 0 && ro != 0) {
      return Status::Error(EROFS, path + " is a read-only device; cannot make a filesystem on it");
    }
    return Status::Ok();
  }
  if (access(path.c_str(), W_OK) != 0) {
    return Status::Error(errno == EROFS ? EROFS : errno,
                         path + " is not writable (" + std::strerror(errno) + ")");
  }
  return Status::Ok();
}

std::string DetectSignature(const uint8_t* buf, size_t len) {
  if (len >= 8 && Le32(buf) == format::kBlockMagic &&
      (buf[4] | buf[5] << 8) == static_cast<int>(format::BlockType::kSuperblock)) {
    return "foliofs";
  }
  if (len >= 4 && std::memcmp(buf, "XFSB", 4) == 0) return "xfs";
  if (len >= 1024 + 0x3A && (buf[1024 + 0x38] | buf[1024 + 0x39] << 8) == 0xEF53) {
    return ExtVariant(buf + 1024);
  }
  if (len >= 65600 + 8 && std::memcmp(buf + 65600, "_BHRfS_M", 8) == 0) return "btrfs";
  if (len >= 4096 && std::memcmp(buf + 4086, "SWAPSPACE2", 10) == 0) return "swap";
  return "";
}

}  // namespace foliofs::mkfs
