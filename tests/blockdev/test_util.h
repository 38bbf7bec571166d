// Helpers for the block device tests: a temp dir removed on destruction, image
// files, a loop device detached on destruction (even when the test fails),
// a mount guard, and deterministic data patterns.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

namespace foliofs::bdtest {

// Runs a shell command; returns its exit status and (trimmed) stdout.
inline int RunCommand(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[256];
  while (fgets(buf, sizeof buf, p) != nullptr) text += buf;
  int rc = pclose(p);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (out != nullptr) *out = text;
  return rc;
}

// A fresh mkdtemp directory under /tmp, removed with its contents.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/foliofs-bd-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
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

 private:
  std::string path_;
};

// Creates a sparse file of `size` bytes; false on failure.
inline bool MakeImage(const std::string& path, uint64_t size) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  bool ok = ftruncate(fd, static_cast<off_t>(size)) == 0;
  close(fd);
  return ok;
}

// Why loop devices cannot be used here, or "" if they can.
inline std::string LoopUnavailableReason() {
  if (geteuid() != 0) return "loop device tests need root";
  if (access("/dev/loop-control", F_OK) != 0) return "/dev/loop-control is missing";
  return "";
}

// A loop device over an image, attached by this object and detached by it.
class LoopDevice {
 public:
  // `flags`: extra losetup flags, e.g. "-b 4096" for 4 KiB logical sectors.
  static std::unique_ptr<LoopDevice> Attach(const std::string& image,
                                            const std::string& flags = "") {
    std::string dev;
    if (RunCommand("losetup -f --show " + flags + " '" + image + "'", &dev) != 0 ||
        dev.rfind("/dev/loop", 0) != 0)
      return nullptr;
    return std::unique_ptr<LoopDevice>(new LoopDevice(dev));
  }
  ~LoopDevice() { RunCommand("losetup -d '" + path_ + "'"); }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  const std::string& path() const { return path_; }

 private:
  explicit LoopDevice(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Unmounts `dir` on destruction if Mount succeeded.
class MountGuard {
 public:
  bool Mount(const std::string& dev, const std::string& dir, const std::string& type) {
    mounted_ = mount(dev.c_str(), dir.c_str(), type.c_str(), 0, nullptr) == 0;
    if (mounted_) dir_ = dir;
    return mounted_;
  }
  ~MountGuard() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }

 private:
  bool mounted_ = false;
  std::string dir_;
};

// Deterministic bytes for (seed, position): any block can be re-derived.
inline void FillPattern(uint8_t* p, size_t len, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < len; ++j) p[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
}

}  // namespace foliofs::bdtest
