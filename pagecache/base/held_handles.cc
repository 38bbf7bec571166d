#include "pagecache/base/held_handles.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace foliofs {
namespace {

struct HeldHandle {
  const void* owner;
  void* handle;
  std::string description;
};

// Nesting depth is tiny (one handle per journal), so a vector is enough.
thread_local std::vector<HeldHandle> t_held;

}  // namespace

void RegisterHeldHandle(const void* owner, void* handle, std::string description) {
  t_held.push_back(HeldHandle{owner, handle, std::move(description)});
}

void UnregisterHeldHandle(const void* handle) {
  for (auto it = t_held.begin(); it != t_held.end(); ++it) {
    if (it->handle == handle) {
      t_held.erase(it);
      return;
    }
  }
}

void* FindHeldHandle(const void* owner) {
  for (const HeldHandle& h : t_held)
    if (h.owner == owner) return h.handle;
  return nullptr;
}

bool ThreadHoldsJournalHandle() { return !t_held.empty(); }

std::string DescribeHeldHandles() {
  std::string out;
  for (const HeldHandle& h : t_held) {
    if (!out.empty()) out += "; ";
    out += h.description;
  }
  return out;
}

void AssertNoJournalHandle(const char* what_wait) {
#ifndef NDEBUG
  if (t_held.empty()) return;
  std::fprintf(stderr,
               "foliofs: invariant I1 violated: waiting for %s while holding journal handle %s\n",
               what_wait, DescribeHeldHandles().c_str());
  std::fflush(stderr);
  std::abort();
#else
  (void)what_wait;
#endif
}

}  // namespace foliofs
