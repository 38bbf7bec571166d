// Per-thread registry of held journal handles: the run-time checker of
// invariant I1 (DESIGN.md: no writeback wait under a journal handle).
//
// A journal handle registers itself here when it starts and unregisters when
// it stops. Code that waits on something a commit may need — folio writeback,
// a range flush, a journal commit, journal space — calls
// AssertNoJournalHandle(what) first; in debug builds (!NDEBUG) a violation
// aborts with a message naming the held handle and the wait. The journal also
// uses FindHeldHandle() to join a thread's existing handle (nesting, like
// jbd2's current->journal_info).
//
// Thread safety: the registry is thread_local; every function acts on the
// calling thread's records only, so no locking is needed.
#pragma once

#include <string>

namespace foliofs {

// Records that the calling thread holds `handle` of journal `owner`.
void RegisterHeldHandle(const void* owner, void* handle, std::string description);
// Removes the record of `handle` (no-op if absent).
void UnregisterHeldHandle(const void* handle);
// The handle the calling thread holds for `owner`, or nullptr.
void* FindHeldHandle(const void* owner);

bool ThreadHoldsJournalHandle();
// "handle 'setattr' (journal 0x..., tid 7); ..." — empty when none.
std::string DescribeHeldHandles();

// I1: call before any wait that a journal commit may depend on. Debug builds
// abort (naming the held handle and `what_wait`) if the thread holds a handle;
// release builds do nothing.
void AssertNoJournalHandle(const char* what_wait);

}  // namespace foliofs
