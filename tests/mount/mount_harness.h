// Mount-level test harness: every test runs against a freshly made filesystem
// mounted through the real daemon, as a user would use it.
//
// Per test (MountTest::SetUp): a sparse image file in a TempDir, a loop device
// over it (tests/support LoopDevice), mkfs, and the daemon started as a child
// process (`foliofs DEV MNT -f -o writeback_cache|no_writeback_cache`); SetUp
// returns once the mount point shows in /proc/self/mounts. Over a block
// device the daemon mounts as fuseblk, so umount(2) waits until the daemon has
// written everything back.
//
// TearDown, also after a failed test: umount, wait for the daemon and EXPECT
// exit status 0, then EXPECT `fsck.foliofs -f -n` exit 0 ("fsck clean after
// every test"), then detach. The MountedFs destructor is the last resort: lazy
// umount and SIGKILL of the daemon, so one broken test cannot wedge the next.
//
// FOLIOFS_MOUNT_TEST_FS=ext4 runs the same tests against the kernel's ext4 on
// the same loop device (mkfs.ext4 -q, mount -t ext4, fsck with e2fsck -f -n):
// the expectations are POSIX/Linux behaviour, and ext4 is the reference that
// validates the tests themselves. The writeback_cache parameter is then moot.
//
// The fixture is parameterized by writeback_cache on/off; instantiate a suite
// with FOLIOFS_INSTANTIATE_MOUNT_TEST(SuiteName).
//
// Needs root, /dev/loop-control and /dev/fuse; skips itself otherwise.
// Thread safety: one fixture per test thread; helpers are plain syscalls.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

#ifndef FOLIOFS_BIN_DIR
#define FOLIOFS_BIN_DIR "build/bin"
#endif

namespace foliofs::mounttest {

using testsupport::CommandResult;
using testsupport::Quote;
using testsupport::Shell;

enum class FsKind { kFoliofs, kExt4 };

// FOLIOFS_MOUNT_TEST_FS=ext4 selects the kernel ext4 reference; anything else foliofs.
inline FsKind FsKindFromEnv() {
  const char* v = std::getenv("FOLIOFS_MOUNT_TEST_FS");
  return v != nullptr && std::string(v) == "ext4" ? FsKind::kExt4 : FsKind::kFoliofs;
}

// The directory holding foliofs, mkfs.foliofs and fsck.foliofs: $FOLIOFS_BIN_DIR
// (set by CTest) or the compile-time FOLIOFS_BIN_DIR.
inline std::string BinDir() {
  const char* v = std::getenv("FOLIOFS_BIN_DIR");
  return v != nullptr && *v != '\0' ? v : FOLIOFS_BIN_DIR;
}

inline bool IsMountPoint(const std::string& dir) {
  std::ifstream in("/proc/self/mounts");
  std::string dev, mnt, rest;
  while (in >> dev >> mnt && std::getline(in, rest)) {
    if (mnt == dir) return true;
  }
  return false;
}

struct MountOptions {
  bool writeback_cache = true;
  uint64_t image_bytes = 2ull << 30;  // sparse; room for a copy of /usr/include
  std::string cache_size;             // daemon cache_size=, "" = its default
};

// One filesystem instance: TempDir, image, loop device, mkfs, and the mount
// (the daemon child process for foliofs). Non-copyable; the destructor always
// leaves nothing mounted, no daemon running and the loop device detached.
class MountedFs {
 public:
  // Makes the image, attaches it and runs mkfs. nullptr with `*error` set on failure.
  static std::unique_ptr<MountedFs> Make(FsKind kind, const MountOptions& opts,
                                         std::string* error) {
    std::unique_ptr<MountedFs> fs(new MountedFs(kind, opts));
    if (!fs->dir_.ok()) return Fail(error, "mkdtemp failed");
    // Other users (RunAs) must reach the mount point through the 0700 mkdtemp dir.
    if (chmod(fs->dir_.path().c_str(), 0755) != 0) return Fail(error, "chmod tempdir failed");
    const std::string image = fs->dir_.Image("image", opts.image_bytes);
    if (image.empty()) return Fail(error, "cannot make the image file");
    fs->mnt_ = fs->dir_.File("mnt");
    if (mkdir(fs->mnt_.c_str(), 0755) != 0) return Fail(error, "mkdir mnt failed");
    fs->loop_ = testsupport::LoopDevice::Attach(image);
    if (fs->loop_ == nullptr) return Fail(error, "losetup failed");
    const std::string mkfs = kind == FsKind::kExt4
                                 ? "mkfs.ext4 -q -F " + Quote(fs->device())
                                 : Quote(BinDir() + "/mkfs.foliofs") + " -q " + Quote(fs->device());
    CommandResult r = Shell(mkfs);
    if (r.rc != 0) return Fail(error, "mkfs failed (" + std::to_string(r.rc) + "): " + r.output);
    return fs;
  }

  ~MountedFs() { ForceCleanup(); }
  MountedFs(const MountedFs&) = delete;
  MountedFs& operator=(const MountedFs&) = delete;

  const std::string& mnt() const { return mnt_; }
  const std::string& device() const { return loop_->path(); }
  FsKind kind() const { return kind_; }
  bool mounted() const { return mounted_; }
  // Output of the daemon so far (stdout + stderr), for failure messages.
  std::string DaemonLog() const { return ReadTail(dir_.File("daemon.log"), 16384); }

  // Mounts; returns "" on success, else why not.
  std::string Mount() {
    if (mounted_) return "already mounted";
    if (kind_ == FsKind::kExt4) {
      if (mount(device().c_str(), mnt_.c_str(), "ext4", 0, nullptr) != 0) {
        return std::string("mount ext4: ") + strerror(errno);
      }
      mounted_ = true;
      return "";
    }
    return StartDaemon();
  }

  // Unmounts and, for foliofs, waits for the daemon. "" when the umount worked
  // and the daemon exited with status 0; else what went wrong (cleanup is done
  // either way: lazy umount and SIGKILL as last resorts).
  std::string Unmount() {
    if (!mounted_) return "not mounted";
    std::string problem = UmountWithRetry();
    mounted_ = false;
    if (kind_ == FsKind::kFoliofs) {
      // After a lazy umount the daemon lives on while anything holds the
      // mount; do not wait long for it then.
      const auto limit = std::chrono::seconds(problem.empty() ? 120 : 10);
      const std::string exit_problem = ReapDaemon(limit);
      if (problem.empty()) problem = exit_problem;
    }
    return problem;
  }

  // Runs the checker read-only over the unmounted device: fsck.foliofs -f -n
  // (e2fsck -f -n for ext4). Returns the exit code; `*output` gets its output.
  int Fsck(std::string* output) const {
    const std::string cmd = kind_ == FsKind::kExt4
                                ? "e2fsck -f -n " + Quote(device())
                                : Quote(BinDir() + "/fsck.foliofs") + " -f -n " + Quote(device());
    CommandResult r = Shell(cmd);
    if (output != nullptr) *output = r.output;
    return r.rc;
  }

 private:
  MountedFs(FsKind kind, const MountOptions& opts)
      : kind_(kind), opts_(opts), dir_("foliofs-mount") {}

  static std::unique_ptr<MountedFs> Fail(std::string* error, const std::string& why) {
    if (error != nullptr) *error = why;
    return nullptr;
  }

  static std::string ReadTail(const std::string& path, size_t max) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > max ? "..." + s.substr(s.size() - max) : s;
  }

  // FOLIOFS_MOUNT_TEST_DAEMON_PREFIX runs the daemon under a wrapper, given as
  // shell words, e.g.
  //   gdb -batch -return-child-result -ex run -ex 'thread apply all bt 20' --args
  // to get a backtrace of a daemon crash into daemon.log (and the failure message).
  std::vector<std::string> DaemonArgv() const {
    std::string o = opts_.writeback_cache ? "writeback_cache" : "no_writeback_cache";
    if (!opts_.cache_size.empty()) o += ",cache_size=" + opts_.cache_size;
    std::vector<std::string> argv;
    if (const char* prefix = std::getenv("FOLIOFS_MOUNT_TEST_DAEMON_PREFIX")) {
      argv = {"/bin/sh", "-c", std::string("exec ") + prefix + " \"$@\"", "sh"};
    }
    for (const std::string& a : {BinDir() + "/foliofs", device(), mnt_, std::string("-f"),
                                 std::string("-o"), o}) {
      argv.push_back(a);
    }
    return argv;
  }

  // Forks and execs the daemon, then waits for the mount to show up (or the
  // daemon to die). Returns "" once mounted.
  std::string StartDaemon() {
    const std::vector<std::string> args = DaemonArgv();
    const std::string daemon = BinDir() + "/foliofs";
    if (access(daemon.c_str(), X_OK) != 0) return "no daemon binary at " + daemon;
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::string log = dir_.File("daemon.log");
    const pid_t pid = fork();
    if (pid < 0) return std::string("fork: ") + strerror(errno);
    if (pid == 0) {
      // If the test binary dies (CTest timeout, crash), the daemon gets SIGTERM
      // and unmounts instead of leaving a stale mount behind.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    daemon_ = pid;
    return WaitForMount();
  }

  std::string WaitForMount() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (IsMountPoint(mnt_)) {
        mounted_ = true;
        return "";
      }
      int status = 0;
      if (waitpid(daemon_, &status, WNOHANG) == daemon_) {
        daemon_ = -1;
        return "daemon exited before mounting (" + DescribeStatus(status) + "); log:\n" +
               DaemonLog();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    KillDaemon();
    return "mount did not appear within 60s; log:\n" + DaemonLog();
  }

  static std::string DescribeStatus(int status) {
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
  }

  // umount(2), retrying EBUSY for a while (a just-closed file may still be
  // releasing), then umount -l as the last resort.
  std::string UmountWithRetry() {
    int err = 0;
    for (int i = 0; i < 100; ++i) {
      if (umount2(mnt_.c_str(), 0) == 0) return "";
      err = errno;
      if (err != EBUSY) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    umount2(mnt_.c_str(), MNT_DETACH);
    return std::string("umount failed: ") + strerror(err) + "; used umount -l";
  }

  // Waits up to `limit` for the daemon to exit; SIGKILL after that. "" iff exit status 0.
  std::string ReapDaemon(std::chrono::seconds limit) {
    if (daemon_ <= 0) return "no daemon";
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      const pid_t r = waitpid(daemon_, &status, WNOHANG);
      if (r == daemon_) {
        daemon_ = -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
        return "daemon " + DescribeStatus(status) + "; log:\n" + DaemonLog();
      }
      if (r < 0) {
        daemon_ = -1;
        return std::string("waitpid: ") + strerror(errno);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    KillDaemon();
    return "daemon did not exit after umount; killed; log:\n" + DaemonLog();
  }

  void KillDaemon() {
    if (daemon_ <= 0) return;
    kill(daemon_, SIGKILL);
    int status = 0;
    waitpid(daemon_, &status, 0);
    daemon_ = -1;
  }

  // Last resort, also on the failure paths: nothing stays mounted or running.
  void ForceCleanup() {
    if (mounted_) {
      if (umount2(mnt_.c_str(), 0) != 0) umount2(mnt_.c_str(), MNT_DETACH);
      mounted_ = false;
    }
    if (daemon_ > 0) ReapDaemon(std::chrono::seconds(30));
    // Never let TempDir's remove_all walk into a live mount.
    if (!mnt_.empty() && IsMountPoint(mnt_)) umount2(mnt_.c_str(), MNT_DETACH);
    loop_.reset();
  }

  FsKind kind_;
  MountOptions opts_;
  testsupport::TempDir dir_;  // destroyed last: holds the image and the mount point
  std::string mnt_;
  std::unique_ptr<testsupport::LoopDevice> loop_;
  pid_t daemon_ = -1;
  bool mounted_ = false;
};

// Why the suite cannot run here, or "".
inline std::string MountUnavailableReason(FsKind kind) {
  std::string why = testsupport::LoopUnavailableReason();
  if (!why.empty()) return why;
  if (kind == FsKind::kFoliofs && access("/dev/fuse", R_OK | W_OK) != 0) return "no /dev/fuse";
  return "";
}

// The fixture. GetParam() is writeback_cache.
class MountTest : public ::testing::TestWithParam<bool> {
 protected:
  // Override to change the image or daemon options for a whole suite.
  virtual MountOptions Options() const {
    MountOptions o;
    o.writeback_cache = GetParam();
    return o;
  }

  void SetUp() override {
    const FsKind kind = FsKindFromEnv();
    const std::string why = MountUnavailableReason(kind);
    if (!why.empty()) GTEST_SKIP() << why;
    umask(022);  // modes in the tests assume the usual umask
    std::string error;
    fs_ = MountedFs::Make(kind, Options(), &error);
    ASSERT_NE(fs_, nullptr) << error;
    const std::string mount_error = fs_->Mount();
    if (!mount_error.empty()) fs_.reset();  // nothing to unmount or check
    ASSERT_EQ(mount_error, "") << "mounting a fresh filesystem";
  }

  void TearDown() override {
    if (fs_ == nullptr) return;
    ReleaseMount();
    if (fs_->mounted()) {
      const std::string problem = fs_->Unmount();
      EXPECT_EQ(problem, "") << "unmount at the end of the test";
      // After a lazy umount or a killed daemon the device may still be in
      // use; checking it then would only add noise to the real failure.
      if (!problem.empty()) {
        fs_.reset();
        return;
      }
    }
    ExpectFsckClean("at the end of the test");
    fs_.reset();
  }

  void ExpectFsckClean(const std::string& when) {
    std::string out;
    const int rc = fs_->Fsck(&out);
    if (out.size() > 6000) out = out.substr(0, 6000) + "\n[... fsck output truncated]";
    EXPECT_EQ(rc, 0) << "fsck -f -n not clean " << when << ":\n" << out;
  }

  // A test that failed an ASSERT_* between open() and close() leaves a
  // descriptor on the mount, which would make umount EBUSY and hide the real
  // failure: close every descriptor of this process that points into the
  // mount, and leave the mount if it is the working directory.
  void ReleaseMount() {
    const std::string root = Mnt();
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) != nullptr &&
        (std::string(cwd) == root || std::string(cwd).rfind(root + "/", 0) == 0)) {
      if (chdir("/") != 0) ADD_FAILURE() << "chdir /";
    }
    DIR* d = opendir("/proc/self/fd");
    if (d == nullptr) return;
    std::vector<int> leaked;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const int fd = atoi(e->d_name);
      char target[4096];
      const ssize_t n = readlink(("/proc/self/fd/" + std::string(e->d_name)).c_str(), target,
                                 sizeof target - 1);
      if (n <= 0) continue;
      const std::string t(target, static_cast<size_t>(n));
      if (t == root || t.rfind(root + "/", 0) == 0) leaked.push_back(fd);
    }
    closedir(d);
    for (int fd : leaked) close(fd);
  }

  // Unmounts (daemon must exit 0), checks fsck is clean, mounts again on the
  // same device. Use as ASSERT_TRUE(Remount()).
  ::testing::AssertionResult Remount() {
    std::string problem = fs_->Unmount();
    if (!problem.empty()) return ::testing::AssertionFailure() << "unmount: " << problem;
    ExpectFsckClean("before remount");
    problem = fs_->Mount();
    if (!problem.empty()) return ::testing::AssertionFailure() << "mount: " << problem;
    return ::testing::AssertionSuccess();
  }

  bool IsFoliofs() const { return fs_->kind() == FsKind::kFoliofs; }
  const std::string& Mnt() const { return fs_->mnt(); }
  // Absolute path of `rel` inside the mount.
  std::string P(const std::string& rel) const { return fs_->mnt() + "/" + rel; }

  std::unique_ptr<MountedFs> fs_;
};

// Instantiates `Suite` with writeback_cache on and off (test names end in /WritebackCacheOn, ...Off).
#define FOLIOFS_INSTANTIATE_MOUNT_TEST(Suite)                                         \
  INSTANTIATE_TEST_SUITE_P(Fs, Suite, ::testing::Bool(),                               \
                           [](const ::testing::TestParamInfo<bool>& info) {           \
                             return std::string(info.param ? "WritebackCacheOn"       \
                                                           : "WritebackCacheOff");    \
                           })

// ---- small helpers for test bodies -------------------------------------------------------

// errno of a failed call, 0 for success: EXPECT_EQ(Errno(mkdir(p, 0755)), EEXIST).
inline int Errno(long rc) { return rc < 0 ? errno : 0; }

inline bool WriteFile(const std::string& path, const std::string& data, int flags = O_TRUNC,
                      mode_t mode = 0644) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | flags, mode);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return close(fd) == 0 && done == data.size();
}

// Whole file contents; std::nullopt if it cannot be opened or read.
inline std::optional<std::string> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  if (n < 0) return std::nullopt;
  return out;
}

inline std::optional<struct stat> Stat(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

// lstat, or an all-zero stat (nlink 0, mode 0) when the path does not exist,
// so a missing file fails the expectation instead of crashing the binary.
inline struct stat StatOrZero(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) st = {};
  return st;
}

// Names in `dir` except . and .., sorted.
inline std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// A deterministic byte pattern that differs by offset and seed (catches
// misplaced blocks, not just missing ones).
inline std::string Pattern(size_t len, uint64_t offset = 0, uint32_t seed = 1) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; ++i) {
    uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull + seed;
    x ^= x >> 29;
    s[i] = static_cast<char>(x);
  }
  return s;
}

// Runs `body` in a forked child under uid/gid (supplementary groups cleared)
// and returns its exit code: by convention the body returns 0 for "as
// expected" or an errno. 255 when the credentials could not be changed.
inline int RunAs(uid_t uid, gid_t gid, const std::function<int()>& body) {
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(255);
    _exit(body() & 0xff);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
}

}  // namespace foliofs::mounttest
