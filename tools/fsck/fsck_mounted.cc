// Mount detection for fsck.foliofs; see fsck_mounted.h.
#include "tools/fsck/fsck_mounted.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace foliofs::fsck {

namespace {

// Undoes the octal escapes of /proc/self/mounts (\040 for a space, ...).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct = s.substr(i + 1, 3);
      if (oct.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::strtol(oct.c_str(), nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

// The file behind loop device `source` ("/dev/loopN"), or "".
std::string LoopBackingFile(const std::string& source) {
  const std::string base = source.substr(source.find_last_of('/') + 1);
  if (base.rfind("loop", 0) != 0) return "";
  std::ifstream in("/sys/block/" + base + "/loop/backing_file");
  std::string line;
  std::getline(in, line);
  return line;
}

bool SameDevice(const std::string& source, const std::string& device_real,
                const struct stat& device_st, bool device_is_blk) {
  if (RealPath(source) == device_real) return true;
  struct stat st;
  if (device_is_blk && stat(source.c_str(), &st) == 0 && S_ISBLK(st.st_mode) &&
      st.st_rdev == device_st.st_rdev) {
    return true;
  }
  const std::string backing = LoopBackingFile(source);
  return !backing.empty() && RealPath(backing) == device_real;
}

}  // namespace

bool IsMounted(const std::string& device, const std::string& mounts_path) {
  struct stat device_st {};
  const bool device_is_blk = stat(device.c_str(), &device_st) == 0 && S_ISBLK(device_st.st_mode);
  const std::string device_real = RealPath(device);
  std::ifstream mounts(mounts_path);
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string source;
    if (!(fields >> source) || source.empty() || source[0] != '/') continue;
    if (SameDevice(Unescape(source), device_real, device_st, device_is_blk)) return true;
  }
  return false;
}

}  // namespace foliofs::fsck
