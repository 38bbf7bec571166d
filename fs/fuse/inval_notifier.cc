#include "fs/fuse/inval_notifier.h"

#include <cerrno>
#include <cstring>

#include "pagecache/base/log.h"

namespace foliofs::fuse {

InvalNotifier::InvalNotifier(fuse_session* se) : se_(se), thread_([this] { Run(); }) {}

InvalNotifier::~InvalNotifier() { Stop(); }

void InvalNotifier::Queue(fuse_ino_t ino, off_t off, off_t len) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    queue_.push_back({ino, off, len});
  }
  cv_.notify_one();
}

void InvalNotifier::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // Called once the session loop has ended: the mount is gone or going,
    // so what is still queued has no page cache left to invalidate.
    queue_.clear();
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void InvalNotifier::Run() {
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_ || queue_.empty()) return;
      item = queue_.front();
      queue_.pop_front();
    }
    const int rc = fuse_lowlevel_notify_inval_inode(se_, item.ino, item.off, item.len);
    // ENOENT: the kernel does not cache the inode; ENODEV/EBADF: unmounted.
    if (rc != 0 && rc != -ENOENT && rc != -ENODEV && rc != -EBADF) {
      GetLogger("fuse")->warn("inval_inode {} [{}, +{}): {}", item.ino, item.off, item.len,
                              strerror(-rc));
    }
  }
}

void InvalNotifier::InvalidateAttrsNow(fuse_ino_t ino) {
  // ENOENT: the kernel does not cache the inode; nothing to do.
  (void)fuse_lowlevel_notify_inval_inode(se_, ino, -1, 0);
}

}  // namespace foliofs::fuse
