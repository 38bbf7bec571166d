// Helpers for the mkfs/fsck tool tests: run a built binary, a mkdtemp
// directory removed afterwards, image files, and RAII guards that detach only
// the loop device they attached and unmount only what they mounted, even when
// the test fails.
#pragma once

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace foliofs::tooltest {

struct RunResult {
  int rc = -1;         // exit status, or -1 if it did not exit normally
  std::string output;  // stdout and stderr together
};

// Single-quotes `s` for /bin/sh.
inline std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `cmd` through /bin/sh, capturing stdout and stderr.
inline RunResult Shell(const std::string& cmd) {
  RunResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs `$FOLIOFS_BIN_DIR/<tool>` with `args`.
inline RunResult RunTool(const std::string& tool, const std::vector<std::string>& args) {
  const char* dir = std::getenv("FOLIOFS_BIN_DIR");
  std::string cmd = Quote(std::string(dir ? dir : "build/bin") + "/" + tool);
  for (const auto& a : args) cmd += " " + Quote(a);
  return Shell(cmd);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/foliofs-mkfs-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Creates a sparse file of `bytes` and returns its path.
  std::string Image(const std::string& name, uint64_t bytes) const {
    const std::string p = path_ + "/" + name;
    FILE* f = fopen(p.c_str(), "w");
    if (f != nullptr) fclose(f);
    std::error_code ec;
    std::filesystem::resize_file(p, bytes, ec);
    return p;
  }

 private:
  std::string path_;
};

// Attaches `image` to a free loop device; detaches exactly that device on destruction.
class LoopDevice {
 public:
  explicit LoopDevice(const std::string& image, bool read_only = false) {
    RunResult r = Shell(std::string("losetup ") + (read_only ? "-r " : "") + "-f --show " +
                        Quote(image));
    if (r.rc == 0) {
      while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' ')) {
        r.output.pop_back();
      }
      if (r.output.rfind("/dev/loop", 0) == 0) path_ = r.output;
    }
  }
  ~LoopDevice() {
    if (!path_.empty()) Shell("losetup -d " + Quote(path_));
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Mounts `device` (fstype) on `dir`; unmounts it on destruction if the mount succeeded.
class MountGuard {
 public:
  MountGuard(const std::string& device, const std::string& dir, const std::string& fstype)
      : dir_(dir) {
    mounted_ = mount(device.c_str(), dir.c_str(), fstype.c_str(), 0, nullptr) == 0;
  }
  ~MountGuard() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;
  bool ok() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

}  // namespace foliofs::tooltest
