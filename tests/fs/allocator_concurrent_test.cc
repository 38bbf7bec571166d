// Allocator under concurrency (label concurrent; run under TSan): four
// threads allocate and free block runs and inodes, each operation in its own
// handle, with periodic ForceCommit. A shared ledger checks that no block is
// handed out twice and none before the transaction that freed it committed;
// at the end Check() recounts every bitmap and the counters add up.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fs/allocator.h"
#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"
#include "tests/support/watchdog.h"

namespace foliofs::fs {
namespace {

using journal::Journal;

constexpr uint32_t kBs = 1024;
constexpr uint64_t kDevBytes = 16ULL << 20;  // 3 groups, backups in group 1 and the tail
constexpr int kThreads = 4;
constexpr int kOps = 3000;
constexpr size_t kMaxHeld = 80;  // runs a thread holds before it frees more
constexpr uint64_t kMaxRun = 96;

// Who owns which blocks and inodes, as the test saw the allocator hand them out.
class Ledger {
 public:
  explicit Ledger(Journal& j) : journal_(j) {}

  // Records a run the allocator returned; "" or what went wrong.
  std::string Claim(const BlockRun& r) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = runs_.upper_bound(r.start);
    if (it != runs_.begin()) --it;
    while (it != runs_.end() && it->first < r.start + r.length) {
      if (it->first + it->second.length <= r.start) {
        ++it;
        continue;
      }
      const std::string where = "run " + std::to_string(r.start) + "+" + std::to_string(r.length) +
                                " overlaps " + std::to_string(it->first) + "+" +
                                std::to_string(it->second.length);
      if (it->second.freed_tid == 0) return where + ", which is in use";
      if (journal_.committed_tid() < it->second.freed_tid) {
        return where + ", freed in tid " + std::to_string(it->second.freed_tid) +
               " which has not committed";
      }
      it = runs_.erase(it);
      ++reused_;
    }
    runs_[r.start] = Entry{r.length, 0};
    return "";
  }
  // Called inside the freeing handle, before it stops (so before `tid` can commit).
  void MarkFreed(uint64_t start, uint64_t tid) {
    std::lock_guard<std::mutex> lock(mu_);
    runs_.at(start).freed_tid = tid;
  }
  // Freed runs that were handed out again (after their commit).
  uint64_t reused() {
    std::lock_guard<std::mutex> lock(mu_);
    return reused_;
  }
  bool ClaimInode(uint64_t ino) {
    std::lock_guard<std::mutex> lock(mu_);
    return inodes_.insert(ino).second;
  }
  void ReleaseInode(uint64_t ino) {
    std::lock_guard<std::mutex> lock(mu_);
    inodes_.erase(ino);
  }

 private:
  struct Entry {
    uint64_t length = 0;
    uint64_t freed_tid = 0;  // 0: in use
  };
  Journal& journal_;
  std::mutex mu_;                   // guards runs_ and inodes_
  std::map<uint64_t, Entry> runs_;  // by start; entries never overlap
  std::set<uint64_t> inodes_;       // inodes in use by some thread
  uint64_t reused_ = 0;
};

struct Held {
  BlockRun run;
  AllocKind kind;
};
struct HeldInode {
  uint64_t ino;
  bool dir;
};

struct Stats {
  uint64_t allocs = 0, frees = 0, enospc = 0, inode_ops = 0;
};

class Worker {
 public:
  Worker(Journal& j, Allocator& a, Ledger& l, const format::Layout& layout, int id)
      : j_(j), a_(a), ledger_(l), layout_(layout), rng_(1000 + id) {}

  void Run() {
    for (int op = 0; op < kOps; ++op) {
      if (rng_() % 8 == 0) {
        InodeOp();
      } else if (!held_.empty() && (must_free_ || held_.size() >= kMaxHeld || rng_() % 3 == 0)) {
        FreeOne();
      } else {
        AllocOne();
      }
      if (op % 25 == 24 && last_tid_ != 0) {
        EXPECT_TRUE(j_.ForceCommit(last_tid_).ok());
      }
    }
  }

  uint64_t held_blocks() const {
    uint64_t n = 0;
    for (const Held& h : held_) n += h.run.length;
    return n;
  }
  size_t held_inodes() const { return inodes_.size(); }
  size_t held_dirs() const {
    size_t n = 0;
    for (const HeldInode& i : inodes_) n += i.dir;
    return n;
  }
  const Stats& stats() const { return stats_; }

 private:
  void AllocOne() {
    const AllocKind kind = rng_() % 4 == 0 ? AllocKind::kMetadata : AllocKind::kData;
    const uint64_t max_len = 1 + rng_() % kMaxRun;
    const uint64_t min_len = 1 + rng_() % max_len;
    auto h = j_.Start(Allocator::kCreditsPerGroup, "alloc");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    last_tid_ = (*h)->tid();
    auto r = a_.AllocBlocks(**h, rng_() % layout_.blocks_count, min_len, max_len, kind);
    ASSERT_TRUE((*h)->Stop().ok());
    if (!r.ok()) {
      ASSERT_EQ(r.err(), ENOSPC) << r.status().ToString();
      stats_.enospc++;
      must_free_ = true;
      return;
    }
    EXPECT_GE(r->length, min_len);
    EXPECT_LE(r->length, max_len);
    const std::string err = ledger_.Claim(*r);
    EXPECT_EQ(err, "");
    held_.push_back(Held{*r, kind});
    stats_.allocs++;
    must_free_ = false;
  }

  void FreeOne() {
    const size_t i = rng_() % held_.size();
    const Held victim = held_[i];
    held_[i] = held_.back();
    held_.pop_back();
    auto h = j_.Start(a_.FreeCredits(victim.run.start, victim.run.length, victim.kind), "free");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    last_tid_ = (*h)->tid();
    Status st = a_.FreeBlocks(**h, victim.run.start, victim.run.length, victim.kind);
    EXPECT_TRUE(st.ok()) << st.ToString();
    ledger_.MarkFreed(victim.run.start, last_tid_);
    ASSERT_TRUE((*h)->Stop().ok());
    stats_.frees++;
  }

  void InodeOp() {
    auto h = j_.Start(Allocator::kCreditsPerGroup, "inode");
    ASSERT_TRUE(h.ok());
    last_tid_ = (*h)->tid();
    stats_.inode_ops++;
    if (!inodes_.empty() && rng_() % 2 == 0) {
      const HeldInode victim = inodes_.back();
      inodes_.pop_back();
      ledger_.ReleaseInode(victim.ino);  // before the allocator can hand it out again
      EXPECT_TRUE(a_.FreeInode(**h, victim.ino, victim.dir).ok());
    } else {
      const bool dir = rng_() % 3 == 0;
      const uint64_t parent = 1 + rng_() % layout_.inodes_count;
      auto ino = a_.AllocInode(**h, parent, dir);
      if (ino.ok()) {
        EXPECT_TRUE(ledger_.ClaimInode(*ino)) << "inode " << *ino << " handed out twice";
        inodes_.push_back(HeldInode{*ino, dir});
      } else {
        EXPECT_EQ(ino.err(), ENOSPC);
      }
    }
    ASSERT_TRUE((*h)->Stop().ok());
  }

  Journal& j_;
  Allocator& a_;
  Ledger& ledger_;
  const format::Layout& layout_;
  std::mt19937_64 rng_;
  std::vector<Held> held_;
  std::vector<HeldInode> inodes_;
  uint64_t last_tid_ = 0;
  bool must_free_ = false;
  Stats stats_;
};

TEST(AllocatorConcurrentTest, FourThreadsNeverShareABlock) {
  testsupport::Watchdog dog("allocator concurrent test", std::chrono::seconds(400));
  auto dev = MemoryDevice::Create(kDevBytes);
  ASSERT_TRUE(dev.ok());
  auto layout = format::ComputeLayout(kDevBytes, kBs, 0, 1024);
  ASSERT_TRUE(layout.ok());
  format::MakeOptions o;
  for (int i = 0; i < 16; ++i) o.uuid[i] = static_cast<uint8_t>(0x50 + i);
  o.format_journal = journal::FormatJournal;
  auto sb = format::MakeFilesystem(**dev, *layout, o);
  ASSERT_TRUE(sb.ok());
  journal::JournalOptions jo;
  jo.first_block = sb->journal_first_block;
  jo.num_blocks = sb->journal_blocks;
  jo.block_size = kBs;
  jo.uuid = sb->uuid;
  jo.commit_interval = std::chrono::milliseconds(50);  // background commits too
  auto j = Journal::Open(**dev, jo);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  auto a = Allocator::Load(**j, *sb, *layout);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const uint64_t free_blocks = (*a)->free_blocks(), free_inodes = (*a)->free_inodes();

  Ledger ledger(**j);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.push_back(std::make_unique<Worker>(**j, **a, ledger, *layout, t));
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });
  for (auto& t : threads) t.join();

  ASSERT_TRUE((*j)->ForceCommit((*j)->current_tid()).ok());
  Status st = (*a)->Check();
  EXPECT_TRUE(st.ok()) << st.ToString();
  uint64_t held = 0, inodes = 0;
  Stats total;
  for (auto& w : workers) {
    held += w->held_blocks();
    inodes += w->held_inodes();
    total.allocs += w->stats().allocs;
    total.frees += w->stats().frees;
    total.enospc += w->stats().enospc;
    total.inode_ops += w->stats().inode_ops;
  }
  EXPECT_EQ((*a)->free_blocks(), free_blocks - held);
  EXPECT_EQ((*a)->pending_free_blocks(), 0u);
  EXPECT_EQ((*a)->free_inodes(), free_inodes - inodes);
  EXPECT_GT(total.allocs, 1000u);
  EXPECT_GT(total.frees, 500u);
  EXPECT_GT(total.enospc, 0u) << "the workload is meant to fill the filesystem at times";
  EXPECT_GT(ledger.reused(), 100u) << "freed blocks are meant to be reused";
  std::printf(
      "allocs %llu frees %llu enospc %llu inode ops %llu, %llu blocks held\n",
      static_cast<unsigned long long>(total.allocs), static_cast<unsigned long long>(total.frees),
      static_cast<unsigned long long>(total.enospc),
      static_cast<unsigned long long>(total.inode_ops), static_cast<unsigned long long>(held));
  ASSERT_TRUE((*j)->Close().ok());
  dog.Done();
}

}  // namespace
}  // namespace foliofs::fs
