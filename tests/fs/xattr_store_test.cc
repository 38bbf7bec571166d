// Tests of fs/xattr_store.h over a MemoryDevice with a real journal: inline
// set/get/list/remove, spilling into the external block and freeing it when
// it empties (with the inode's blocks count), setxattr flag semantics, every
// error code, binary names and values, size limits at both block sizes, a
// randomized model test (std::map) checking every attribute and the on-disk
// layout invariants after each operation, persistence through checkpoint,
// reopen and journal recovery, corruption detection, and failure atomicity
// (ENOSPC from the areas, the allocator and the handle's credits). Every
// handle has exactly SetCredits() credits and the test block source spends
// the real allocator's worst case, so the credit bound is exercised for real.
#include "fs/xattr_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
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

using format::Xattr;
using format::XattrIndex;
using Entries = std::vector<Xattr>;

#if defined(FOLIOFS_SANITIZER_ADDRESS) || defined(FOLIOFS_SANITIZER_THREAD)
constexpr int kScaleDown = 10;
#else
constexpr int kScaleDown = 1;
#endif

constexpr uint64_t kIno = 77;
constexpr uint32_t kSeed = 0x5EED1234;
constexpr uint64_t kJournalStart = 1;
constexpr uint64_t kBaseBlocks = 5;  // data blocks the test inode "has" besides the xattr block

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const ::foliofs::Status _s = (expr);                    \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

std::array<uint8_t, 16> Uuid() {
  std::array<uint8_t, 16> u{};
  for (int i = 0; i < 16; ++i) u[i] = static_cast<uint8_t>(0x40 + i);
  return u;
}

// Blocks from [first, end), freed ones reused first (LIFO, even inside the
// freeing transaction: revoke cancellation must cope). Each call spends its
// declared credits (fake revokes far above the device stand for the bitmap
// and descriptor buffers) before changing anything, so a call that runs out
// of credits changes nothing. `fail_alloc`: AllocBlock fails with ENOSPC.
class TestBlockSource : public XattrBlockSource {
 public:
  TestBlockSource(uint64_t first, uint64_t end) : next_(first), end_(end) {}

  Result<uint64_t> AllocBlock(journal::Handle& handle, uint64_t /*goal*/) override {
    if (fail_alloc) return Status::Error(ENOSPC, "test source: injected ENOSPC");
    if (free_.empty() && next_ >= end_) return Status::Error(ENOSPC, "test source: full");
    RETURN_IF_ERROR(Spend(handle, 2));
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
  Status FreeBlock(journal::Handle& handle, uint64_t blocknr) override {
    if (!live.count(blocknr)) return Status::Error(EINVAL, "test source: block not allocated");
    RETURN_IF_ERROR(Spend(handle, 2));
    RETURN_IF_ERROR(handle.Revoke(blocknr));
    live.erase(blocknr);
    free_.push_back(blocknr);
    ++frees;
    return Status::Ok();
  }
  int AllocCredits() const override { return 2; }
  int FreeCredits() const override { return 3; }

  std::set<uint64_t> live;
  uint64_t allocs = 0, frees = 0;
  bool fail_alloc = false;

 private:
  Status Spend(journal::Handle& handle, int n) {
    // Revoke charges its credit only while one is left; check first so a
    // refused call spends nothing.
    if (handle.credits_left() < n) return Status::Error(ENOSPC, "test source: out of credits");
    for (int i = 0; i < n; ++i) RETURN_IF_ERROR(handle.Revoke((1ULL << 50) + fake_++));
    return Status::Ok();
  }
  uint64_t next_, end_;
  uint64_t fake_ = 0;
  std::vector<uint64_t> free_;
};

format::Inode NewInode() {
  format::Inode rec;
  rec.ino = kIno;
  rec.generation = 3;
  rec.mode = 0100644;
  rec.nlink = 1;
  rec.blocks = kBaseBlocks;
  rec.i_block = format::EmptyExtentRoot();
  return rec;
}

// A device: [0] unused, [1, 1 + journal_blocks) the journal, then xattr blocks.
struct Env {
  explicit Env(uint32_t bs = 4096, uint64_t journal_blocks = 256, uint64_t area = 256)
      : block_size(bs),
        journal_blocks(journal_blocks),
        source(kJournalStart + journal_blocks, kJournalStart + journal_blocks + area) {
    auto d = MemoryDevice::Create((kJournalStart + journal_blocks + area) * bs, 512);
    EXPECT_TRUE(d.ok());
    dev = std::shared_ptr<MemoryDevice>(std::move(d).value());
    EXPECT_TRUE(journal::FormatJournal(*dev, kJournalStart, journal_blocks, bs, Uuid()).ok());
    Open();
  }
  ~Env() {
    store.reset();
    if (journal) {
      EXPECT_TRUE(journal->Close().ok());
    }
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
    store = std::make_unique<XattrStore>(*journal, source, kSeed, block_size);
  }
  // Checkpoint, close and reopen: a fresh BufferCache reads from the device.
  void Reopen() {
    store.reset();
    ASSERT_OK(journal->Checkpoint());
    ASSERT_OK(journal->Close());
    journal.reset();
    Open();
  }

  Status Set(std::string_view name, std::string_view value, int flags = 0, int credits = -1) {
    auto h = journal->Start(credits < 0 ? store->SetCredits() : credits, "xattr test");
    if (!h.ok()) return h.status();
    Status s = store->Set(**h, rec, name, value, flags);
    Status stop = (*h)->Stop();
    return s.ok() ? stop : s;
  }
  Status Remove(std::string_view name) {
    auto h = journal->Start(store->SetCredits(), "xattr test");
    if (!h.ok()) return h.status();
    Status s = store->Remove(**h, rec, name);
    Status stop = (*h)->Stop();
    return s.ok() ? stop : s;
  }
  Status FreeAll() {
    auto h = journal->Start(store->SetCredits(), "xattr test");
    if (!h.ok()) return h.status();
    Status s = store->FreeAll(**h, rec);
    Status stop = (*h)->Stop();
    return s.ok() ? stop : s;
  }
  std::string Get(std::string_view name) {
    auto r = store->Get(rec, name);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    return r.ok() ? *r : std::string("<error>");
  }
  std::vector<std::string> List() {
    auto r = store->List(rec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<std::string>{};
  }
  // The block's current contents as the journal's cache holds them.
  std::vector<uint8_t> CachedBlock(uint64_t blocknr) {
    auto b = journal->buffers().Read(blocknr);
    EXPECT_TRUE(b.ok());
    return std::vector<uint8_t>((*b)->data(), (*b)->data() + block_size);
  }
  std::vector<uint8_t> DiskBlock(uint64_t blocknr) {
    std::vector<uint8_t> out(block_size);
    dev->Peek(blocknr * block_size, out.data(), block_size);
    return out;
  }

  uint32_t block_size;
  uint64_t journal_blocks;
  std::shared_ptr<MemoryDevice> dev;
  TestBlockSource source;
  std::unique_ptr<journal::Journal> journal;
  std::unique_ptr<XattrStore> store;
  format::Inode rec = NewInode();
};

Entries Inline(const format::Inode& rec) {
  auto r = format::DecodeXattrEntries(rec.xattr_inline.data(), rec.xattr_inline_bytes);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Entries{};
}

Entries BlockEntries(Env& env) {
  if (env.rec.xattr_block == 0) return {};
  auto r = format::DecodeXattrBlock(env.CachedBlock(env.rec.xattr_block), env.rec.xattr_block, kIno,
                                    kSeed);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : Entries{};
}

size_t EntrySize(size_t name, size_t value) { return (4 + name + value + 3) & ~size_t{3}; }
size_t Used(const Entries& area) {
  size_t used = 0;
  for (const Xattr& x : area) used += EntrySize(x.name.size(), x.value.size());
  return used;
}

bool Less(const Xattr& a, const Xattr& b) {
  if (a.index != b.index) return a.index < b.index;
  return a.name < b.name;
}

// §10's invariants: both areas decode (so each is strictly sorted), they are
// disjoint, the block exists iff it is non-empty, `blocks` counts it, and the
// source's live set is exactly that block.
void ExpectLayout(Env& env) {
  const Entries inl = Inline(env.rec);
  const Entries blk = BlockEntries(env);
  ASSERT_EQ(env.rec.xattr_block != 0, !blk.empty());
  for (const Xattr& x : blk) {
    for (const Xattr& y : inl) ASSERT_TRUE(Less(x, y) || Less(y, x)) << x.name << " in both";
  }
  ASSERT_EQ(env.rec.blocks, kBaseBlocks + (env.rec.xattr_block ? 1 : 0));
  if (env.rec.xattr_block) {
    ASSERT_EQ(env.source.live, std::set<uint64_t>{env.rec.xattr_block});
  } else {
    ASSERT_TRUE(env.source.live.empty());
  }
  // Unused inline bytes stay zero (the record is encoded as it is).
  for (size_t i = env.rec.xattr_inline_bytes; i < env.rec.xattr_inline.size(); ++i) {
    ASSERT_EQ(env.rec.xattr_inline[i], 0) << i;
  }
}

bool InInline(const format::Inode& rec, const std::string& name) {
  for (const Xattr& x : Inline(rec)) {
    if (x.index == XattrIndex::kUser && x.name == name) return true;
  }
  return false;
}

std::string Bytes(size_t n, char c) { return std::string(n, c); }

// ---- Names ----------------------------------------------------------------------

TEST(ParseXattrNameTest, PrefixesAndLimits) {
  auto u = ParseXattrName("user.foo");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->first, XattrIndex::kUser);
  EXPECT_EQ(u->second, "foo");
  auto t = ParseXattrName("trusted.a.b");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->first, XattrIndex::kTrusted);
  EXPECT_EQ(t->second, "a.b");
  auto s = ParseXattrName("security.selinux");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->first, XattrIndex::kSecurity);
  EXPECT_EQ(s->second, "selinux");

  EXPECT_EQ(ParseXattrName("system.posix_acl_access").err(), EOPNOTSUPP);
  EXPECT_EQ(ParseXattrName("foo").err(), EOPNOTSUPP);
  EXPECT_EQ(ParseXattrName("").err(), EOPNOTSUPP);
  EXPECT_EQ(ParseXattrName("User.foo").err(), EOPNOTSUPP);
  EXPECT_EQ(ParseXattrName("user").err(), EOPNOTSUPP);
  EXPECT_EQ(ParseXattrName("user.").err(), EINVAL);
  EXPECT_EQ(ParseXattrName("security.").err(), EINVAL);
  EXPECT_TRUE(ParseXattrName("user." + Bytes(255, 'n')).ok());
  EXPECT_EQ(ParseXattrName("user." + Bytes(256, 'n')).err(), ERANGE);
  EXPECT_EQ(ParseXattrName("trusted." + Bytes(1000, 'n')).err(), ERANGE);
}

// ---- Basic behaviour ------------------------------------------------------------

TEST(XattrStoreTest, InlineSetGetListRemove) {
  Env env;
  EXPECT_TRUE(env.List().empty());
  ASSERT_OK(env.Set("user.b", "two"));
  ASSERT_OK(env.Set("user.a", "one"));
  ASSERT_OK(env.Set("security.s", ""));
  ASSERT_OK(env.Set("trusted.t", "tt"));
  EXPECT_EQ(env.Get("user.a"), "one");
  EXPECT_EQ(env.Get("user.b"), "two");
  EXPECT_EQ(env.Get("security.s"), "");
  EXPECT_EQ(env.Get("trusted.t"), "tt");
  // Sorted by (index, name): user < trusted < security.
  EXPECT_EQ(env.List(), (std::vector<std::string>{"user.a", "user.b", "trusted.t", "security.s"}));
  EXPECT_EQ(env.rec.xattr_block, 0u);
  EXPECT_EQ(env.source.allocs, 0u);
  EXPECT_EQ(env.rec.xattr_inline_bytes, EntrySize(1, 3) * 2 + EntrySize(1, 0) + EntrySize(1, 2));
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));

  ASSERT_OK(env.Set("user.a", "a much longer value"));
  EXPECT_EQ(env.Get("user.a"), "a much longer value");
  ASSERT_OK(env.Remove("user.b"));
  EXPECT_EQ(env.store->Get(env.rec, "user.b").err(), ENODATA);
  EXPECT_EQ(env.List(), (std::vector<std::string>{"user.a", "trusted.t", "security.s"}));
  ASSERT_OK(env.Remove("user.a"));
  ASSERT_OK(env.Remove("trusted.t"));
  ASSERT_OK(env.Remove("security.s"));
  EXPECT_TRUE(env.List().empty());
  EXPECT_EQ(env.rec.xattr_inline_bytes, 0u);
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

TEST(XattrStoreTest, SameNameInDifferentNamespacesIsDistinct) {
  Env env;
  ASSERT_OK(env.Set("user.x", "u"));
  ASSERT_OK(env.Set("trusted.x", "t"));
  ASSERT_OK(env.Set("security.x", "s"));
  EXPECT_EQ(env.Get("user.x"), "u");
  EXPECT_EQ(env.Get("trusted.x"), "t");
  EXPECT_EQ(env.Get("security.x"), "s");
  ASSERT_OK(env.Remove("trusted.x"));
  EXPECT_EQ(env.Get("user.x"), "u");
  EXPECT_EQ(env.store->Get(env.rec, "trusted.x").err(), ENODATA);
}

// Fills the inline area with 40-byte entries (6 fit: 240 of 256 bytes).
void FillInline(Env& env) {
  for (int i = 0; i < 6; ++i) {
    ASSERT_OK(env.Set("user.i" + std::to_string(i), Bytes(34, static_cast<char>('a' + i))));
  }
  ASSERT_EQ(env.rec.xattr_inline_bytes, 240u);
  ASSERT_EQ(env.rec.xattr_block, 0u);
}

TEST(XattrStoreTest, SpillsToTheBlockWhenInlineIsFull) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));  // 108 bytes: no room inline
  ASSERT_NE(env.rec.xattr_block, 0u);
  EXPECT_EQ(env.rec.blocks, kBaseBlocks + 1);
  EXPECT_EQ(env.source.allocs, 1u);
  EXPECT_FALSE(InInline(env.rec, "big"));
  ASSERT_OK(env.Set("user.s", "x"));  // 8 bytes: still fits inline (248)
  EXPECT_TRUE(InInline(env.rec, "s"));
  ASSERT_OK(env.Set("user.t", "xxxxxxxxx"));  // 16 bytes: does not (264) → block
  EXPECT_FALSE(InInline(env.rec, "t"));
  EXPECT_EQ(BlockEntries(env).size(), 2u);
  EXPECT_EQ(env.source.allocs, 1u);  // the same block
  EXPECT_EQ(env.Get("user.big"), Bytes(100, 'B'));
  EXPECT_EQ(env.Get("user.t"), "xxxxxxxxx");
  EXPECT_EQ(env.Get("user.i3"), Bytes(34, 'd'));
  EXPECT_EQ(env.List(),
            (std::vector<std::string>{"user.big", "user.i0", "user.i1", "user.i2", "user.i3",
                                      "user.i4", "user.i5", "user.s", "user.t"}));
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));

  // An inline entry that grows past the inline area moves to the block.
  ASSERT_OK(env.Set("user.i2", Bytes(60, 'G')));
  EXPECT_FALSE(InInline(env.rec, "i2"));
  EXPECT_EQ(env.Get("user.i2"), Bytes(60, 'G'));
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

TEST(XattrStoreTest, BlockIsFreedWhenItEmpties) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  ASSERT_OK(env.Set("user.big2", Bytes(200, 'C')));
  const uint64_t block = env.rec.xattr_block;
  ASSERT_NE(block, 0u);
  ASSERT_OK(env.Remove("user.big"));
  EXPECT_EQ(env.rec.xattr_block, block);
  ASSERT_OK(env.Remove("user.big2"));
  EXPECT_EQ(env.rec.xattr_block, 0u);
  EXPECT_EQ(env.rec.blocks, kBaseBlocks);
  EXPECT_EQ(env.source.frees, 1u);
  EXPECT_TRUE(env.source.live.empty());
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
  EXPECT_EQ(env.List().size(), 6u);

  // Allocated again on the next need; the blocks count follows.
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  EXPECT_NE(env.rec.xattr_block, 0u);
  EXPECT_EQ(env.rec.blocks, kBaseBlocks + 1);
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

TEST(XattrStoreTest, ShrunkBlockEntryMovesInlineAndFreesTheBlock) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  ASSERT_NE(env.rec.xattr_block, 0u);
  ASSERT_OK(env.Set("user.big", "b"));  // 8 bytes: fits inline (248)
  EXPECT_TRUE(InInline(env.rec, "big"));
  EXPECT_EQ(env.rec.xattr_block, 0u);
  EXPECT_EQ(env.rec.blocks, kBaseBlocks);
  EXPECT_EQ(env.Get("user.big"), "b");
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

TEST(XattrStoreTest, FlagsSemantics) {
  Env env;
  EXPECT_EQ(env.Set("user.a", "v", kXattrReplace).err(), ENODATA);
  EXPECT_EQ(env.store->Get(env.rec, "user.a").err(), ENODATA);
  ASSERT_OK(env.Set("user.a", "v1", kXattrCreate));
  EXPECT_EQ(env.Set("user.a", "v2", kXattrCreate).err(), EEXIST);
  EXPECT_EQ(env.Get("user.a"), "v1");
  ASSERT_OK(env.Set("user.a", "v3", kXattrReplace));
  EXPECT_EQ(env.Get("user.a"), "v3");
  ASSERT_OK(env.Set("user.a", "v4", 0));
  EXPECT_EQ(env.Get("user.a"), "v4");
  ASSERT_OK(env.Set("user.b", "w", 0));
  EXPECT_EQ(env.Get("user.b"), "w");
  // Both flags: always fails, as on Linux.
  EXPECT_EQ(env.Set("user.a", "x", kXattrCreate | kXattrReplace).err(), EEXIST);
  EXPECT_EQ(env.Set("user.c", "x", kXattrCreate | kXattrReplace).err(), ENODATA);
  EXPECT_EQ(env.Set("user.a", "x", 4).err(), EINVAL);
  EXPECT_EQ(env.Get("user.a"), "v4");
  // The flags see entries in the block too.
  ASSERT_OK(env.Remove("user.a"));
  ASSERT_OK(env.Remove("user.b"));
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(300, 'B'), kXattrCreate));
  ASSERT_NE(env.rec.xattr_block, 0u);
  EXPECT_EQ(env.Set("user.big", "x", kXattrCreate).err(), EEXIST);
  ASSERT_OK(env.Set("user.big", Bytes(301, 'b'), kXattrReplace));
  EXPECT_EQ(env.Get("user.big"), Bytes(301, 'b'));
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

TEST(XattrStoreTest, ErrorCodes) {
  Env env;
  ASSERT_OK(env.Set("user.a", "v"));
  const format::Inode before = env.rec;
  EXPECT_EQ(env.Set("system.posix_acl_access", "v").err(), EOPNOTSUPP);
  EXPECT_EQ(env.Set("bogus.a", "v").err(), EOPNOTSUPP);
  EXPECT_EQ(env.Set("user.", "v").err(), EINVAL);
  EXPECT_EQ(env.Set("user." + Bytes(256, 'n'), "v").err(), ERANGE);
  EXPECT_EQ(env.Set("user.a", Bytes(kXattrMaxValue + 1, 'v')).err(), E2BIG);
  EXPECT_EQ(env.Set("user.a", Bytes(kXattrMaxValue, 'v')).err(), ENOSPC);  // > any 4K block
  EXPECT_EQ(env.store->Get(env.rec, "user.zz").err(), ENODATA);
  EXPECT_EQ(env.store->Get(env.rec, "system.x").err(), EOPNOTSUPP);
  EXPECT_EQ(env.store->Get(env.rec, "user." + Bytes(256, 'n')).err(), ERANGE);
  EXPECT_EQ(env.store->Get(env.rec, "user.").err(), EINVAL);
  EXPECT_EQ(env.Remove("user.zz").err(), ENODATA);
  EXPECT_EQ(env.Remove("system.x").err(), EOPNOTSUPP);
  EXPECT_EQ(env.Remove("user." + Bytes(300, 'n')).err(), ERANGE);
  EXPECT_EQ(std::memcmp(&before.xattr_inline, &env.rec.xattr_inline, 256), 0);
  EXPECT_EQ(env.rec.xattr_inline_bytes, before.xattr_inline_bytes);
  EXPECT_EQ(env.Get("user.a"), "v");
  EXPECT_EQ(env.source.allocs, 0u);
}

TEST(XattrStoreTest, BinaryNamesAndValues) {
  Env env;
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string nuls("a\0b\0\0c", 6);
  const std::string high_name = "user.\xff\x80\x01";
  ASSERT_OK(env.Set("user.nul", nuls));
  ASSERT_OK(env.Set("user.all", all));    // 264 bytes: goes to the block
  ASSERT_OK(env.Set(high_name, "high"));  // sorts after ASCII names (unsigned bytes)
  ASSERT_OK(env.Set("user.empty", ""));
  ASSERT_OK(env.Set(std::string("user.z\0z", 8), std::string(1, '\0')));
  EXPECT_EQ(env.Get("user.nul"), nuls);
  EXPECT_EQ(env.Get("user.all"), all);
  EXPECT_EQ(env.Get(high_name), "high");
  EXPECT_EQ(env.Get("user.empty"), "");
  EXPECT_EQ(env.Get(std::string("user.z\0z", 8)), std::string(1, '\0'));
  EXPECT_EQ(env.List(), (std::vector<std::string>{"user.all", "user.empty", "user.nul",
                                                  std::string("user.z\0z", 8), high_name}));
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
  env.Reopen();
  EXPECT_EQ(env.Get("user.all"), all);
  EXPECT_EQ(env.Get("user.nul"), nuls);
}

// The largest value for a name, inline and in the block, at 4 KiB and 1 KiB.
void LimitsAt(uint32_t bs) {
  Env env(bs, 64, 16);
  const std::string name255 = "user." + Bytes(255, 'N');
  // Inline: 4 + 1 + 251 = 256 exactly.
  ASSERT_OK(env.Set("user.a", Bytes(251, 'v')));
  EXPECT_EQ(env.rec.xattr_inline_bytes, 256u);
  EXPECT_EQ(env.rec.xattr_block, 0u);
  ASSERT_OK(env.Remove("user.a"));
  ASSERT_OK(env.Set("user.a", Bytes(252, 'v')));
  EXPECT_NE(env.rec.xattr_block, 0u);
  ASSERT_OK(env.Remove("user.a"));
  ASSERT_EQ(env.rec.xattr_block, 0u);
  // Block: a 255-byte name never fits inline; its largest value fills the block.
  const size_t largest = bs - format::kDirNodeHeaderEnd - 4 - 255;
  ASSERT_OK(env.Set(name255, Bytes(largest, 'L')));
  EXPECT_EQ(env.Get(name255), Bytes(largest, 'L'));
  EXPECT_EQ(Used(BlockEntries(env)), bs - format::kDirNodeHeaderEnd);
  ASSERT_OK(env.Remove(name255));
  EXPECT_EQ(env.Set(name255, Bytes(largest + 1, 'L')).err(), ENOSPC);
  EXPECT_EQ(env.rec.xattr_block, 0u);
  EXPECT_TRUE(env.source.live.empty());
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
  env.Reopen();
  EXPECT_TRUE(env.List().empty());
}

TEST(XattrStoreTest, MaxNameAndLargestValue4K) { LimitsAt(4096); }
TEST(XattrStoreTest, MaxNameAndLargestValue1K) { LimitsAt(1024); }

TEST(XattrStoreTest, LargestValueAt64KIsBoundedByTheBlock) {
  Env env(65536, 64, 4);
  const size_t largest = 65536 - format::kDirNodeHeaderEnd - 4 - 1;  // 65483 < 65535
  ASSERT_OK(env.Set("user.v", Bytes(largest, 'x')));
  EXPECT_EQ(env.Get("user.v").size(), largest);
  EXPECT_EQ(env.Set("user.v", Bytes(largest + 1, 'x')).err(), ENOSPC);
  EXPECT_EQ(env.Get("user.v").size(), largest);
  EXPECT_EQ(env.Set("user.v", Bytes(65536, 'x')).err(), E2BIG);
}

TEST(XattrStoreTest, SetCreditsIsTheWorstCase) {
  Env env;
  EXPECT_EQ(env.store->SetCredits(), 1 + 2 + 3);
}

// ---- Failure atomicity ----------------------------------------------------------

struct Snapshot {
  format::Inode rec;
  std::vector<uint8_t> block;
};
Snapshot Take(Env& env) {
  Snapshot s{env.rec, {}};
  if (env.rec.xattr_block) s.block = env.CachedBlock(env.rec.xattr_block);
  return s;
}
void ExpectUnchanged(Env& env, const Snapshot& s) {
  std::array<uint8_t, 512> a{}, b{};
  s.rec.Encode(kSeed, a.data());
  env.rec.Encode(kSeed, b.data());
  EXPECT_EQ(a, b) << "inode record changed";
  if (env.rec.xattr_block) {
    EXPECT_EQ(env.CachedBlock(env.rec.xattr_block), s.block);
  }
}

TEST(XattrStoreTest, EnospcLeavesStateUnchanged) {
  Env env(1024, 64, 16);
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  // Fill the block: 976 bytes of entries.
  ASSERT_OK(env.Set("user.b1", Bytes(480, 'x')));  // 488
  ASSERT_OK(env.Set("user.b2", Bytes(476, 'y')));  // 484 → 972
  const Snapshot s = Take(env);
  const uint64_t allocs = env.source.allocs;
  EXPECT_EQ(env.Set("user.new", "1234567890").err(), ENOSPC);  // 20 > 16 inline, 4 block
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, s));
  // Growing an existing block entry past the space: unchanged, old value kept.
  EXPECT_EQ(env.Set("user.b1", Bytes(490, 'z')).err(), ENOSPC);
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, s));
  EXPECT_EQ(env.Get("user.b1"), Bytes(480, 'x'));
  // Growing an inline entry that fits nowhere: stays inline, unchanged.
  EXPECT_EQ(env.Set("user.i1", Bytes(300, 'z')).err(), ENOSPC);
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, s));
  EXPECT_EQ(env.Get("user.i1"), Bytes(34, 'b'));
  EXPECT_EQ(env.source.allocs, allocs);
  // A fitting entry still works afterwards (4 bytes left in the block).
  ASSERT_OK(env.Set("user.c", ""));  // 8 bytes: inline has 16 left
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

TEST(XattrStoreTest, AllocatorFailureLeavesStateUnchanged) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  const Snapshot s = Take(env);
  env.source.fail_alloc = true;
  EXPECT_EQ(env.Set("user.big", Bytes(100, 'B')).err(), ENOSPC);
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, s));
  EXPECT_TRUE(env.source.live.empty());
  EXPECT_EQ(env.store->Get(env.rec, "user.big").err(), ENODATA);
  env.source.fail_alloc = false;
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

TEST(XattrStoreTest, CreditExhaustionLeavesStateUnchanged) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  Snapshot s = Take(env);
  // Too few credits for the allocation itself.
  EXPECT_EQ(env.Set("user.big", Bytes(100, 'B'), 0, 1).err(), ENOSPC);
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, s));
  EXPECT_TRUE(env.source.live.empty());
  // Enough to allocate, not to write the block: the block cannot even be
  // returned (no credits left), so it leaks — rec never points at it.
  EXPECT_EQ(env.Set("user.big", Bytes(100, 'B'), 0, 2).err(), ENOSPC);
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, s));
  EXPECT_EQ(env.rec.xattr_block, 0u);
  env.source.live.clear();  // forget the leaked block
  // Rewriting an existing block with no credits: unchanged. (Commit first:
  // write access to a buffer already in the running transaction is free.)
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  ASSERT_OK(env.journal->ForceCommit(env.journal->current_tid()));
  s = Take(env);
  EXPECT_EQ(env.Set("user.big", Bytes(120, 'C'), 0, 0).err(), ENOSPC);
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, s));
  EXPECT_EQ(env.Get("user.big"), Bytes(100, 'B'));
  // Freeing it with too few credits: unchanged, still readable.
  EXPECT_EQ(env.Set("user.big", "b", 0, 2).err(), ENOSPC);
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, s));
  EXPECT_EQ(env.Get("user.big"), Bytes(100, 'B'));
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

// ---- FreeAll ----------------------------------------------------------------------

TEST(XattrStoreTest, FreeAllReleasesTheBlockAndClearsInline) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  const uint64_t block = env.rec.xattr_block;
  ASSERT_OK(env.FreeAll());
  EXPECT_EQ(env.rec.xattr_block, 0u);
  EXPECT_EQ(env.rec.blocks, kBaseBlocks);
  EXPECT_EQ(env.rec.xattr_inline_bytes, 0u);
  EXPECT_TRUE(env.source.live.empty());
  EXPECT_EQ(env.source.frees, 1u);
  EXPECT_TRUE(env.List().empty());
  (void)block;
  ASSERT_OK(env.FreeAll());  // nothing left: a no-op
  EXPECT_EQ(env.source.frees, 1u);
}

TEST(XattrStoreTest, FreeAllIgnoresADamagedInlineArea) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  env.rec.xattr_inline[0] = 0xEE;  // the inode is being deleted anyway
  ASSERT_OK(env.FreeAll());
  EXPECT_EQ(env.rec.xattr_block, 0u);
  EXPECT_EQ(env.rec.xattr_inline_bytes, 0u);
  EXPECT_TRUE(env.source.live.empty());
}

// ---- Corruption -------------------------------------------------------------------

// Sets up an inode with a block, checkpoints, and reopens after `damage`
// pokes the device, so the next read decodes the damaged bytes.
void WithDamagedBlock(Env& env, const std::function<void(uint64_t block)>& damage) {
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  const uint64_t block = env.rec.xattr_block;
  env.store.reset();
  ASSERT_OK(env.journal->Checkpoint());
  ASSERT_OK(env.journal->Close());
  env.journal.reset();
  damage(block);
  env.Open();
}

void ExpectCorrupt(const Status& s, uint64_t block) {
  EXPECT_EQ(s.err(), EUCLEAN) << s.ToString();
  EXPECT_NE(s.message().find("inode 77"), std::string::npos) << s.message();
  if (block) {
    EXPECT_NE(s.message().find("block " + std::to_string(block)), std::string::npos) << s.message();
  }
}

TEST(XattrStoreTest, DamagedBlockIsEuclean) {
  Env env;
  uint64_t block = 0;
  ASSERT_NO_FATAL_FAILURE(WithDamagedBlock(env, [&](uint64_t b) {
    block = b;
    const uint8_t junk = 0x5A;
    env.dev->Poke(b * env.block_size + 100, &junk, 1);  // inside the entries: bad checksum
  }));
  const Snapshot s = Take(env);
  ExpectCorrupt(env.store->Get(env.rec, "user.big").status(), block);
  EXPECT_EQ(env.Get("user.i0"), Bytes(34, 'a'));  // found inline: the block is not read
  ExpectCorrupt(env.store->Get(env.rec, "user.nope").status(), block);
  ExpectCorrupt(env.store->List(env.rec).status(), block);
  ExpectCorrupt(env.Set("user.new", "v"), block);
  ExpectCorrupt(env.Remove("user.i0"), block);
  ExpectCorrupt(env.FreeAll(), block);
  ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, s));
  EXPECT_EQ(env.source.frees, 0u);
}

TEST(XattrStoreTest, BlockOfAnotherOwnerIsEuclean) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  env.rec.ino = kIno + 1;  // the block says owner 77
  {
    const Status s = env.store->Get(env.rec, "user.big").status();
    EXPECT_EQ(s.err(), EUCLEAN);
    EXPECT_NE(s.message().find("inode 78"), std::string::npos) << s.message();
  }
  env.rec.ino = kIno;
  env.rec.xattr_block = 1ULL << 40;  // beyond the device
  ExpectCorrupt(env.store->Get(env.rec, "user.big").status(), 1ULL << 40);
}

TEST(XattrStoreTest, DamagedInlineAreaIsEuclean) {
  Env env;
  ASSERT_OK(env.Set("user.a", "v"));
  format::Inode good = env.rec;
  env.rec.xattr_inline_bytes = 300;
  ExpectCorrupt(env.store->Get(env.rec, "user.a").status(), 0);
  env.rec = good;
  env.rec.xattr_inline[0] = 9;  // namespace index 9
  ExpectCorrupt(env.store->List(env.rec).status(), 0);
  ExpectCorrupt(env.Set("user.b", "v"), 0);
  env.rec = good;
  env.rec.xattr_inline_bytes = 4;  // truncated entry
  ExpectCorrupt(env.Remove("user.a"), 0);
}

TEST(XattrStoreTest, NameInBothAreasIsEuclean) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  // Rewrite the block so that it also holds user.i0.
  auto h = env.journal->Start(2);
  ASSERT_TRUE(h.ok());
  auto b = env.journal->buffers().Read(env.rec.xattr_block);
  ASSERT_TRUE(b.ok());
  ASSERT_OK((*h)->GetWriteAccess(**b));
  Entries both = {Xattr{XattrIndex::kUser, "big", Bytes(100, 'B')},
                  Xattr{XattrIndex::kUser, "i0", "dup"}};
  ASSERT_OK(format::EncodeXattrBlock(both, env.rec.xattr_block, kIno, kSeed, (*b)->bytes()));
  ASSERT_OK((*h)->DirtyMetadata(**b));
  ASSERT_OK((*h)->Stop());
  ExpectCorrupt(env.store->List(env.rec).status(), env.rec.xattr_block);
  ExpectCorrupt(env.Set("user.i0", "x"), env.rec.xattr_block);
  ExpectCorrupt(env.Remove("user.big"), env.rec.xattr_block);
}

// ---- Persistence ------------------------------------------------------------------

TEST(XattrStoreTest, SurvivesCheckpointCloseAndReopen) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  ASSERT_OK(env.Set("security.sel", "selinux_label"));  // 20 bytes: block (inline has 16)
  ASSERT_OK(env.Set("trusted.t", ""));                  // 12 bytes: inline
  const std::vector<std::string> names = env.List();
  std::array<uint8_t, 512> raw{};
  env.rec.Encode(kSeed, raw.data());
  const uint64_t block = env.rec.xattr_block;
  env.Reopen();

  // The block on the device decodes to the block entries.
  auto on_disk = format::DecodeXattrBlock(env.DiskBlock(block), block, kIno, kSeed);
  ASSERT_TRUE(on_disk.ok()) << on_disk.status().ToString();
  ASSERT_EQ(on_disk->size(), 2u);
  EXPECT_EQ((*on_disk)[0].name, "big");
  EXPECT_EQ((*on_disk)[1].index, XattrIndex::kSecurity);
  auto rec = format::Inode::Decode(raw.data(), kSeed, kIno);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  env.rec = *rec;
  EXPECT_EQ(env.List(), names);
  EXPECT_EQ(env.Get("user.big"), Bytes(100, 'B'));
  EXPECT_EQ(env.Get("security.sel"), "selinux_label");
  EXPECT_EQ(env.Get("trusted.t"), "");
  EXPECT_EQ(env.Get("user.i5"), Bytes(34, 'f'));
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

TEST(XattrStoreTest, RecoveryShowsTheCommittedAttributes) {
  Env env;
  ASSERT_NO_FATAL_FAILURE(FillInline(env));
  ASSERT_OK(env.Set("user.big", Bytes(100, 'B')));
  ASSERT_OK(env.Set("user.big2", Bytes(50, 'C')));
  std::array<uint8_t, 512> raw{};
  env.rec.Encode(kSeed, raw.data());
  const auto names = env.List();
  ASSERT_OK(env.journal->ForceCommit(env.journal->current_tid()));
  // Uncommitted changes, lost by the crash.
  ASSERT_OK(env.Set("user.big", Bytes(10, 'Z')));
  ASSERT_OK(env.Remove("user.big2"));

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
  TestBlockSource source(0, 0);
  XattrStore store(**j, source, kSeed, env.block_size);
  auto rec = format::Inode::Decode(raw.data(), kSeed, kIno);
  ASSERT_TRUE(rec.ok());
  auto listed = store.List(*rec);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, names);
  auto big = store.Get(*rec, "user.big");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*big, Bytes(100, 'B'));
  auto big2 = store.Get(*rec, "user.big2");
  ASSERT_TRUE(big2.ok());
  EXPECT_EQ(*big2, Bytes(50, 'C'));
  ASSERT_OK((*j)->Close());
}

// ---- Randomized model test --------------------------------------------------------

using Model = std::map<std::string, std::string>;

std::vector<std::string> Pool() {
  std::vector<std::string> pool;
  const char* prefixes[] = {"user.", "trusted.", "security."};
  for (int i = 0; i < 30; ++i) {
    std::string name = std::string(prefixes[i % 3]) + "n" + std::to_string(i);
    if (i % 7 == 0) name += Bytes(40 + i, 'q');  // some long names
    pool.push_back(name);
  }
  pool.push_back("user." + Bytes(255, 'M'));
  return pool;
}

size_t RandomValueSize(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      return rng() % 8;
    case 1:
      return rng() % 40;
    case 2:
      return rng() % 200;
    default:
      return rng() % 1200;
  }
}

// ENOSPC is right only when the entry fits neither area once its old copy is gone.
void ExpectGenuineEnospc(Env& env, const std::string& name, size_t value_size) {
  auto parsed = ParseXattrName(name);
  ASSERT_TRUE(parsed.ok());
  const Xattr key{parsed->first, parsed->second, {}};
  size_t inline_used = 0, block_used = 0;
  for (const Xattr& x : Inline(env.rec)) {
    if (Less(x, key) || Less(key, x)) inline_used += EntrySize(x.name.size(), x.value.size());
  }
  for (const Xattr& x : BlockEntries(env)) {
    if (Less(x, key) || Less(key, x)) block_used += EntrySize(x.name.size(), x.value.size());
  }
  const size_t need = EntrySize(parsed->second.size(), value_size);
  EXPECT_GT(inline_used + need, kXattrInlineSize) << name;
  EXPECT_GT(block_used + need, env.block_size - format::kDirNodeHeaderEnd) << name;
}

void ExpectModel(Env& env, const Model& model, const std::vector<std::string>& pool) {
  for (const std::string& name : pool) {
    auto r = env.store->Get(env.rec, name);
    auto it = model.find(name);
    if (it == model.end()) {
      ASSERT_EQ(r.err(), ENODATA) << name;
    } else {
      ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
      ASSERT_EQ(*r, it->second) << name;
    }
  }
  std::vector<std::string> listed = env.List();
  // List is ordered by (index, name).
  for (size_t i = 1; i < listed.size(); ++i) {
    auto a = ParseXattrName(listed[i - 1]);
    auto b = ParseXattrName(listed[i]);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(Less(Xattr{a->first, a->second, {}}, Xattr{b->first, b->second, {}}));
  }
  std::sort(listed.begin(), listed.end());
  std::vector<std::string> expected;
  for (const auto& [name, value] : model) expected.push_back(name);
  ASSERT_EQ(listed, expected);
  ASSERT_NO_FATAL_FAILURE(ExpectLayout(env));
}

void RandomOps(uint32_t bs, uint64_t seed, int ops) {
  Env env(bs, 512, 64);
  const std::vector<std::string> pool = Pool();
  Model model;
  std::mt19937_64 rng(seed);
  int enospc = 0, spills = 0;
  for (int op = 0; op < ops; ++op) {
    const std::string& name = pool[rng() % pool.size()];
    const bool present = model.count(name) != 0;
    if (rng() % 3 == 0) {
      const Status s = env.Remove(name);
      if (present) {
        ASSERT_TRUE(s.ok()) << op << " remove " << name << ": " << s.ToString();
        model.erase(name);
      } else {
        ASSERT_EQ(s.err(), ENODATA) << op;
      }
    } else {
      const int flags = rng() % 4 == 0 ? static_cast<int>(rng() % 3) : 0;
      const size_t size = RandomValueSize(rng);
      std::string value(size, '\0');
      for (char& c : value) c = static_cast<char>(rng());
      const Snapshot before = Take(env);
      const Status s = env.Set(name, value, flags);
      if (flags == kXattrCreate && present) {
        ASSERT_EQ(s.err(), EEXIST) << op;
      } else if (flags == kXattrReplace && !present) {
        ASSERT_EQ(s.err(), ENODATA) << op;
      } else if (s.err() == ENOSPC) {
        ++enospc;
        ASSERT_NO_FATAL_FAILURE(ExpectGenuineEnospc(env, name, size));
        ASSERT_NO_FATAL_FAILURE(ExpectUnchanged(env, before));
      } else {
        ASSERT_TRUE(s.ok()) << op << " set " << name << ": " << s.ToString();
        model[name] = value;
        if (env.rec.xattr_block && !before.rec.xattr_block) ++spills;
      }
    }
    ASSERT_NO_FATAL_FAILURE(ExpectModel(env, model, pool)) << "after op " << op;
    if (op % 300 == 299) {  // drain everything, in random order: the block must go
      std::vector<std::string> names;
      for (const auto& [n, v] : model) names.push_back(n);
      std::shuffle(names.begin(), names.end(), rng);
      for (const std::string& n : names) {
        ASSERT_OK(env.Remove(n));
        model.erase(n);
        ASSERT_NO_FATAL_FAILURE(ExpectModel(env, model, pool)) << "draining at " << op;
      }
      ASSERT_EQ(env.rec.xattr_block, 0u);
      ASSERT_EQ(env.rec.xattr_inline_bytes, 0u);
    }
    if (op % 500 == 499) {
      std::array<uint8_t, 512> raw{};
      env.rec.Encode(kSeed, raw.data());
      env.Reopen();
      auto rec = format::Inode::Decode(raw.data(), kSeed, kIno);
      ASSERT_TRUE(rec.ok());
      env.rec = *rec;
      ASSERT_NO_FATAL_FAILURE(ExpectModel(env, model, pool)) << "after reopen at " << op;
    }
  }
  // The run exercised every path.
  EXPECT_GT(enospc, 0);
  EXPECT_GT(spills, 0);
  EXPECT_GT(env.source.frees, 0u);
}

TEST(XattrStoreTest, RandomOpsMatchModel4K) { RandomOps(4096, 1, 4000 / kScaleDown); }
TEST(XattrStoreTest, RandomOpsMatchModel1K) { RandomOps(1024, 2, 4000 / kScaleDown); }

}  // namespace
}  // namespace foliofs::fs
