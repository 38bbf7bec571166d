// Smoke tests of the `foliofs` daemon as a user runs it: an image on a loop
// device, mkfs.foliofs, the daemon mounted directly (`foliofs DEV MNT`, in
// the foreground and in the background), through mount.fuse3 and through
// mount(8) (`mount -t fuse.foliofs`, an fstab line), plain syscalls through
// the mount point, umount, then fsck.foliofs -f -n right away and a remount
// that reads everything back.
//
// Durability at unmount (fuseblk): umount(2) of a block-device mount returns
// only after the daemon answered FUSE_DESTROY, which it does after
// Filesystem::Unmount. UmountIsDurableBeforeDaemonExits proves it: right
// after umount returns, the old daemon is frozen (SIGSTOP) so it can write
// nothing more; fsck -n must find the device clean and a second daemon must
// read back data that was never fsynced (commit=600: no periodic commit
// helps). Between umount's return and the SIGSTOP the old daemon can only be
// leaving its session loop; its Unmount finished before it answered DESTROY.
//
// The DaemonArgs tests need nothing; the rest need root, /dev/loop-control
// and /dev/fuse and skip themselves otherwise. Every test cleans up after
// itself even when it fails: MountedDaemon's destructor unmounts (lazily as
// a last resort), thaws and reaps (or kills) its daemon; LoopDevice detaches
// only the device it attached; TempDir removes its files.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fs/fuse/fuse_options.h"
#include "tests/support/test_support.h"

#ifndef FOLIOFS_BIN_DIR
#define FOLIOFS_BIN_DIR "build/bin"
#endif

namespace foliofs::mountsmoke {
namespace {

using testsupport::CommandResult;
using testsupport::LoopDevice;
using testsupport::Quote;
using testsupport::Shell;
using testsupport::TempDir;
using namespace std::chrono_literals;

std::string BinDir() {
  const char* v = std::getenv("FOLIOFS_BIN_DIR");
  return v != nullptr && *v != '\0' ? v : FOLIOFS_BIN_DIR;
}
std::string Bin(const std::string& tool) { return BinDir() + "/" + tool; }

// Why this machine cannot run mount tests, or "".
std::string MountUnavailableReason() {
  std::string why = testsupport::LoopUnavailableReason();
  if (why.empty() && access("/dev/fuse", R_OK | W_OK) != 0) why = "/dev/fuse is not usable";
  return why;
}

#define SKIP_WITHOUT_MOUNT()                                            \
  do {                                                                  \
    const std::string why = MountUnavailableReason();                   \
    if (!why.empty()) GTEST_SKIP() << why;                              \
  } while (0)

// The fstype of the mount at `dir` in /proc/self/mounts, or "".
std::string MountType(const std::string& dir) {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string dev, mnt, type;
    fields >> dev >> mnt >> type;
    if (mnt == dir) return type;
  }
  return "";
}
bool IsMounted(const std::string& dir) { return !MountType(dir).empty(); }

// True while `pid` exists and is not a zombie (daemons we did not fork are
// reaped by someone else, maybe never).
bool ProcessAlive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// The pid of the foliofs daemon serving `mnt` (found by its command line), or -1.
pid_t FindDaemon(const std::string& mnt) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  pid_t found = -1;
  while (dirent* e = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> argv;
    std::stringstream ss(cmdline);
    for (std::string arg; std::getline(ss, arg, '\0');) argv.push_back(arg);
    if (argv.empty() || !argv[0].ends_with("foliofs")) continue;
    if (std::find(argv.begin(), argv.end(), mnt) != argv.end() && ProcessAlive(pid)) found = pid;
  }
  closedir(proc);
  return found;
}

// umount(2), retried while busy (a just-closed file may still be released).
bool Umount(const std::string& mnt) {
  for (int i = 0; i < 100; ++i) {
    if (umount2(mnt.c_str(), 0) == 0) return true;
    if (errno != EBUSY) return false;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Plain-syscall file helpers.
bool WriteFile(const std::string& path, const std::string& data) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return close(fd) == 0 && done == data.size();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::set<std::string> ListDir(const std::string& path) {
  std::set<std::string> names;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) names.insert(e->d_name);
  closedir(d);
  return names;
}

// Deterministic bytes that differ per offset and per seed.
std::string Pattern(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

// An image, a loop device over it (or the image itself as DEVICE) and a
// mount point; mkfs'd. Members are destroyed after any MountedDaemon a test
// declares later.
class Volume {
 public:
  explicit Volume(bool loop = true, uint64_t bytes = 256ull << 20) : dir_("foliofs-smoke") {
    image_ = dir_.Image("image", bytes);
    mnt_ = dir_.File("mnt");
    if (image_.empty() || mkdir(mnt_.c_str(), 0755) != 0) return;
    if (loop) {
      loop_ = LoopDevice::Attach(image_);
      if (loop_ == nullptr) return;
    }
    ok_ = true;
  }
  bool ok() const { return ok_; }
  const std::string& device() const { return loop_ ? loop_->path() : image_; }
  const std::string& mnt() const { return mnt_; }
  std::string Log(const std::string& name) const { return dir_.File(name); }
  const TempDir& dir() const { return dir_; }

  CommandResult Mkfs() const {
    return Shell(Quote(Bin("mkfs.foliofs")) + " -q " + Quote(device()));
  }
  CommandResult Fsck() const {
    return Shell(Quote(Bin("fsck.foliofs")) + " -f -n " + Quote(device()));
  }

 private:
  TempDir dir_;
  std::string image_, mnt_;
  std::unique_ptr<LoopDevice> loop_;
  bool ok_ = false;
};

// One daemon serving one mount point. Start*() mount; Unmount() unmounts and
// waits for the daemon. The destructor is the guard: whatever happened, it
// leaves nothing mounted at `mnt` and no daemon behind.
class MountedDaemon {
 public:
  explicit MountedDaemon(const Volume& v)
      : device_(v.device()), mnt_(v.mnt()), log_(v.Log("daemon.log")) {}
  ~MountedDaemon() { Cleanup(); }
  MountedDaemon(const MountedDaemon&) = delete;
  MountedDaemon& operator=(const MountedDaemon&) = delete;

  // `foliofs DEV MNT -f [extra]` as our child; "" once mounted, else why not.
  std::string StartForeground(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {Bin("foliofs"), device_, mnt_, "-f"};
    args.insert(args.end(), extra.begin(), extra.end());
    const pid_t pid = fork();
    if (pid < 0) return "fork failed";
    if (pid == 0) {
      const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    pid_ = pid;
    child_ = true;
    return WaitMounted();
  }

  // Runs `command` (which must mount and return, e.g. `foliofs DEV MNT` or
  // `mount -t fuse.foliofs ...`); "" once it returned 0 with the mount in
  // place — no waiting: a background daemon returns only when mounted.
  std::string StartCommand(const std::string& command) {
    CommandResult r = Shell(command);
    if (r.rc != 0) return "'" + command + "' exited " + std::to_string(r.rc) + ": " + r.output;
    if (!IsMounted(mnt_)) return "'" + command + "' returned 0 but " + mnt_ + " is not mounted";
    pid_ = FindDaemon(mnt_);
    if (pid_ < 0) return "no foliofs daemon process serves " + mnt_;
    child_ = false;
    return "";
  }

  // umount, then wait for the daemon to exit. "" when both went well and (for
  // our own child) the exit status was 0.
  std::string Unmount() {
    if (!Umount(mnt_)) return std::string("umount failed: ") + strerror(errno);
    return WaitExit();
  }

  // Waits for the daemon to end (no umount). "" if it exited 0 (or, not our
  // child, simply went away).
  std::string WaitExit(std::chrono::seconds limit = 120s) {
    if (pid_ < 0) return "";
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (child_) {
        int status = 0;
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
          pid_ = -1;
          if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
          return "daemon ended with status " + std::to_string(status) + "; log:\n" + Log();
        }
      } else if (!ProcessAlive(pid_)) {
        pid_ = -1;
        return "";
      }
      std::this_thread::sleep_for(50ms);
    }
    return "daemon did not exit";
  }

  pid_t pid() const { return pid_; }
  std::string Log() const { return ReadFile(log_); }
  // Freezes / thaws the daemon (SIGSTOP / SIGCONT).
  void Freeze() {
    if (pid_ > 0 && kill(pid_, SIGSTOP) == 0) frozen_ = true;
  }
  void Thaw() {
    if (pid_ > 0 && frozen_) kill(pid_, SIGCONT);
    frozen_ = false;
  }

 private:
  std::string WaitMounted() {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (IsMounted(mnt_)) return "";
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "daemon exited (status " + std::to_string(status) + ") before mounting; log:\n" +
               Log();
      }
      std::this_thread::sleep_for(20ms);
    }
    return "mount did not appear within 60 s; log:\n" + Log();
  }

  void Cleanup() {
    Thaw();
    if (IsMounted(mnt_) && !Umount(mnt_)) umount2(mnt_.c_str(), MNT_DETACH);
    if (pid_ > 0 && !WaitExit(60s).empty() && pid_ > 0) {
      kill(pid_, SIGKILL);
      if (child_) waitpid(pid_, nullptr, 0);
    }
  }

  std::string device_, mnt_, log_;
  pid_t pid_ = -1;
  bool child_ = false;
  bool frozen_ = false;
};

// ---- the daemon's command line, without mounting anything ----

TEST(DaemonArgsTest, ParsesOwnOptionsAndPassesTheRestToLibfuse) {
  auto parsed = fuse::ParseArgs(
      {"/dev/loop7", "/mnt", "-o", "rw,dev,suid,cache_size=64M,no_writeback_cache",
       "-o", "commit=9,log_level=warn,nosuid,noatime,relatime,nofail,x-systemd.automount",
       "-o_netdev"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const fuse::DaemonOptions& o = parsed->options;
  EXPECT_EQ(o.device, "/dev/loop7");
  EXPECT_EQ(o.mountpoint, "/mnt");
  EXPECT_FALSE(o.foreground);
  EXPECT_FALSE(o.writeback_cache);
  EXPECT_FALSE(o.mount.read_only);
  EXPECT_EQ(o.mount.cache_size, 64ull << 20);
  EXPECT_EQ(o.mount.commit_interval, std::chrono::milliseconds(9000));
  EXPECT_EQ(o.log_level, "warn");
  EXPECT_EQ(o.fuse_options, (std::vector<std::string>{"dev", "suid", "nosuid", "noatime"}));
}

TEST(DaemonArgsTest, FuseArgsAlwaysCarryPermissionsAndDeviceName) {
  auto parsed = fuse::ParseArgs({"-d", "/dev/sdz1", "/mnt", "-oro"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->options.foreground);
  EXPECT_TRUE(parsed->options.mount.read_only);
  const auto args = fuse::FuseArgs(parsed->options, /*blkdev=*/true);
  ASSERT_GE(args.size(), 3u);
  EXPECT_EQ(args[1], "-o");
  EXPECT_EQ(args[2],
            "allow_other,default_permissions,subtype=foliofs,fsname=/dev/sdz1,blkdev,ro");
  EXPECT_EQ(args.back(), "-d");
}

TEST(DaemonArgsTest, RejectsBadOptions) {
  EXPECT_EQ(fuse::ParseArgs({"/dev/x"}).err(), EINVAL);
  EXPECT_EQ(fuse::ParseArgs({"a", "b", "c"}).err(), EINVAL);
  EXPECT_EQ(fuse::ParseArgs({"a", "b", "-o", "cache_size=12Q"}).err(), EINVAL);
  EXPECT_EQ(fuse::ParseArgs({"a", "b", "-o", "commit=x"}).err(), EINVAL);
  EXPECT_EQ(fuse::ParseArgs({"a", "b", "-o", "log_level=loud"}).err(), EINVAL);
  EXPECT_EQ(fuse::ParseArgs({"a", "b", "-x"}).err(), EINVAL);
  EXPECT_EQ(fuse::ParseArgs({"a", "b", "-o"}).err(), EINVAL);
  EXPECT_EQ(fuse::ParseSize("1g").value(), 1ull << 30);
  EXPECT_EQ(fuse::ParseSize("4096").value(), 4096u);
  EXPECT_FALSE(fuse::ParseSize("0").ok());
}

TEST(DaemonArgsTest, BinaryHelpVersionAndUsageErrors) {
  const std::string foliofs = Quote(Bin("foliofs"));
  CommandResult help = Shell(foliofs + " --help");
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.output.find("usage: foliofs DEVICE MOUNTPOINT"), std::string::npos);
  CommandResult version = Shell(foliofs + " --version");
  EXPECT_EQ(version.rc, 0);
  EXPECT_NE(version.output.find("foliofs "), std::string::npos);
  CommandResult none = Shell(foliofs);
  EXPECT_EQ(none.rc, 1);
  EXPECT_NE(none.output.find("usage:"), std::string::npos);
  CommandResult bad = Shell(foliofs + " /dev/null /tmp -o cache_size=lots");
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.output.find("cache_size"), std::string::npos) << bad.output;
  CommandResult missing = Shell(foliofs + " /nonexistent/foliofs-dev /tmp -f");
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.output.find("/nonexistent/foliofs-dev"), std::string::npos) << missing.output;
}

TEST(DaemonArgsTest, UnknownFuseOptionIsAUsageErrorBeforeTheDeviceIsOpened) {
  TempDir dir("foliofs-smoke");
  ASSERT_TRUE(dir.ok());
  const std::string image = dir.Image("image", 1 << 20);  // not even a filesystem
  CommandResult r = Shell(Quote(Bin("foliofs")) + " " + Quote(image) + " " + Quote(dir.path()) +
                          " -f -o no_such_fuse_option_xyz");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("no_such_fuse_option_xyz"), std::string::npos) << r.output;
}

// ---- mounted ----

// Creates, writes, reads, lists, renames and removes through the mount point.
void ExerciseMount(const std::string& mnt) {
  const std::string big = Pattern(3 << 20, 1), small = "hello, foliofs\n";
  ASSERT_TRUE(WriteFile(mnt + "/big", big));
  ASSERT_TRUE(WriteFile(mnt + "/small", small));
  ASSERT_EQ(mkdir((mnt + "/dir").c_str(), 0755), 0) << strerror(errno);
  ASSERT_TRUE(WriteFile(mnt + "/dir/inner", "inner"));
  ASSERT_EQ(mkdir((mnt + "/gone").c_str(), 0700), 0);
  ASSERT_TRUE(WriteFile(mnt + "/tmp", "x"));
  EXPECT_EQ(ReadFile(mnt + "/big"), big);
  EXPECT_EQ(ReadFile(mnt + "/small"), small);
  struct stat st{};
  ASSERT_EQ(stat((mnt + "/big").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(big.size()));
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_EQ(rename((mnt + "/dir/inner").c_str(), (mnt + "/dir/renamed").c_str()), 0);
  ASSERT_EQ(unlink((mnt + "/tmp").c_str()), 0);
  ASSERT_EQ(rmdir((mnt + "/gone").c_str()), 0);
  EXPECT_EQ(ListDir(mnt), (std::set<std::string>{".", "..", "big", "small", "dir", "lost+found"}));
  EXPECT_EQ(ListDir(mnt + "/dir"), (std::set<std::string>{".", "..", "renamed"}));
  EXPECT_EQ(ReadFile(mnt + "/dir/renamed"), "inner");
  EXPECT_NE(access((mnt + "/tmp").c_str(), F_OK), 0);
}

// What ExerciseMount left, read back after a remount.
void ExpectExercisedContents(const std::string& mnt) {
  EXPECT_EQ(ReadFile(mnt + "/big"), Pattern(3 << 20, 1));
  EXPECT_EQ(ReadFile(mnt + "/small"), "hello, foliofs\n");
  EXPECT_EQ(ReadFile(mnt + "/dir/renamed"), "inner");
  EXPECT_EQ(ListDir(mnt), (std::set<std::string>{".", "..", "big", "small", "dir", "lost+found"}));
}

// Remounts (foreground daemon) and checks the contents ExerciseMount left.
void RemountAndExpectContents(const Volume& v) {
  MountedDaemon again(v);
  ASSERT_EQ(again.StartForeground(), "");
  ExpectExercisedContents(v.mnt());
  EXPECT_EQ(again.Unmount(), "");
  CommandResult fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
}

class MountSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = MountUnavailableReason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

TEST_F(MountSmokeTest, ForegroundDaemonServesSyscallsAndUnmountsClean) {
  Volume v;
  ASSERT_TRUE(v.ok());
  CommandResult mkfs = v.Mkfs();
  ASSERT_EQ(mkfs.rc, 0) << mkfs.output;
  {
    MountedDaemon d(v);
    ASSERT_EQ(d.StartForeground(), "");
    EXPECT_EQ(MountType(v.mnt()), "fuseblk.foliofs");  // a block device: fuseblk
    ExerciseMount(v.mnt());
    ASSERT_EQ(d.Unmount(), "");
  }
  CommandResult fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
  RemountAndExpectContents(v);
}

TEST_F(MountSmokeTest, BackgroundDaemonReturnsOnceMounted) {
  Volume v;
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v.Mkfs().rc, 0);
  {
    MountedDaemon d(v);
    // Returns 0 only with the mount in place (StartCommand checks at once).
    ASSERT_EQ(d.StartCommand(Quote(Bin("foliofs")) + " " + Quote(v.device()) + " " +
                             Quote(v.mnt()) + " -o no_writeback_cache"),
              "");
    ExerciseMount(v.mnt());
    ASSERT_EQ(d.Unmount(), "");
  }
  CommandResult fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
  RemountAndExpectContents(v);
}

TEST_F(MountSmokeTest, BackgroundDaemonReportsABadDeviceAndExitsOne) {
  Volume v;  // never mkfs'd: all zeroes
  ASSERT_TRUE(v.ok());
  CommandResult r = Shell(Quote(Bin("foliofs")) + " " + Quote(v.device()) + " " + Quote(v.mnt()));
  MountedDaemon guard(v);  // in case it mounted after all
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find(v.device()), std::string::npos) << r.output;
  EXPECT_FALSE(IsMounted(v.mnt()));
}

// mount(8) runs /sbin/mount.fuse3 for type fuse.foliofs, which runs
// `foliofs DEV MNT -o rw,dev,suid,...` through /bin/sh with PATH. This runs
// the helper the way mount(8) does, with build/bin first in PATH.
TEST_F(MountSmokeTest, MountFuse3HelperStartsTheDaemonFromPath) {
  Volume v;
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v.Mkfs().rc, 0);
  const std::string helper =
      access("/sbin/mount.fuse3", X_OK) == 0 ? "/sbin/mount.fuse3" : "/usr/sbin/mount.fuse3";
  if (access(helper.c_str(), X_OK) != 0) GTEST_SKIP() << "no mount.fuse3";
  {
    MountedDaemon d(v);
    ASSERT_EQ(d.StartCommand("PATH=" + Quote(BinDir()) + ":\"$PATH\" " + helper + " " +
                             Quote(v.device()) + " " + Quote(v.mnt()) +
                             " -t foliofs -o rw,dev,suid,relatime,nofail,x-test=1"),
              "");
    ExerciseMount(v.mnt());
    ASSERT_EQ(d.Unmount(), "");
  }
  CommandResult fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
  RemountAndExpectContents(v);
}

// mount(8) itself resets PATH for its helpers to
// /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin, so it finds
// `foliofs` only where `cmake --install` puts it (/usr/local/bin). The test
// puts a symlink to the built daemon there for its duration if nothing is
// there yet, and removes exactly that symlink afterwards; an installed copy
// is used only if it is identical to the built one.
class InstalledDaemon {
 public:
  static constexpr const char* kPath = "/usr/local/bin/foliofs";
  // "" if /usr/local/bin/foliofs now runs the built daemon, else why not.
  std::string Prepare() {
    struct stat st{};
    if (lstat(kPath, &st) != 0) {
      if (symlink(Bin("foliofs").c_str(), kPath) != 0) {
        return std::string("cannot link ") + kPath + ": " + strerror(errno);
      }
      created_ = true;
      return "";
    }
    if (Shell("cmp -s " + Quote(kPath) + " " + Quote(Bin("foliofs"))).rc != 0) {
      return std::string(kPath) + " exists and is not this build's daemon";
    }
    return "";
  }
  ~InstalledDaemon() {
    if (created_) unlink(kPath);
  }

 private:
  bool created_ = false;
};

TEST_F(MountSmokeTest, MountTypeFuseFoliofsAndFstabLine) {
  Volume v;
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v.Mkfs().rc, 0);
  InstalledDaemon installed;
  const std::string why = installed.Prepare();
  if (!why.empty()) GTEST_SKIP() << why;
  {
    MountedDaemon d(v);
    ASSERT_EQ(d.StartCommand("mount -t fuse.foliofs " + Quote(v.device()) + " " + Quote(v.mnt())),
              "");
    EXPECT_EQ(MountType(v.mnt()), "fuseblk.foliofs");
    ExerciseMount(v.mnt());
    ASSERT_EQ(d.Unmount(), "");
  }
  CommandResult fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
  {
    // An fstab line, from a private fstab file (mount -T) so /etc/fstab is untouched.
    const std::string fstab = v.dir().File("fstab");
    ASSERT_TRUE(WriteFile(fstab, v.device() + " " + v.mnt() + " fuse.foliofs defaults 0 0\n"));
    MountedDaemon d(v);
    ASSERT_EQ(d.StartCommand("mount -T " + Quote(fstab) + " " + Quote(v.mnt())), "");
    ExpectExercisedContents(v.mnt());
    ASSERT_EQ(d.Unmount(), "");
  }
  fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
}

TEST_F(MountSmokeTest, UmountIsDurableBeforeDaemonExits) {
  Volume v;
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v.Mkfs().rc, 0);
  const std::string data = Pattern(5 << 20, 7);
  MountedDaemon first(v);
  ASSERT_EQ(first.StartForeground({"-o", "writeback_cache,commit=600"}), "");
  ASSERT_EQ(MountType(v.mnt()), "fuseblk.foliofs");
  ASSERT_TRUE(WriteFile(v.mnt() + "/unsynced", data));  // no fsync, no sync
  ASSERT_EQ(mkdir((v.mnt() + "/newdir").c_str(), 0755), 0);
  ASSERT_TRUE(Umount(v.mnt()));
  // umount returned: the daemon must have made everything durable already.
  first.Freeze();
  CommandResult fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
  {
    MountedDaemon second(v);
    ASSERT_EQ(second.StartForeground(), "");
    EXPECT_EQ(ReadFile(v.mnt() + "/unsynced"), data);
    struct stat st{};
    EXPECT_EQ(stat((v.mnt() + "/newdir").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(second.Unmount(), "");
  }
  first.Thaw();
  EXPECT_EQ(first.WaitExit(), "");
  fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
}

TEST_F(MountSmokeTest, ImageFileMountsAsPlainFuse) {
  Volume v(/*loop=*/false);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v.Mkfs().rc, 0);
  {
    MountedDaemon d(v);
    ASSERT_EQ(d.StartForeground(), "");
    EXPECT_EQ(MountType(v.mnt()), "fuse.foliofs");
    ExerciseMount(v.mnt());
    // A plain fuse umount does not wait for the daemon: wait for its exit.
    ASSERT_EQ(d.Unmount(), "");
  }
  CommandResult fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
  RemountAndExpectContents(v);
}

TEST_F(MountSmokeTest, SigtermUnmountsCleanly) {
  Volume v;
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v.Mkfs().rc, 0);
  {
    MountedDaemon d(v);
    ASSERT_EQ(d.StartForeground(), "");
    ExerciseMount(v.mnt());  // nothing synced
    ASSERT_EQ(kill(d.pid(), SIGTERM), 0);
    EXPECT_EQ(d.WaitExit(), "");
    EXPECT_FALSE(IsMounted(v.mnt()));
  }
  CommandResult fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
  RemountAndExpectContents(v);
}

// A busy mount point: SIGTERM syncs and detaches it lazily; the daemon keeps
// serving its last user and exits 0 once that user is gone.
TEST_F(MountSmokeTest, SigtermOnABusyMountDetachesLazilyAndExitsWhenUnused) {
  Volume v;
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v.Mkfs().rc, 0);
  {
    MountedDaemon d(v);
    ASSERT_EQ(d.StartForeground(), "");
    ExerciseMount(v.mnt());
    const int fd = open((v.mnt() + "/small").c_str(), O_RDONLY);  // keeps the mount busy
    ASSERT_GE(fd, 0);
    ASSERT_EQ(kill(d.pid(), SIGTERM), 0);
    for (int i = 0; i < 600 && IsMounted(v.mnt()); ++i) std::this_thread::sleep_for(50ms);
    EXPECT_FALSE(IsMounted(v.mnt()));  // detached from the namespace...
    char buf[5] = {};
    EXPECT_EQ(pread(fd, buf, 5, 0), 5);  // ...and still served
    EXPECT_EQ(std::string(buf, 5), "hello");
    close(fd);
    EXPECT_EQ(d.WaitExit(), "");
  }
  CommandResult fsck = v.Fsck();
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
  RemountAndExpectContents(v);
}

}  // namespace
}  // namespace foliofs::mountsmoke
