#include "fs/fuse/daemon.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fs/fuse/detach.h"
#include "fs/fuse/fuse_ops.h"
#include "fs/fuse/inval_notifier.h"
#include "fs/fuse/signal_unmount.h"
#include "pagecache/base/log.h"
#include "pagecache/blockdev/uring_device.h"

namespace foliofs::fuse {
namespace {

// Worker threads: requests block on I/O (fsync, reads that miss the cache),
// so allow more threads than cores. libfuse starts a worker whenever the last
// idle one takes a request and ends one that finds more than kMaxIdleThreads
// idle; with a low limit every burst of concurrent requests created and
// destroyed threads (hundreds in a benchmark run: clone, a /dev/fuse clone
// fd, a fresh 1 MiB request buffer and malloc arena each). Idle threads cost
// only their memory, so a worker, once started, stays.
constexpr unsigned kMaxThreads = 32;
constexpr unsigned kMaxIdleThreads = kMaxThreads;
// How long a busy block device is retried before "in use": 2.5 s.
constexpr int kClaimRetries = 50;
constexpr useconds_t kClaimRetryMicros = 50'000;

int Fail(const std::string& message) {
  fprintf(stderr, "foliofs: %s\n", message.c_str());
  return 1;
}
// "foliofs: cannot mount DEV: DEV: what (strerror)".
int Fail(const Status& st) { return Fail(st.message() + " (" + strerror(st.err()) + ")"); }

struct SessionDeleter {
  void operator()(fuse_session* se) const { fuse_session_destroy(se); }
};
using SessionPtr = std::unique_ptr<fuse_session, SessionDeleter>;

// Absolute path of an existing file; "" with `*error` set otherwise.
std::string Absolute(const std::string& path, std::string* error) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    *error = path + ": " + strerror(errno);
    return "";
  }
  return buf;
}

// fuseblk needs a block device and the privilege to mount one.
bool UseFuseblk(const std::string& device) {
  struct stat st{};
  if (stat(device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return false;
  if (geteuid() != 0) {
    GetLogger("fuse")->warn("{} is a block device but we are not root: plain fuse mount "
                            "(umount will not wait for the data to reach the device)",
                            device);
    return false;
  }
  return true;
}

SessionPtr NewSession(const DaemonOptions& options, bool blkdev, FuseFs* front) {
  std::vector<std::string> strings = FuseArgs(options, blkdev);
  std::vector<char*> argv;
  for (std::string& s : strings) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  fuse_session* se =
      fuse_session_new(&args, &FuseFs::Operations(), sizeof(fuse_lowlevel_ops), front);
  fuse_opt_free_args(&args);
  return SessionPtr(se);
}

// Refuses a DEVICE another mount is using, before Filesystem::Mount could
// replay its journal under it: a block device claimed by a mount (the kernel
// holds fuseblk devices with O_EXCL) fails an O_EXCL probe; an image file
// is flock()ed for the daemon's lifetime. Returns the fd holding the lock
// (-1 for a block device: the kernel's claim takes over at mount).
Result<int> ClaimDevice(const std::string& device, bool blockdev) {
  int fd = open(device.c_str(), O_RDONLY | O_CLOEXEC | (blockdev ? O_EXCL : 0));
  // Right after mkfs or losetup, udev's probe holds a block device
  // exclusively for a few tens of milliseconds: retry EBUSY for a while.
  for (int i = 0; fd < 0 && errno == EBUSY && i < kClaimRetries; ++i) {
    usleep(kClaimRetryMicros);
    fd = open(device.c_str(), O_RDONLY | O_CLOEXEC | O_EXCL);
  }
  if (fd < 0) {
    if (errno == EBUSY) return Status::Error(EBUSY, device + " is in use (mounted?)");
    return Status::Error(errno, "cannot open " + device);
  }
  if (blockdev) {
    close(fd);
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) return Status::Error(EBUSY, device + " is in use by another daemon");
    return Status::Error(err, "cannot lock " + device);
  }
  return fd;  // closed at exit
}

Result<std::unique_ptr<fs::Filesystem>> MountFilesystem(const DaemonOptions& o) {
  DeviceOptions dev_options;
  dev_options.read_only = o.mount.read_only;
  dev_options.exclusive = false;  // fuseblk: the kernel holds the exclusive claim
  Result<std::unique_ptr<BlockDevice>> device = OpenDevice(o.device, dev_options);
  if (!device.ok()) return device.status().WithContext("cannot open " + o.device);
  Result<std::unique_ptr<fs::Filesystem>> fs =
      fs::Filesystem::Mount(std::move(device).value(), o.device, o.mount);
  if (!fs.ok()) return fs.status().WithContext("cannot mount " + o.device);
  return fs;
}

int RunLoop(fuse_session* se) {
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 1);  // one /dev/fuse fd per worker: no shared read queue
  fuse_loop_cfg_set_idle_threads(cfg, kMaxIdleThreads);
  fuse_loop_cfg_set_max_threads(cfg, kMaxThreads);
  UnblockTerminationSignals();  // the loop's threads take the signals
  const int rc = fuse_session_loop_mt(se, cfg);
  BlockTerminationSignals();
  fuse_loop_cfg_destroy(cfg);
  return rc;
}

// Steps 3–6 of daemon.h, with the session made and (maybe) the fork done.
int Serve(const DaemonOptions& o, bool blkdev, fuse_session* se, FuseFs& front,
          Detacher* detacher) {
  auto log = GetLogger("fuse");
  BlockTerminationSignals();  // before any thread: see signal_unmount.h
  struct stat dev_st{};
  const bool blockdev = stat(o.device.c_str(), &dev_st) == 0 && S_ISBLK(dev_st.st_mode);
  Result<int> claim = ClaimDevice(o.device, blockdev);
  if (!claim.ok()) return Fail(claim.status());
  Result<std::unique_ptr<fs::Filesystem>> fs = MountFilesystem(o);
  if (!fs.ok()) return Fail(fs.status());
  InvalNotifier notifier(se);
  front.Attach(fs->get(), &notifier);
  // The session (and its destroy callback) outlives this function: detach
  // the filesystem from the front end before `notifier` and `fs` go.
  struct Detach {
    FuseFs& front;
    ~Detach() { front.Attach(nullptr, nullptr); }
  } detach_guard{front};
  Result<std::unique_ptr<SignalUnmounter>> signals = SignalUnmounter::Install(se, o.mountpoint);
  if (!signals.ok()) {
    (void)front.UnmountOnce();
    return Fail(signals.status());
  }
  if (fuse_session_mount(se, o.mountpoint.c_str()) != 0) {
    (void)front.UnmountOnce();
    return Fail("cannot mount " + o.device + " on " + o.mountpoint);
  }
  // mount(8) and background starts stay quiet; -f shows it.
  log->log(o.foreground ? spdlog::level::info : spdlog::level::debug, "mounted {} on {} ({})",
           o.device, o.mountpoint, blkdev ? "fuseblk" : "fuse");
  if (detacher != nullptr) detacher->Succeeded();

  const int loop_rc = RunLoop(se);
  if (loop_rc < 0) log->error("session loop failed: {}", strerror(-loop_rc));
  // Normally done already by FUSE_DESTROY (fuseblk) — else now, before the
  // kernel mount goes, so nothing is lost if the loop ended on a signal.
  const Status st = front.UnmountOnce();
  // The notifier writes to /dev/fuse: stop it before the fd is closed.
  notifier.Stop();
  fuse_session_unmount(se);
  signals->reset();
  log->info("daemon for {} exits ({})", o.device, st.ok() ? "clean" : "unmount failed");
  return st.ok() && loop_rc >= 0 ? 0 : 1;
}

}  // namespace

int RunDaemon(const DaemonOptions& options) {
  DaemonOptions o = options;
  if (Status st = SetLogLevel(o.log_level); !st.ok()) return Fail(st);
  std::string error;
  o.device = Absolute(options.device, &error);
  if (o.device.empty()) return Fail(error);
  o.mountpoint = Absolute(options.mountpoint, &error);
  if (o.mountpoint.empty()) return Fail(error);
  struct stat st{};
  if (stat(o.mountpoint.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(o.mountpoint + ": not a directory");
  }
  const bool blkdev = UseFuseblk(o.device);
  FuseFs front(FuseConfig{o.writeback_cache});
  SessionPtr se = NewSession(o, blkdev, &front);
  if (se == nullptr) return Fail("invalid mount options (see above); try --help");
  std::unique_ptr<Detacher> detacher;
  if (!o.foreground) {
    Result<std::unique_ptr<Detacher>> d = Detacher::Start();
    if (!d.ok()) return Fail("cannot go to the background: " + d.status().ToString());
    detacher = std::move(d).value();
  }
  return Serve(o, blkdev, se.get(), front, detacher.get());
}

}  // namespace foliofs::fuse
