#include "fs/fuse/signal_unmount.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "pagecache/base/log.h"

extern char** environ;

namespace foliofs::fuse {
namespace {

// Signal-handler state: a handler can reach nothing else.
std::atomic<int> g_write_fd{-1};
std::atomic<fuse_session*> g_session{nullptr};
std::atomic<int> g_signals{0};

void OnTerminationSignal(int sig) {
  const int saved_errno = errno;
  if (g_signals.fetch_add(1) == 0) {
    const char byte = static_cast<char>(sig);
    const int fd = g_write_fd.load();
    if (fd >= 0 && write(fd, &byte, 1) < 0) {
      // Pipe gone: the daemon is ending anyway.
    }
  } else if (fuse_session* se = g_session.load()) {
    fuse_session_exit(se);  // the interrupted thread sees it
  }
  errno = saved_errno;
}

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

void SetHandler(int sig, void (*handler)(int)) {
  struct sigaction sa{};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: interrupt the loop's waits
  sigaction(sig, &sa, nullptr);
}

// Runs `fusermount3 -u [-z] MOUNTPOINT` (unprivileged unmount); true if it worked.
bool RunFusermount(const std::string& mountpoint, bool lazy) {
  std::string prog = "fusermount3", u = "-u", z = "-z", mnt = mountpoint;
  std::vector<char*> argv = {prog.data(), u.data()};
  if (lazy) argv.push_back(z.data());
  argv.push_back(mnt.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, prog.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

void BlockTerminationSignals() {
  const sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void UnblockTerminationSignals() {
  const sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

Result<std::unique_ptr<SignalUnmounter>> SignalUnmounter::Install(fuse_session* se,
                                                                  std::string mountpoint) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Error(errno, "pipe");
  if (fuse_set_signal_handlers(se) != 0) {
    close(fds[0]);
    close(fds[1]);
    return Status::Error(EINVAL, "cannot set signal handlers");
  }
  g_session.store(se);
  g_write_fd.store(fds[1]);
  g_signals.store(0);
  SetHandler(SIGINT, OnTerminationSignal);
  SetHandler(SIGTERM, OnTerminationSignal);
  return std::unique_ptr<SignalUnmounter>(new SignalUnmounter(se, std::move(mountpoint), fds[0]));
}

SignalUnmounter::SignalUnmounter(fuse_session* se, std::string mountpoint, int read_fd)
    : se_(se),
      mountpoint_(std::move(mountpoint)),
      main_thread_(pthread_self()),
      read_fd_(read_fd),
      thread_([this] { Run(); }) {}

SignalUnmounter::~SignalUnmounter() {
  const int wfd = g_write_fd.exchange(-1);
  if (wfd >= 0) close(wfd);  // EOF ends Run()
  if (thread_.joinable()) thread_.join();
  close(read_fd_);
  // Only now: Run() may have signalled the main thread with SIGTERM.
  SetHandler(SIGINT, SIG_DFL);
  SetHandler(SIGTERM, SIG_DFL);
  fuse_remove_signal_handlers(se_);
  g_session.store(nullptr);
}

void SignalUnmounter::Run() {
  char sig = 0;
  ssize_t n;
  do {
    n = read(read_fd_, &sig, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) return;  // the daemon is ending
  GetLogger("fuse")->info("signal {}: unmounting {}", static_cast<int>(sig), mountpoint_);
  if (!Unmount()) ExitLoop();
}

void SignalUnmounter::SyncMount() {
  // syncfs(2) makes the kernel write its dirty pages to us now, so a second
  // signal (which ends the session at once) loses nothing written so far.
  const int fd = open(mountpoint_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  if (syncfs(fd) != 0) GetLogger("fuse")->warn("syncfs {}: {}", mountpoint_, strerror(errno));
  close(fd);
}

bool SignalUnmounter::Unmount() {
  auto log = GetLogger("fuse");
  if (geteuid() != 0) {
    if (RunFusermount(mountpoint_, /*lazy=*/false)) return true;
    log->warn("{} is busy: detaching it lazily; the daemon ends when it is no longer used",
              mountpoint_);
    SyncMount();
    return RunFusermount(mountpoint_, /*lazy=*/true);
  }
  if (umount2(mountpoint_.c_str(), 0) == 0) return true;
  if (errno == EBUSY) {
    log->warn("{} is busy: detaching it lazily; the daemon ends when it is no longer used",
              mountpoint_);
    SyncMount();
    if (umount2(mountpoint_.c_str(), MNT_DETACH) == 0) return true;
  }
  log->error("cannot unmount {}: {}; leaving the session loop", mountpoint_, strerror(errno));
  return false;
}

void SignalUnmounter::ExitLoop() {
  // As a second signal would: mark the session exited and interrupt the
  // loop's main thread (it waits in sem_wait, which a handler interrupts).
  g_signals.fetch_add(1);
  fuse_session_exit(se_);
  pthread_kill(main_thread_, SIGTERM);
}

}  // namespace foliofs::fuse
