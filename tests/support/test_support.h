// Shared test support for every suite that touches real things: commands and
// built tools run as a user would, mkdtemp directories, image files, and RAII
// guards that detach only the loop device they attached and unmount only what
// they mounted — even when the test fails (the guard's destructor runs on
// ASSERT_* failure too).
//
// Not thread-safe beyond what the kernel gives (each guard owns its object).
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace foliofs::testsupport {

struct CommandResult {
  int rc = -1;         // exit status, or -1 if the command did not exit normally
  std::string output;  // stdout, plus stderr when asked for
};

// Single-quotes `s` for /bin/sh.
inline std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline void TrimTrailingSpace(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
}

// Runs `cmd` through /bin/sh. stderr is captured with stdout when
// `with_stderr`, else discarded (for commands whose stdout is parsed).
inline CommandResult Shell(const std::string& cmd, bool with_stderr = true) {
  CommandResult r;
  FILE* p = popen((cmd + (with_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (p == nullptr) return r;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs `$FOLIOFS_BIN_DIR/<tool>` (set by CTest) with `args`, stdout and stderr together.
inline CommandResult RunTool(const std::string& tool, const std::vector<std::string>& args) {
  const char* dir = std::getenv("FOLIOFS_BIN_DIR");
  std::string cmd = Quote(std::string(dir ? dir : "build/bin") + "/" + tool);
  for (const auto& a : args) cmd += " " + Quote(a);
  return Shell(cmd);
}

// Creates a sparse file of `size` bytes; false on failure.
inline bool MakeImage(const std::string& path, uint64_t size) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  bool ok = ftruncate(fd, static_cast<off_t>(size)) == 0;
  close(fd);
  return ok;
}

// A fresh mkdtemp directory under /tmp, removed with its contents.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "foliofs-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Creates a sparse image file of `bytes` in this directory and returns its path
  // ("" on failure).
  std::string Image(const std::string& name, uint64_t bytes) const {
    const std::string p = File(name);
    return MakeImage(p, bytes) ? p : "";
  }

 private:
  std::string path_;
};

// Why loop devices cannot be used here, or "" if they can.
inline std::string LoopUnavailableReason() {
  if (geteuid() != 0) return "loop device tests need root";
  if (access("/dev/loop-control", F_OK) != 0) return "/dev/loop-control is missing";
  return "";
}

// A loop device over an image, attached by this object and detached by it
// (only that device, never another).
class LoopDevice {
 public:
  // `flags`: extra losetup flags, e.g. "-r" (read-only) or "-b 4096" (4 KiB
  // sectors). nullptr if no loop device could be attached.
  static std::unique_ptr<LoopDevice> Attach(const std::string& image,
                                            const std::string& flags = "") {
    CommandResult r = Shell("losetup -f --show " + flags + " " + Quote(image),
                            /*with_stderr=*/false);
    TrimTrailingSpace(r.output);
    if (r.rc != 0 || r.output.rfind("/dev/loop", 0) != 0) return nullptr;
    return std::unique_ptr<LoopDevice>(new LoopDevice(r.output));
  }
  ~LoopDevice() { Shell("losetup -d " + Quote(path_)); }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  const std::string& path() const { return path_; }

 private:
  explicit LoopDevice(std::string path) : path_(std::move(path)) {}
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

}  // namespace foliofs::testsupport
