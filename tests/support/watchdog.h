// Watchdog: fails a test that hangs, instead of letting CTest's timeout kill
// it without a word. A background thread waits `limit` for Done(); if it does
// not come, it prints what hung and aborts the process (a deadlock under test
// would otherwise leave no trace of which scenario stuck).
//
// Usage:  Watchdog dog("zero range under a handle", std::chrono::seconds(60));
//         ... the part that could hang ...
//         dog.Done();   // or let the destructor call it
//
// Thread safety: construct, Done and destroy from one thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

namespace foliofs::testsupport {

class Watchdog {
 public:
  Watchdog(const char* what, std::chrono::seconds limit) {
    thread_ = std::thread([this, what, limit] {
      if (done_.get_future().wait_for(limit) == std::future_status::timeout) {
        std::fprintf(stderr, "watchdog: %s hung for %llds\n", what,
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::abort();
      }
    });
  }
  ~Watchdog() { Done(); }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // The guarded part finished; stops the timer. Idempotent.
  void Done() {
    if (!thread_.joinable()) return;
    done_.set_value();
    thread_.join();
  }

 private:
  std::promise<void> done_;
  std::thread thread_;
};

}  // namespace foliofs::testsupport
