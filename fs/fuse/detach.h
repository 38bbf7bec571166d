// Detacher: how the daemon goes to the background without losing its errors.
//
// Why not fuse_daemonize(): it forks, and a fork keeps only the calling
// thread. The filesystem has threads from Mount on (io_uring completion,
// page-cache flushers, the journal's commit thread), and the device must be
// opened and the filesystem mounted before we can say the mount worked. So
// we fork first, before any thread exists: the child does all the work with
// stderr still on the terminal, and the parent waits for its verdict — exit 0
// once the child reports the kernel mount is in place (so `foliofs DEV MNT`
// and mount(8) return only when the mount is usable), or the child's own
// exit status (1) if it fails first, its message already printed.
//
// Thread safety: Start must run while the process has a single thread.
#pragma once

#include <memory>

#include "pagecache/base/status.h"

namespace foliofs::fuse {

class Detacher {
 public:
  // Forks. Returns only in the child (the parent exits with the outcome).
  static Result<std::unique_ptr<Detacher>> Start();
  ~Detacher();
  Detacher(const Detacher&) = delete;
  Detacher& operator=(const Detacher&) = delete;

  // Child: the mount is in place. Lets the parent exit 0, then points stdin,
  // stdout and stderr at /dev/null (so pipes of whoever started us close)
  // and leaves the working directory (chdir "/").
  void Succeeded();

 private:
  explicit Detacher(int fd) : fd_(fd) {}
  int fd_;  // write end of the pipe to the waiting parent; -1 once used
};

}  // namespace foliofs::fuse
