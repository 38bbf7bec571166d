#include "fs/fuse/detach.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace foliofs::fuse {
namespace {

// Parent: waits for one byte (success) or EOF (the child ended), then exits.
[[noreturn]] void WaitForChild(int fd, pid_t child) {
  char byte = 0;
  ssize_t n;
  do {
    n = read(fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1) _exit(0);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  _exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
}

}  // namespace

Result<std::unique_ptr<Detacher>> Detacher::Start() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Error(errno, "pipe");
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    return Status::Error(err, "fork");
  }
  if (pid > 0) {
    close(fds[1]);
    WaitForChild(fds[0], pid);
  }
  close(fds[0]);
  setsid();  // our own session: the terminal's signals are no longer ours
  return std::unique_ptr<Detacher>(new Detacher(fds[1]));
}

Detacher::~Detacher() {
  if (fd_ >= 0) close(fd_);  // EOF: the parent reports our exit status
}

void Detacher::Succeeded() {
  if (fd_ < 0) return;
  const char ok = 1;
  ssize_t n;
  do {
    n = write(fd_, &ok, 1);
  } while (n < 0 && errno == EINTR);
  close(fd_);
  fd_ = -1;
  const int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) close(null);
  }
  if (chdir("/") != 0) {
    // Nothing to report to any more; the daemon works from any directory.
  }
}

}  // namespace foliofs::fuse
