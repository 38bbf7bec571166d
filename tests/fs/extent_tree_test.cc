// Tests of fs/extent_tree.h over a MemoryDevice with a real journal: lookups,
// inserts and merges, overlap refusal, splits to depth >= 3, a randomized
// model test (std::map per block) with Check() after every operation, Remove
// budgets and node freeing, persistence through checkpoint and through journal
// recovery, a million-extent file, corruption detection, and failure
// atomicity under ENOSPC. Every handle is sized with CreditsPerChange and the
// test allocator spends the allocator's worst case of credits, so the credit
// bound is exercised for real.
#include "fs/extent_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"

namespace foliofs::fs {
namespace {

using format::Extent;
using format::kMaxExtentLength;
using format::kMaxLogicalBlocks;

#if defined(FOLIOFS_SANITIZER_ADDRESS) || defined(FOLIOFS_SANITIZER_THREAD)
constexpr int kScaleDown = 20;
#else
constexpr int kScaleDown = 1;
#endif

constexpr uint64_t kIno = 77;
constexpr uint32_t kSeed = 0x5EED1234;
constexpr uint64_t kJournalStart = 1;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const ::foliofs::Status _s = (expr);                    \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

std::array<uint8_t, 16> Uuid() {
  std::array<uint8_t, 16> u{};
  for (int i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(0x30 + i);
  return u;
}

// Node blocks from [first, end), freed ones reused first (LIFO, even within
// the freeing transaction: the journal's revoke cancellation must cope).
// Every AllocNode/FreeNode spends kCreditsPerNodeAlloc credits through
// revokes of fake block numbers far above the device — the worst case of the
// real allocator's bitmap + descriptor buffers. `fail_countdown`: the n-th
// AllocNode from now fails with ENOSPC.
class TestAllocator : public NodeAllocator {
 public:
  TestAllocator(uint64_t first, uint64_t end) : next_(first), end_(end) {}

  Result<uint64_t> AllocNode(journal::Handle& handle, uint64_t /*goal*/) override {
    if (fail_countdown > 0 && --fail_countdown == 0) {
      return Status::Error(ENOSPC, "test allocator: injected ENOSPC");
    }
    if (free_.empty() && next_ >= end_) return Status::Error(ENOSPC, "test allocator: full");
    RETURN_IF_ERROR(SpendCredits(handle));
    uint64_t blocknr = next_;
    if (!free_.empty()) {
      blocknr = free_.back();
      free_.pop_back();
    } else {
      ++next_;
    }
    live.insert(blocknr);
    ++allocs;
    return blocknr;
  }

  Status FreeNode(journal::Handle& handle, uint64_t blocknr) override {
    if (live.erase(blocknr) == 0) {
      ++bad_frees;
      return Status::Error(EINVAL, "test allocator: free of a block not allocated");
    }
    RETURN_IF_ERROR(handle.Revoke(blocknr));
    revoked.push_back(blocknr);
    RETURN_IF_ERROR(SpendCredits(handle));
    free_.push_back(blocknr);
    ++frees;
    return Status::Ok();
  }

  std::set<uint64_t> live;
  std::vector<uint64_t> revoked;
  uint64_t allocs = 0, frees = 0, bad_frees = 0;
  int fail_countdown = 0;

 private:
  Status SpendCredits(journal::Handle& handle) {
    for (int i = 0; i < ExtentTree::kCreditsPerNodeAlloc; ++i) {
      RETURN_IF_ERROR(handle.Revoke((1ULL << 50) + fake_++));
    }
    return Status::Ok();
  }
  uint64_t next_, end_;
  uint64_t fake_ = 0;
  std::vector<uint64_t> free_;
};

// A device: [0] unused, [1, 1 + journal_blocks) the journal, then node blocks.
struct Env {
  Env(uint32_t bs, uint64_t journal_blocks, uint64_t node_area)
      : block_size(bs),
        journal_blocks(journal_blocks),
        alloc(kJournalStart + journal_blocks, kJournalStart + journal_blocks + node_area) {
    auto d = MemoryDevice::Create((kJournalStart + journal_blocks + node_area) * bs, 512);
    EXPECT_TRUE(d.ok());
    dev = std::shared_ptr<MemoryDevice>(std::move(d).value());
    EXPECT_TRUE(journal::FormatJournal(*dev, kJournalStart, journal_blocks, bs, Uuid()).ok());
    Open();
  }
  void Open() {
    journal::JournalOptions o;
    o.first_block = kJournalStart;
    o.num_blocks = journal_blocks;
    o.block_size = block_size;
    o.uuid = Uuid();
    o.commit_interval = std::chrono::milliseconds(600000);
    auto j = journal::Journal::Open(*dev, o);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal = std::move(j).value();
  }
  std::unique_ptr<ExtentTree> Tree(
      const std::array<uint8_t, format::kInodeExtentRootSize>& root = format::EmptyExtentRoot()) {
    auto tree = std::make_unique<ExtentTree>(*journal, alloc, kIno, kSeed, block_size, root);
    const Status s = tree->Load();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return tree;
  }
  std::unique_ptr<journal::Handle> Start(int credits) {
    auto h = journal->Start(credits, "extent tree test");
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? std::move(h).value() : nullptr;
  }

  uint32_t block_size;
  uint64_t journal_blocks;
  std::shared_ptr<MemoryDevice> dev;
  TestAllocator alloc;
  std::unique_ptr<journal::Journal> journal;
};

// One change in its own handle of exactly CreditsPerChange(depth) credits.
Status Insert(Env& env, ExtentTree& tree, const Extent& e) {
  auto h = env.Start(ExtentTree::CreditsPerChange(tree.depth()));
  if (!h) return Status::Error(EIO, "no handle");
  const Status s = tree.Insert(*h, e);
  const Status stop = h->Stop();
  return s.ok() ? stop : s;
}

Extent Ext(uint64_t logical, uint64_t physical, uint32_t length, bool unwritten = false) {
  return Extent{logical, physical, length, unwritten};
}

// Removes [start, end) in as many exact-bound handles as it takes.
std::vector<Extent> RemoveAll(Env& env, ExtentTree& tree, uint64_t start, uint64_t end,
                              size_t max_records, int* calls = nullptr) {
  std::vector<Extent> removed;
  uint64_t pos = start;
  for (int n = 0; pos < end; ++n) {
    auto h = env.Start(ExtentTree::CreditsPerChange(tree.depth()));
    auto r = tree.Remove(*h, pos, end, max_records, &removed);
    EXPECT_TRUE(h->Stop().ok());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    EXPECT_GT(*r, pos) << "Remove made no progress";
    pos = *r;
    if (calls) *calls = n + 1;
  }
  return removed;
}

std::vector<Extent> Records(ExtentTree& tree, uint64_t start = 0,
                            uint64_t end = kMaxLogicalBlocks) {
  std::vector<Extent> out;
  const Status s = tree.ForEach(start, end, [&](const Extent& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

bool Same(const std::vector<Extent>& a, const std::vector<Extent>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].logical != b[i].logical || a[i].physical != b[i].physical ||
        a[i].length != b[i].length || a[i].unwritten != b[i].unwritten) {
      return false;
    }
  }
  return true;
}

// ---- Reference model: one entry per mapped block -------------------------------
struct Block {
  uint64_t physical;
  bool unwritten;
};
using Model = std::map<uint64_t, Block>;

void ExpectMatches(ExtentTree& tree, const Model& model) {
  auto it = model.begin();
  for (const Extent& e : Records(tree)) {
    for (uint64_t i = 0; i < e.length; ++i, ++it) {
      ASSERT_NE(it, model.end()) << "tree maps " << e.logical + i << ", model does not";
      ASSERT_EQ(it->first, e.logical + i);
      ASSERT_EQ(it->second.physical, e.physical + i);
      ASSERT_EQ(it->second.unwritten, e.unwritten);
    }
  }
  ASSERT_EQ(it, model.end()) << "model maps " << it->first << ", tree does not";
}

void ExpectLookup(ExtentTree& tree, const Model& model, uint64_t lblk) {
  auto r = tree.Lookup(lblk);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto it = model.find(lblk);
  if (it == model.end()) {
    ASSERT_FALSE(r->extent.has_value()) << lblk;
    auto next = model.lower_bound(lblk);
    ASSERT_EQ(r->next_mapped, next == model.end() ? kMaxLogicalBlocks : next->first) << lblk;
    return;
  }
  ASSERT_TRUE(r->extent.has_value()) << lblk;
  const Extent& e = *r->extent;
  ASSERT_TRUE(e.logical <= lblk && lblk < e.logical + e.length);
  for (uint64_t b = e.logical; b < e.logical + e.length; ++b) {
    auto m = model.find(b);
    ASSERT_NE(m, model.end());
    ASSERT_EQ(m->second.physical, e.physical + (b - e.logical));
    ASSERT_EQ(m->second.unwritten, e.unwritten);
  }
}

// ---- Basic behaviour ------------------------------------------------------------

TEST(ExtentTreeTest, EmptyTree) {
  Env env(4096, 256, 64);
  auto tree = env.Tree();
  EXPECT_EQ(tree->depth(), 0u);
  EXPECT_EQ(tree->node_blocks(), 0u);
  for (uint64_t lblk :
       std::vector<uint64_t>{0, 1, 123456, kMaxLogicalBlocks - 1, kMaxLogicalBlocks}) {
    auto r = tree->Lookup(lblk);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->extent.has_value());
    EXPECT_EQ(r->next_mapped, kMaxLogicalBlocks);
  }
  EXPECT_TRUE(Records(*tree).empty());
  ASSERT_OK(tree->Check());
  EXPECT_TRUE(RemoveAll(env, *tree, 0, kMaxLogicalBlocks, 10).empty());
  EXPECT_FALSE(tree->root_dirty());
  EXPECT_EQ(env.alloc.allocs, 0u);
}

TEST(ExtentTreeTest, NotLoadedAndInvalidRoot) {
  Env env(4096, 256, 64);
  ExtentTree unloaded(*env.journal, env.alloc, kIno, kSeed, 4096, format::EmptyExtentRoot());
  EXPECT_EQ(unloaded.Lookup(0).err(), EINVAL);
  std::array<uint8_t, format::kInodeExtentRootSize> garbage{};
  garbage[0] = 0x12;
  ExtentTree bad(*env.journal, env.alloc, kIno, kSeed, 4096, garbage);
  const Status s = bad.Load();
  EXPECT_EQ(s.err(), EUCLEAN);
  EXPECT_NE(s.message().find("inode 77"), std::string::npos) << s.message();
}

TEST(ExtentTreeTest, InsertLookupMerge) {
  Env env(4096, 256, 64);
  auto tree = env.Tree();
  ASSERT_OK(Insert(env, *tree, Ext(10, 100, 5)));
  EXPECT_TRUE(tree->root_dirty());
  ASSERT_OK(Insert(env, *tree, Ext(15, 105, 5)));  // merges right onto [10, 15)
  ASSERT_OK(Insert(env, *tree, Ext(30, 120, 5)));
  ASSERT_OK(Insert(env, *tree, Ext(25, 115, 5)));  // merges left onto [30, 35)
  ASSERT_OK(Insert(env, *tree, Ext(40, 400, 2, true)));
  ASSERT_OK(Insert(env, *tree, Ext(42, 402, 2)));  // contiguous but written: no merge
  EXPECT_TRUE(Same(Records(*tree),
                   {Ext(10, 100, 10), Ext(25, 115, 10), Ext(40, 400, 2, true), Ext(42, 402, 2)}));
  ASSERT_OK(Insert(env, *tree, Ext(20, 110, 5)));  // fills the gap: three become one
  EXPECT_TRUE(Same(Records(*tree), {Ext(10, 100, 25), Ext(40, 400, 2, true), Ext(42, 402, 2)}));
  auto r = tree->Lookup(37);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->extent);
  EXPECT_EQ(r->next_mapped, 40u);
  r = tree->Lookup(12);
  ASSERT_TRUE(r.ok() && r->extent);
  EXPECT_EQ(r->extent->physical, 100u);
  EXPECT_EQ(r->extent->length, 25u);
  EXPECT_TRUE(Same(Records(*tree, 12, 41), {Ext(12, 102, 23), Ext(40, 400, 1, true)}));
  EXPECT_EQ(tree->node_blocks(), 0u);
  ASSERT_OK(tree->Check());
}

TEST(ExtentTreeTest, MergeRespectsMaxLengthAndFileEnd) {
  Env env(4096, 256, 64);
  auto tree = env.Tree();
  ASSERT_OK(Insert(env, *tree, Ext(0, 1000, kMaxExtentLength)));
  ASSERT_OK(Insert(env, *tree, Ext(kMaxExtentLength, 1000 + kMaxExtentLength, 1)));
  EXPECT_EQ(Records(*tree).size(), 2u);
  ASSERT_OK(Insert(env, *tree, Ext(kMaxLogicalBlocks - 1, 7, 1)));
  auto r = tree->Lookup(kMaxLogicalBlocks - 1);
  ASSERT_TRUE(r.ok() && r->extent);
  EXPECT_EQ(r->extent->physical, 7u);
  EXPECT_EQ(Insert(env, *tree, Ext(kMaxLogicalBlocks - 3, 9, 4)).err(), EINVAL);
  EXPECT_EQ(Insert(env, *tree, Ext(kMaxLogicalBlocks, 9, 1)).err(), EINVAL);
  EXPECT_EQ(Insert(env, *tree, Ext(1ULL << 40, 9, 1)).err(), EINVAL);
  EXPECT_EQ(Insert(env, *tree, Ext(5ULL << 31, 9, 0)).err(), EINVAL);
  ASSERT_OK(tree->Check());
}

// Records [3i, 3i + 2) for i < n (non-mergeable: physical 10i).
std::unique_ptr<ExtentTree> Striped(Env& env, int n, Model* model = nullptr) {
  auto tree = env.Tree();
  for (int i = 0; i < n; ++i) {
    const Status s = Insert(env, *tree, Ext(3 * i, 10 * i + 1000, 2));
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (model) {
      (*model)[3 * i] = Block{10ULL * i + 1000, false};
      (*model)[3 * i + 1] = Block{10ULL * i + 1001, false};
    }
  }
  return tree;
}

TEST(ExtentTreeTest, OverlapIsEexistAndChangesNothing) {
  Env env(1024, 512, 512);
  auto tree = Striped(env, 600);
  ASSERT_GE(tree->depth(), 2u);
  const auto root = tree->root();
  const auto records = Records(*tree);
  const uint64_t nodes = tree->node_blocks(), allocs = env.alloc.allocs;
  std::vector<Extent> attempts = {Ext(0, 5, 1),  Ext(1, 5, 3),      Ext(2, 5, 2),
                                  Ext(5, 5, 30), Ext(1790, 5, 100), Ext(1797, 5, 1)};
  for (int i = 0; i < 599; ++i) attempts.push_back(Ext(3 * i + 2, 5, 2));  // hole + next record
  for (const Extent& e : attempts) {
    EXPECT_EQ(Insert(env, *tree, e).err(), EEXIST) << e.logical << "+" << e.length;
  }
  EXPECT_EQ(tree->root(), root);
  EXPECT_TRUE(Same(Records(*tree), records));
  EXPECT_EQ(tree->node_blocks(), nodes);
  EXPECT_EQ(env.alloc.allocs, allocs);
  ASSERT_OK(tree->Check());
  ASSERT_OK(Insert(env, *tree, Ext(1799, 5, 1)));  // the holes themselves are free
  ASSERT_OK(Insert(env, *tree, Ext(2, 5, 1)));
  ASSERT_OK(tree->Check());
}

// Sequential appends fill nodes completely (right-edge splits).
TEST(ExtentTreeTest, AppendsFillNodes) {
  Env env(1024, 512, 256);
  auto tree = env.Tree();
  for (int i = 0; i < 1000; ++i) ASSERT_OK(Insert(env, *tree, Ext(i, 2 * i + 5000, 1)));
  const uint64_t per_node = format::ExtentBlockMax(1024);  // 40
  EXPECT_EQ(per_node, 40u);
  EXPECT_EQ(tree->depth(), 2u);
  EXPECT_EQ(tree->node_blocks(), 1000 / per_node + 1);  // 25 full leaves + 1 index block
  EXPECT_EQ(tree->node_blocks(), env.alloc.live.size());
  ASSERT_OK(tree->Check());
}

void SplitsToDepth3(uint32_t bs, int max_records) {
  Env env(bs, 4096, 8192);
  auto tree = env.Tree();
  std::vector<int> order(max_records);
  for (int i = 0; i < max_records; ++i) order[i] = i;
  std::mt19937_64 rng(42);
  std::shuffle(order.begin(), order.end(), rng);
  Model model;
  int inserted = 0;
  for (int i : order) {
    ASSERT_OK(Insert(env, *tree, Ext(2ULL * i, 7ULL * i + 100, 1)));
    model[2ULL * i] = Block{7ULL * i + 100, false};
    ++inserted;
    if (tree->depth() >= 3) break;
  }
  ASSERT_GE(tree->depth(), 3u) << "after " << inserted << " records";
  ASSERT_OK(tree->Check());
  EXPECT_EQ(tree->node_blocks(), env.alloc.live.size());
  ExpectMatches(*tree, model);
  for (int i = 0; i < 2000; ++i) ExpectLookup(*tree, model, rng() % (2ULL * max_records + 10));
  std::printf("block size %u: depth %u after %d random inserts, %llu node blocks\n", bs,
              tree->depth(), inserted, static_cast<unsigned long long>(tree->node_blocks()));
}

TEST(ExtentTreeTest, SplitsToDepth3With1KBlocks) { SplitsToDepth3(1024, 40000); }
TEST(ExtentTreeTest, SplitsToDepth3With4KBlocks) { SplitsToDepth3(4096, 200000); }

// ---- Randomized model test --------------------------------------------------------

class ModelTest {
 public:
  // The logical space is sized so that the tree reaches depth 2 and more.
  ModelTest(uint32_t bs, uint64_t seed)
      : env_(bs, 4096, 16384), rng_(seed), space_(bs >= 4096 ? 16000 : 4000) {
    tree_ = env_.Tree();
  }

  void Run(int ops) {
    for (int op = 0; op < ops; ++op) {
      const int kind = static_cast<int>(rng_() % 100);
      if (kind < 40) {
        DoInsert();
      } else if (kind < 60) {
        DoRemove();
      } else if (kind < 80) {
        DoSetUnwritten();
      } else {
        for (int i = 0; i < 8; ++i) ExpectLookup(*tree_, model_, RandomBlock());
        DoForEachRange();
      }
      if (::testing::Test::HasFatalFailure()) return;
      const Status check = tree_->Check();
      ASSERT_TRUE(check.ok()) << "op " << op << ": " << check.ToString();
      ASSERT_EQ(tree_->node_blocks(), env_.alloc.live.size());
      ASSERT_EQ(env_.alloc.bad_frees, 0u);
      max_depth_ = std::max(max_depth_, tree_->depth());
      if (op % 50 == 0) ExpectMatches(*tree_, model_);
      if (op % 700 == 0) ASSERT_OK(env_.journal->ForceCommit(env_.journal->current_tid()));
    }
    ExpectMatches(*tree_, model_);
  }
  uint32_t max_depth() const { return max_depth_; }

 private:
  uint64_t RandomBlock() {
    if (rng_() % 50 == 0) return kMaxLogicalBlocks - 1 - rng_() % 40;
    return rng_() % space_;
  }

  void DoInsert() {
    const uint64_t lblk = RandomBlock();
    const uint64_t room = std::min<uint64_t>(kMaxLogicalBlocks - lblk, 1 + rng_() % 12);
    const uint32_t len = static_cast<uint32_t>(room);
    Extent e = Ext(lblk, 1000000 + rng_() % 1000000, len, rng_() % 4 == 0);
    auto left = model_.find(lblk - 1);
    if (lblk > 0 && left != model_.end() && rng_() % 2 == 0) {  // invite a merge
      e.physical = left->second.physical + 1;
      e.unwritten = left->second.unwritten;
    }
    bool overlaps = false;
    for (uint64_t b = lblk; b < lblk + len; ++b) overlaps = overlaps || model_.count(b);
    const Status s = Insert(env_, *tree_, e);
    if (overlaps) {
      ASSERT_EQ(s.err(), EEXIST) << s.ToString();
      return;
    }
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (uint64_t i = 0; i < len; ++i) model_[lblk + i] = Block{e.physical + i, e.unwritten};
  }

  void DoRemove() {
    const uint64_t start = RandomBlock();
    const uint64_t end = std::min<uint64_t>(kMaxLogicalBlocks, start + 1 + rng_() % 60);
    const size_t budget = rng_() % 3 == 0 ? 1000 : 1 + rng_() % 6;
    const std::vector<Extent> removed = RemoveAll(env_, *tree_, start, end, budget);
    uint64_t blocks = 0;
    for (const Extent& e : removed) {
      for (uint64_t i = 0; i < e.length; ++i) {
        auto it = model_.find(e.logical + i);
        ASSERT_NE(it, model_.end()) << "removed an unmapped block " << e.logical + i;
        ASSERT_TRUE(e.logical + i >= start && e.logical + i < end);
        ASSERT_EQ(it->second.physical, e.physical + i);
        ASSERT_EQ(it->second.unwritten, e.unwritten);
        model_.erase(it);
        ++blocks;
      }
    }
    auto lo = model_.lower_bound(start);
    ASSERT_TRUE(lo == model_.end() || lo->first >= end) << "block " << lo->first << " left mapped";
  }

  void DoSetUnwritten() {
    const uint64_t start = RandomBlock();
    const uint64_t len = 1 + rng_() % 60;
    const uint64_t end = std::min<uint64_t>(kMaxLogicalBlocks, start + len);
    const bool unwritten = rng_() % 2;
    // One change per leaf touched; a range of len blocks touches ≤ len leaves.
    const int credits =
        std::min<int>(env_.journal->max_transaction_credits(),
                      ExtentTree::CreditsPerChange(tree_->depth()) * static_cast<int>(len));
    auto h = env_.Start(credits);
    const Status s = tree_->SetUnwritten(*h, start, end, unwritten);
    ASSERT_OK(h->Stop());
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (auto it = model_.lower_bound(start); it != model_.end() && it->first < end; ++it) {
      it->second.unwritten = unwritten;
    }
  }

  void DoForEachRange() {
    const uint64_t start = RandomBlock();
    const uint64_t end = start + rng_() % 500;
    uint64_t prev_end = start;
    std::vector<Extent> got = Records(*tree_, start, end);
    auto it = model_.lower_bound(start);
    for (const Extent& e : got) {
      ASSERT_GE(e.logical, prev_end);
      ASSERT_LE(e.logical + e.length, end);
      for (uint64_t i = 0; i < e.length; ++i, ++it) {
        ASSERT_NE(it, model_.end());
        ASSERT_EQ(it->first, e.logical + i);
        ASSERT_EQ(it->second.physical, e.physical + i);
      }
      prev_end = e.logical + e.length;
    }
    ASSERT_TRUE(it == model_.end() || it->first >= end);
  }

  Env env_;
  std::mt19937_64 rng_;
  const uint64_t space_;
  std::unique_ptr<ExtentTree> tree_;
  Model model_;
  uint32_t max_depth_ = 0;
};

TEST(ExtentTreeTest, RandomizedAgainstModel) {
  const int ops = 6000 / kScaleDown * (kScaleDown > 1 ? 4 : 1);
  for (uint32_t bs : {1024u, 4096u}) {
    for (uint64_t seed : {1u, 2u, 3u, 4u}) {
      SCOPED_TRACE("block size " + std::to_string(bs) + ", seed " + std::to_string(seed));
      ModelTest test(bs, seed);
      test.Run(ops);
      if (HasFatalFailure()) return;
      if (kScaleDown == 1) {  // fewer ops (sanitizers) may stay shallower
        EXPECT_GE(test.max_depth(), 2u);
      }
      std::printf("block size %u seed %llu: %d ops, max depth %u\n", bs,
                  static_cast<unsigned long long>(seed), ops, test.max_depth());
    }
  }
}

// ---- Remove ---------------------------------------------------------------------

TEST(ExtentTreeTest, RemoveSplitsEdgesAndClipsPieces) {
  Env env(4096, 256, 64);
  auto tree = env.Tree();
  ASSERT_OK(Insert(env, *tree, Ext(0, 100, 10)));
  ASSERT_OK(Insert(env, *tree, Ext(20, 200, 10, true)));
  int calls = 0;
  auto removed = RemoveAll(env, *tree, 5, 7, 100, &calls);
  EXPECT_TRUE(Same(removed, {Ext(5, 105, 2)}));
  EXPECT_TRUE(Same(Records(*tree), {Ext(0, 100, 5), Ext(7, 107, 3), Ext(20, 200, 10, true)}));
  removed = RemoveAll(env, *tree, 8, 25, 100);
  EXPECT_TRUE(Same(removed, {Ext(8, 108, 2), Ext(20, 200, 5, true)}));
  EXPECT_TRUE(Same(Records(*tree), {Ext(0, 100, 5), Ext(7, 107, 1), Ext(25, 205, 5, true)}));
  // Removing past the file limit reports the caller's end.
  auto h = env.Start(ExtentTree::CreditsPerChange(tree->depth()));
  EXPECT_EQ(tree->Remove(*h, 0, 10, 0, &removed).err(), EINVAL);
  EXPECT_EQ(tree->Remove(*h, 10, 5, 1, &removed).err(), EINVAL);
  EXPECT_EQ(tree->SetUnwritten(*h, 10, 5, true).err(), EINVAL);
  auto r = tree->Remove(*h, 0, ~0ULL, 100, &removed);
  ASSERT_OK(h->Stop());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, ~0ULL);
  EXPECT_TRUE(Records(*tree).empty());
  ASSERT_OK(tree->Check());
}

TEST(ExtentTreeTest, RemoveBudgetMakesProgressAcrossHandles) {
  Env env(1024, 1024, 512);
  Model model;
  auto tree = Striped(env, 500, &model);
  ASSERT_GE(tree->depth(), 2u);
  const uint64_t end = 3 * 500;
  std::vector<Extent> removed;
  uint64_t pos = 1;
  int calls = 0;
  while (pos < end) {
    auto h = env.Start(ExtentTree::CreditsPerChange(tree->depth()));
    const size_t before = removed.size();
    auto r = tree->Remove(*h, pos, end, 7, &removed);
    ASSERT_OK(h->Stop());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GT(*r, pos);
    ASSERT_LE(removed.size() - before, 7u);
    ASSERT_OK(tree->Check());
    for (uint64_t b = 1; b < *r; ++b) {  // everything before the progress mark is gone
      if (b % 3 != 2) {
        ASSERT_FALSE(tree->Lookup(b)->extent.has_value()) << b;
      }
    }
    if (*r < end) {
      ASSERT_TRUE(model.count(*r) == 0 || tree->Lookup(*r)->extent.has_value());
    }
    pos = *r;
    ++calls;
  }
  EXPECT_GE(calls, 500 / 7);
  uint64_t blocks = 0;
  for (const Extent& e : removed) blocks += e.length;
  EXPECT_EQ(blocks, 2u * 500 - 1);
  EXPECT_TRUE(Same({removed.front()}, {Ext(1, 1001, 1)}));
  EXPECT_TRUE(Same(Records(*tree), {Ext(0, 1000, 1)}));
  EXPECT_EQ(tree->depth(), 0u);
  EXPECT_EQ(tree->node_blocks(), 0u);
  EXPECT_TRUE(env.alloc.live.empty());
  EXPECT_EQ(env.alloc.frees, env.alloc.allocs);
  std::set<uint64_t> revoked(env.alloc.revoked.begin(), env.alloc.revoked.end());
  EXPECT_GE(revoked.size(), 1u);
}

// With an unlimited record budget, Remove stops when the handle's credits
// would not cover another leaf, and returns its progress.
TEST(ExtentTreeTest, RemoveStopsAtHandleCredits) {
  Env env(1024, 1024, 512);
  auto tree = Striped(env, 800);
  int calls = 0;
  auto removed = RemoveAll(env, *tree, 0, kMaxLogicalBlocks, 1000000, &calls);
  EXPECT_GT(calls, 3);
  EXPECT_EQ(removed.size(), 800u);
  EXPECT_EQ(tree->depth(), 0u);
  EXPECT_EQ(tree->node_blocks(), 0u);
  EXPECT_TRUE(env.alloc.live.empty());
  ASSERT_OK(tree->Check());
}

TEST(ExtentTreeTest, DepthShrinksBackToInline) {
  Env env(1024, 512, 256);
  auto tree = env.Tree();
  for (int i = 0; i < 200; ++i) ASSERT_OK(Insert(env, *tree, Ext(2 * i, 5 * i + 100, 1)));
  ASSERT_EQ(tree->depth(), 2u);
  const uint64_t nodes = tree->node_blocks();
  RemoveAll(env, *tree, 6, 400, 1000);
  EXPECT_TRUE(Same(Records(*tree), {Ext(0, 100, 1), Ext(2, 105, 1), Ext(4, 110, 1)}));
  EXPECT_EQ(tree->depth(), 0u);
  EXPECT_EQ(tree->node_blocks(), 0u);
  EXPECT_TRUE(env.alloc.live.empty());
  EXPECT_EQ(env.alloc.frees, nodes);
  std::set<uint64_t> revoked(env.alloc.revoked.begin(), env.alloc.revoked.end());
  EXPECT_EQ(revoked.size(), nodes);
  ASSERT_OK(tree->Check());
  // The tree grows again from the inline root.
  for (int i = 3; i < 100; ++i) ASSERT_OK(Insert(env, *tree, Ext(2 * i, 5 * i + 100, 1)));
  EXPECT_GE(tree->depth(), 1u);
  ASSERT_OK(tree->Check());
}

// ---- SetUnwritten ---------------------------------------------------------------

TEST(ExtentTreeTest, SetUnwrittenSplitsAndMerges) {
  Env env(4096, 256, 64);
  auto tree = env.Tree();
  ASSERT_OK(Insert(env, *tree, Ext(0, 1000, 100)));
  auto set = [&](uint64_t a, uint64_t b, bool u) {
    auto h = env.Start(ExtentTree::CreditsPerChange(tree->depth()));
    const Status s = tree->SetUnwritten(*h, a, b, u);
    EXPECT_TRUE(h->Stop().ok());
    return s;
  };
  ASSERT_OK(set(10, 20, true));
  EXPECT_TRUE(Same(Records(*tree), {Ext(0, 1000, 10), Ext(10, 1010, 10, true), Ext(20, 1020, 80)}));
  ASSERT_OK(set(10, 20, false));
  EXPECT_TRUE(Same(Records(*tree), {Ext(0, 1000, 100)}));
  ASSERT_OK(Insert(env, *tree, Ext(200, 1200, 10, true)));  // not contiguous in logical
  ASSERT_OK(set(50, 500, true));                            // holes stay holes
  EXPECT_TRUE(
      Same(Records(*tree), {Ext(0, 1000, 50), Ext(50, 1050, 50, true), Ext(200, 1200, 10, true)}));
  ASSERT_OK(set(0, 1000, false));
  EXPECT_TRUE(Same(Records(*tree), {Ext(0, 1000, 100), Ext(200, 1200, 10)}));
  ASSERT_OK(tree->Check());
}

// A three-way split inside a full leaf of a deep tree, with exactly the bound.
TEST(ExtentTreeTest, SetUnwrittenInFullLeafWithExactCredits) {
  Env env(1024, 1024, 512);
  auto tree = env.Tree();
  for (int i = 0; i < 1000; ++i) ASSERT_OK(Insert(env, *tree, Ext(4 * i, 10 * i + 100, 4)));
  ASSERT_EQ(tree->depth(), 2u);
  for (int i : {0, 1, 39, 40, 517, 999}) {
    auto h = env.Start(ExtentTree::CreditsPerChange(tree->depth()));
    ASSERT_OK(tree->SetUnwritten(*h, 4 * i + 1, 4 * i + 3, true));
    ASSERT_OK(h->Stop());
    ASSERT_OK(tree->Check());
    EXPECT_TRUE(Same(Records(*tree, 4 * i, 4 * i + 4),
                     {Ext(4 * i, 10 * i + 100, 1), Ext(4 * i + 1, 10 * i + 101, 2, true),
                      Ext(4 * i + 3, 10 * i + 103, 1)}));
  }
  EXPECT_EQ(tree->node_blocks(), env.alloc.live.size());
}

// ---- Failure atomicity -----------------------------------------------------------

TEST(ExtentTreeTest, AllocationFailureLeavesTreeUnchanged) {
  Env env(1024, 1024, 512);
  auto tree = env.Tree();
  int failures = 0, partial = 0;
  for (int i = 0; i < 2000; ++i) {
    // Fail the first, then the second allocation of this insert, then let it be.
    for (int fail_at : {1, 2, 0}) {
      const auto root = tree->root();
      const auto before = Records(*tree);
      const uint64_t live = env.alloc.live.size(), allocs = env.alloc.allocs;
      env.alloc.fail_countdown = fail_at;
      const Status s = Insert(env, *tree, Ext(i, 3 * i + 50, 1));
      env.alloc.fail_countdown = 0;
      if (s.ok()) break;
      ASSERT_NE(fail_at, 0) << s.ToString();
      ASSERT_EQ(s.err(), ENOSPC) << s.ToString();
      ++failures;
      if (env.alloc.allocs > allocs) ++partial;  // a node was allocated, then returned
      ASSERT_EQ(tree->root(), root);
      ASSERT_TRUE(Same(Records(*tree), before));
      ASSERT_EQ(env.alloc.live.size(), live);
      ASSERT_OK(tree->Check());
    }
  }
  EXPECT_GT(failures, 40);
  EXPECT_GE(partial, 2);  // the root growing to depth 2, the index block splitting
  ASSERT_OK(tree->Check());
  EXPECT_EQ(Records(*tree).size(), 2000u);
}

TEST(ExtentTreeTest, TooFewCreditsLeavesTreeUnchanged) {
  Env env(1024, 1024, 512);
  auto tree = env.Tree();
  for (int i = 0; i < 40; ++i) ASSERT_OK(Insert(env, *tree, Ext(2 * i, 3 * i + 50, 1)));
  ASSERT_EQ(tree->depth(), 1u);
  const auto before = Records(*tree);
  const auto root = tree->root();
  // Commit so that the next handle has to join the path buffers afresh.
  ASSERT_OK(env.journal->ForceCommit(env.journal->current_tid()));
  auto h = env.Start(1);
  const Status s = tree->Insert(*h, Ext(1, 999, 1));  // needs a leaf split
  ASSERT_OK(h->Stop());
  EXPECT_EQ(s.err(), ENOSPC);
  EXPECT_EQ(tree->root(), root);
  EXPECT_TRUE(Same(Records(*tree), before));
  ASSERT_OK(tree->Check());
}

// ---- Persistence -----------------------------------------------------------------

TEST(ExtentTreeTest, SurvivesCheckpointAndReopen) {
  Env env(1024, 1024, 1024);
  Model model;
  auto tree = Striped(env, 700, &model);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    const uint64_t a = rng() % 2100;
    auto h = env.Start(std::min(env.journal->max_transaction_credits(),
                                ExtentTree::CreditsPerChange(tree->depth()) * 40));
    ASSERT_OK(tree->SetUnwritten(*h, a, a + 1 + rng() % 30, true));
    ASSERT_OK(h->Stop());
  }
  RemoveAll(env, *tree, 300, 900, 1000);
  ASSERT_OK(tree->Check());
  const auto records = Records(*tree);
  const auto root = tree->root();
  const uint64_t nodes = tree->node_blocks();
  const uint32_t depth = tree->depth();
  ASSERT_GE(depth, 2u);
  tree.reset();
  ASSERT_OK(env.journal->Checkpoint());
  ASSERT_OK(env.journal->Close());
  env.journal.reset();
  env.Open();  // a fresh BufferCache: everything comes from the device
  auto again = env.Tree(root);
  EXPECT_EQ(again->depth(), depth);
  EXPECT_EQ(again->node_blocks(), nodes);
  EXPECT_TRUE(Same(Records(*again), records));
  ASSERT_OK(again->Check());
}

TEST(ExtentTreeTest, RecoveryShowsTheCommittedTree) {
  Env env(1024, 2048, 1024);
  auto tree = Striped(env, 500);
  RemoveAll(env, *tree, 100, 400, 1000);
  const auto committed_root = tree->root();
  const auto committed = Records(*tree);
  ASSERT_OK(env.journal->ForceCommit(env.journal->current_tid()));
  // More changes that never commit: a crash loses them.
  for (int i = 0; i < 50; ++i) ASSERT_OK(Insert(env, *tree, Ext(5000 + 2 * i, 90000 + 5 * i, 1)));
  RemoveAll(env, *tree, 0, 50, 1000);
  auto image = MemoryDevice::FromImage(env.dev->Snapshot(), 512);
  ASSERT_TRUE(image.ok());
  std::shared_ptr<MemoryDevice> crashed(std::move(image).value());
  journal::JournalOptions o;
  o.first_block = kJournalStart;
  o.num_blocks = env.journal_blocks;
  o.block_size = env.block_size;
  o.uuid = Uuid();
  auto j = journal::Journal::Open(*crashed, o);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_GT((*j)->recovery_info().transactions_replayed, 0u);
  TestAllocator alloc(0, 0);
  ExtentTree recovered(**j, alloc, kIno, kSeed, env.block_size, committed_root);
  ASSERT_OK(recovered.Load());
  EXPECT_TRUE(Same(Records(recovered), committed));
  ASSERT_OK(recovered.Check());
}

// ---- Corruption ------------------------------------------------------------------

// The block of the leaf holding `lblk`, found by decoding the device directly.
uint64_t LeafBlock(const MemoryDevice& dev, uint32_t bs,
                   const std::array<uint8_t, format::kInodeExtentRootSize>& root, uint64_t lblk,
                   uint64_t* parent = nullptr) {
  auto node = format::DecodeExtentNode(root.data(), root.size());
  EXPECT_TRUE(node.ok());
  uint64_t blocknr = 0;
  std::vector<uint8_t> block(bs);
  while (node->header.depth > 0) {
    size_t i = 0;
    while (i + 1 < node->indexes.size() && node->indexes[i + 1].logical <= lblk) ++i;
    if (parent) *parent = blocknr;
    blocknr = node->indexes[i].child;
    dev.Peek(blocknr * bs, block.data(), bs);
    node = format::DecodeExtentBlock(block, blocknr, kIno, kSeed);
    EXPECT_TRUE(node.ok());
  }
  return blocknr;
}

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tree = Striped(env_, 400);
    ASSERT_EQ(tree->depth(), 2u);
    root_ = tree->root();
    tree.reset();
    ASSERT_OK(env_.journal->Close());
    env_.journal.reset();
    leaf_ = LeafBlock(*env_.dev, 1024, root_, 600, &index_);
    ASSERT_NE(leaf_, 0u);
    ASSERT_NE(index_, 0u);
  }
  // Reopens the journal (fresh cache) and expects Lookup(600) to fail naming `leaf_`.
  void ExpectLookupCorrupt(const std::string& detail) {
    env_.Open();
    auto tree = env_.Tree(root_);
    auto r = tree->Lookup(600);
    ASSERT_EQ(r.err(), EUCLEAN) << r.status().ToString();
    const std::string msg = r.status().message();
    EXPECT_NE(msg.find("extent tree of inode 77: block " + std::to_string(leaf_)),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find(detail), std::string::npos) << msg;
    EXPECT_EQ(tree->Check().err(), EUCLEAN);
    EXPECT_EQ(Insert(env_, *tree, Ext(602, 1, 1)).err(), EUCLEAN);
    auto other = tree->Lookup(3);  // another leaf still reads fine
    ASSERT_TRUE(other.ok());
    EXPECT_TRUE(other->extent.has_value());
  }
  void Rewrite(uint64_t blocknr, const format::ExtentNode& node, uint64_t owner) {
    std::vector<uint8_t> block(1024);
    ASSERT_OK(format::EncodeExtentBlock(node, blocknr, owner, kSeed, block));
    env_.dev->Poke(blocknr * 1024, block.data(), block.size());
  }
  format::ExtentNode Decoded(uint64_t blocknr) {
    std::vector<uint8_t> block(1024);
    env_.dev->Peek(blocknr * 1024, block.data(), block.size());
    auto node = format::DecodeExtentBlock(block, blocknr, kIno, kSeed);
    EXPECT_TRUE(node.ok());
    return *node;
  }

  Env env_{1024, 1024, 512};
  std::array<uint8_t, format::kInodeExtentRootSize> root_{};
  uint64_t leaf_ = 0, index_ = 0;
};

TEST_F(CorruptionTest, FlippedByteInLeaf) {
  uint8_t byte;
  env_.dev->Peek(leaf_ * 1024 + 60, &byte, 1);
  byte ^= 0x40;
  env_.dev->Poke(leaf_ * 1024 + 60, &byte, 1);
  ExpectLookupCorrupt("checksum");
}

TEST_F(CorruptionTest, LeafOwnedByAnotherInode) {
  Rewrite(leaf_, Decoded(leaf_), kIno + 1);
  ExpectLookupCorrupt("owned by inode 78");
}

TEST_F(CorruptionTest, LeafWithWrongDepth) {
  format::ExtentNode node;
  node.header.depth = 1;
  node.header.max = format::ExtentBlockMax(1024);
  node.indexes.push_back(format::ExtentIndex{600, 12345});
  Rewrite(leaf_, node, kIno);
  ExpectLookupCorrupt("depth 1, expected 0");
}

TEST_F(CorruptionTest, IndexNodeFailsLoad) {
  uint8_t byte;
  env_.dev->Peek(index_ * 1024 + 50, &byte, 1);
  byte ^= 0x01;
  env_.dev->Poke(index_ * 1024 + 50, &byte, 1);
  env_.Open();
  ExtentTree tree(*env_.journal, env_.alloc, kIno, kSeed, 1024, root_);
  const Status s = tree.Load();
  EXPECT_EQ(s.err(), EUCLEAN);
  EXPECT_NE(s.message().find("block " + std::to_string(index_)), std::string::npos) << s.message();
}

// Keys looser than §7 requires to be tight (key < child's first key) are valid:
// lookups, overlap checks and inserts still see the true first mapped block.
TEST(ExtentTreeTest, LooseIndexKeysAreHandled) {
  Env env(1024, 256, 64);
  const uint64_t a = kJournalStart + 256 + 60, b = a + 1;  // far from what alloc hands out
  env.alloc.live = {a, b};
  {
    auto h = env.Start(4);
    for (auto [blocknr, logical] : {std::pair{a, 10ULL}, std::pair{b, 150ULL}}) {
      format::ExtentNode leaf;
      leaf.header.max = format::ExtentBlockMax(1024);
      leaf.extents.push_back(Ext(logical, 7000 + logical, 5));
      auto buf = env.journal->buffers().GetNew(blocknr);
      ASSERT_TRUE(buf.ok());
      ASSERT_OK(h->GetWriteAccess(**buf));
      ASSERT_OK(format::EncodeExtentBlock(leaf, blocknr, kIno, kSeed, (*buf)->bytes()));
      ASSERT_OK(h->DirtyMetadata(**buf));
    }
    ASSERT_OK(h->Stop());
  }
  format::ExtentNode root;
  root.header.max = format::kInodeExtentRootMax;
  root.header.depth = 1;
  root.indexes = {{0, a}, {100, b}};
  std::array<uint8_t, format::kInodeExtentRootSize> bytes{};
  ASSERT_OK(format::EncodeExtentNode(root, bytes.data(), bytes.size()));
  auto tree = env.Tree(bytes);
  EXPECT_EQ(tree->node_blocks(), 2u);
  ASSERT_OK(tree->Check());
  auto r = tree->Lookup(20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->next_mapped, 150u);
  EXPECT_EQ(Insert(env, *tree, Ext(100, 1, 60)).err(), EEXIST);
  ASSERT_OK(Insert(env, *tree, Ext(120, 1, 30)));
  ASSERT_OK(Insert(env, *tree, Ext(16, 1, 4)));
  EXPECT_TRUE(
      Same(Records(*tree), {Ext(10, 7010, 5), Ext(16, 1, 4), Ext(120, 1, 30), Ext(150, 7150, 5)}));
  ASSERT_OK(tree->Check());
}

// ---- A million extents in one file ------------------------------------------------

TEST(ExtentTreeTest, MillionExtentsInOneFile) {
  const uint64_t n = 1000000 / kScaleDown + 1;
  const uint64_t kBase = 1ULL << 30;
  Env env(4096, 16384, 8192);
  auto tree = env.Tree();
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t handles = 0;
  for (uint64_t i = 0; i < n;) {
    auto h = env.Start(2048);
    ++handles;
    for (; i < n && h->credits_left() >= ExtentTree::CreditsPerChange(tree->depth()); ++i) {
      ASSERT_OK(tree->Insert(*h, Ext(i, kBase + 2 * i, 1)));  // gaps: never mergeable
    }
    ASSERT_OK(h->Stop());
  }
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_OK(tree->Check());
  EXPECT_EQ(tree->node_blocks(), env.alloc.live.size());
  const uint64_t per_node = format::ExtentBlockMax(4096);
  const uint64_t leaves = (n + per_node - 1) / per_node;
  EXPECT_LE(tree->node_blocks(), leaves + leaves / (per_node - 1) + 3);  // nodes are full
  EXPECT_GE(tree->depth(), 2u);
  std::mt19937_64 rng(99);
  for (int k = 0; k < 200000 / kScaleDown; ++k) {
    const uint64_t lblk = rng() % (n + 100);
    auto r = tree->Lookup(lblk);
    ASSERT_TRUE(r.ok());
    if (lblk < n) {
      ASSERT_TRUE(r->extent.has_value());
      ASSERT_EQ(r->extent->logical, lblk);
      ASSERT_EQ(r->extent->physical, kBase + 2 * lblk);
    } else {
      ASSERT_FALSE(r->extent.has_value());
      ASSERT_EQ(r->next_mapped, kMaxLogicalBlocks);
    }
  }
  const auto t2 = std::chrono::steady_clock::now();
  uint64_t removed_blocks = 0, pos = 0, remove_handles = 0;
  while (pos < n) {
    auto h = env.Start(2048);
    ++remove_handles;
    std::vector<Extent> removed;
    auto r = tree->Remove(*h, pos, n, 1000000, &removed);
    ASSERT_OK(h->Stop());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const Extent& e : removed) {
      ASSERT_EQ(e.physical, kBase + 2 * e.logical);
      removed_blocks += e.length;
    }
    pos = *r;
  }
  const auto t3 = std::chrono::steady_clock::now();
  EXPECT_EQ(removed_blocks, n);
  EXPECT_EQ(tree->depth(), 0u);
  EXPECT_EQ(tree->node_blocks(), 0u);
  EXPECT_TRUE(env.alloc.live.empty());
  ASSERT_OK(tree->Check());
  auto ms = [](auto a, auto b) {
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count());
  };
  std::printf(
      "%llu extents: insert %lld ms (%llu handles), check+lookups %lld ms, "
      "remove %lld ms (%llu handles), %llu nodes allocated\n",
      static_cast<unsigned long long>(n), ms(t0, t1), static_cast<unsigned long long>(handles),
      ms(t1, t2), ms(t2, t3), static_cast<unsigned long long>(remove_handles),
      static_cast<unsigned long long>(env.alloc.allocs));
}

}  // namespace
}  // namespace foliofs::fs
