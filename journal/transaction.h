// Internal: Transaction and HandleState (journal.h documents both).
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "journal/journal.h"

namespace foliofs::journal {

struct Transaction {
  explicit Transaction(uint64_t t) : tid(t), start_time(std::chrono::steady_clock::now()) {}
  const uint64_t tid;
  const std::chrono::steady_clock::time_point start_time;
  TransactionState state = TransactionState::kRunning;  // GUARDED_BY(state_mu_)
  int updates = 0;              // GUARDED_BY(state_mu_): handles not yet stopped
  int outstanding_credits = 0;  // GUARDED_BY(state_mu_): reserved by handles (used + unused)
  // Buffers that joined (possibly via next_transaction_). GUARDED_BY(state_mu_)
  // while RUNNING; owned by the commit thread once locked.
  std::vector<BufferRef> buffers;
  // Revoked block numbers. Same guard as `buffers`.
  std::unordered_set<uint64_t> revokes;
};

struct HandleState {
  Transaction* tx = nullptr;  // the transaction this handle runs in; owning thread
  uint64_t tid = 0;
  int credits = 0;            // total credits (outer + nested); owning thread + state_mu_
  int credits_left = 0;       // GUARDED_BY(state_mu_) (commit reads nothing here)
  int refs = 0;               // Handle objects alive on the owning thread
  std::string what;
};

}  // namespace foliofs::journal
