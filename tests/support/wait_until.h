// WaitUntil: polls a condition another thread will make true (flushers,
// completions) every millisecond; false after 60 s so a broken test fails
// instead of hanging. Not a timing assertion: the deadline is only a hang guard.
#pragma once

#include <chrono>
#include <thread>

namespace foliofs::testsupport {

template <typename P>
bool WaitUntil(P pred) {
  using namespace std::chrono_literals;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace foliofs::testsupport
