// SignalUnmounter: SIGINT and SIGTERM unmount the filesystem cleanly.
//
// Why not just fuse_session_exit (what fuse_set_signal_handlers does): with
// the writeback cache the kernel may still hold dirty pages for our files;
// leaving the session loop first would drop them. So the first SIGINT or
// SIGTERM unmounts the mount point while the session keeps serving: umount(2)
// makes the kernel write its dirty pages back to us, then (fuseblk) send
// FUSE_DESTROY, where Filesystem::Unmount runs; the loop then ends by itself.
// A busy mount point (EBUSY) is synced (syncfs) and detached lazily instead,
// and the daemon ends when its last user is gone. A second signal, or an unmount that fails
// otherwise, ends the session loop at once (libfuse's behaviour); the daemon
// then still runs Filesystem::Unmount before it exits. SIGHUP keeps
// libfuse's handler (fuse_set_signal_handlers), SIGPIPE is ignored by it.
//
// The handler only writes one byte to a pipe (async-signal-safe); a thread
// does the unmount. SIGINT/SIGTERM/SIGHUP must be blocked in every thread
// but the session loop's (BlockTerminationSignals before creating threads,
// UnblockTerminationSignals just before fuse_session_loop_mt), so that a
// signal always interrupts a thread that can notice fuse_session_exit.
//
// Thread safety: one instance per process; Install and the destructor from
// the main thread.
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse3/fuse_lowlevel.h>
#include <pthread.h>

#include <memory>
#include <string>
#include <thread>

#include "pagecache/base/status.h"

namespace foliofs::fuse {

void BlockTerminationSignals();
void UnblockTerminationSignals();

class SignalUnmounter {
 public:
  // Installs fuse_set_signal_handlers(se), then our SIGINT/SIGTERM handler.
  // `mountpoint` is absolute.
  static Result<std::unique_ptr<SignalUnmounter>> Install(fuse_session* se,
                                                          std::string mountpoint);
  // Restores the handlers and joins the thread. Call after the session has
  // been unmounted (fuse_session_unmount): an umount(2) still in progress
  // then returns.
  ~SignalUnmounter();
  SignalUnmounter(const SignalUnmounter&) = delete;
  SignalUnmounter& operator=(const SignalUnmounter&) = delete;

 private:
  SignalUnmounter(fuse_session* se, std::string mountpoint, int read_fd);
  void Run();
  // Unmounts the mount point; false if that failed (other than EBUSY).
  bool Unmount();
  // Before a lazy unmount: has the kernel write its dirty pages back.
  void SyncMount();
  // Ends the session loop now.
  void ExitLoop();

  fuse_session* const se_;
  const std::string mountpoint_;
  const pthread_t main_thread_;  // the thread that runs fuse_session_loop_mt
  const int read_fd_;
  std::thread thread_;
};

}  // namespace foliofs::fuse
