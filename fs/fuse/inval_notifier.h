// InvalNotifier: runs fuse_lowlevel_notify_inval_inode on its own thread.
//
// Why a thread: the daemon invalidates the kernel's page cache for a range it
// changed itself (truncate through setattr, fallocate punch/zero). Notifying
// from inside the request handler, before the reply, can deadlock: the kernel
// task that sent the request may hold the inode's locks (and, with the
// writeback cache, folio locks) while it waits for our reply, and the
// invalidation takes those same locks; libfuse documents that notify calls may
// block. So handlers only queue (Queue never blocks on the kernel) and this
// thread sends the notifications after the replies went out. A notification
// for an inode the kernel no longer caches fails with ENOENT, which is fine.
//
// Thread safety: Queue may be called from any thread; Stop from one.
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse3/fuse_lowlevel.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace foliofs::fuse {

class InvalNotifier {
 public:
  // `se` must outlive the notifier (Stop it before fuse_session_destroy).
  explicit InvalNotifier(fuse_session* se);
  ~InvalNotifier();  // Stop()
  InvalNotifier(const InvalNotifier&) = delete;
  InvalNotifier& operator=(const InvalNotifier&) = delete;

  // Node id (FUSE's number), byte offset and length (0: to the end of file).
  void Queue(fuse_ino_t ino, off_t off, off_t len);
  // Attributes only (no page-cache range), sent now from the calling thread:
  // safe before a reply because the kernel takes no sleeping lock for it
  // (fuse_reverse_inval_inode with offset < 0 only bumps attr_version).
  void InvalidateAttrsNow(fuse_ino_t ino);
  // Drops what is queued, waits for a notification in flight, joins the
  // thread. Call it after the session loop ended and before
  // fuse_session_unmount closes /dev/fuse: the thread writes to that fd, and
  // a close under it could hand the number to another file. Idempotent.
  void Stop();

 private:
  struct Item {
    fuse_ino_t ino;
    off_t off;
    off_t len;
  };
  void Run();

  fuse_session* const se_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread thread_;
};

}  // namespace foliofs::fuse
