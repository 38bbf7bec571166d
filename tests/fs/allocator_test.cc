// Allocator tests over a real filesystem: mkfs (format::MakeFilesystem) on a
// MemoryDevice, the journal opened at the layout's journal region, the
// allocator loaded from it. Geometry (1 KiB blocks, 32 MiB, 1024-block
// journal): 5 groups of 7936 blocks (the last 1024), backups in groups 1
// and 3 and at the tail, so runs meet group ends and backup copies.
#include "fs/allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"

namespace foliofs::fs {
namespace {

using format::Layout;
using format::Superblock;
using journal::Handle;
using journal::Journal;

constexpr uint32_t kBs = 1024;
constexpr uint64_t kDevBytes = 32ULL << 20;

struct TestFs {
  std::shared_ptr<MemoryDevice> dev;
  Layout layout;
  Superblock sb;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<Allocator> alloc;
};

journal::JournalOptions JournalOptionsFor(const Superblock& sb) {
  journal::JournalOptions o;
  o.first_block = sb.journal_first_block;
  o.num_blocks = sb.journal_blocks;
  o.block_size = sb.block_size();
  o.uuid = sb.uuid;
  o.commit_interval = std::chrono::milliseconds(60000);  // commits only when asked
  return o;
}

// Opens the journal and loads the allocator on fs.dev (fs.sb, fs.layout set).
void OpenFs(TestFs& fs, uint64_t reserve = 0) {
  auto j = Journal::Open(*fs.dev, JournalOptionsFor(fs.sb));
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  fs.journal = std::move(*j);
  auto a = Allocator::Load(*fs.journal, fs.sb, fs.layout, reserve);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  fs.alloc = std::move(*a);
}

TestFs MakeFs(uint64_t bytes = kDevBytes, uint64_t reserve = 0, bool open = true) {
  TestFs fs;
  auto dev = MemoryDevice::Create(bytes);
  EXPECT_TRUE(dev.ok());
  fs.dev = std::shared_ptr<MemoryDevice>(std::move(*dev));
  auto layout = format::ComputeLayout(bytes, kBs, 0, 1024);
  EXPECT_TRUE(layout.ok()) << layout.status().ToString();
  fs.layout = *layout;
  format::MakeOptions o;
  for (int i = 0; i < 16; ++i) {
    o.uuid[i] = static_cast<uint8_t>(0x30 + i);
    o.hash_seed[i] = static_cast<uint8_t>(0x90 + i);
  }
  o.now = 1700000000;
  o.format_journal = journal::FormatJournal;
  auto sb = format::MakeFilesystem(*fs.dev, fs.layout, o);
  EXPECT_TRUE(sb.ok()) << sb.status().ToString();
  fs.sb = *sb;
  if (open) OpenFs(fs, reserve);
  return fs;
}

bool IsMetadata(const Layout& l, uint64_t b) {
  if (b < l.front_end) return true;
  for (uint64_t c : l.backup_blocks) {
    if (b >= c && b < c + 1 + l.gdt_blocks) return true;
  }
  return false;
}

// One allocation in its own handle.
Result<BlockRun> Alloc(TestFs& fs, uint64_t goal, uint64_t min_len, uint64_t max_len,
                       AllocKind kind = AllocKind::kData, uint64_t* tid = nullptr) {
  auto h = fs.journal->Start(Allocator::kCreditsPerGroup, "alloc");
  if (!h.ok()) return h.status();
  if (tid) *tid = (*h)->tid();
  auto r = fs.alloc->AllocBlocks(**h, goal, min_len, max_len, kind);
  Status st = (*h)->Stop();
  if (!st.ok()) return st;
  return r;
}

// One free in its own handle; returns the handle's tid.
Result<uint64_t> Free(TestFs& fs, uint64_t start, uint64_t len, AllocKind kind = AllocKind::kData) {
  auto h = fs.journal->Start(fs.alloc->FreeCredits(start, len, kind), "free");
  if (!h.ok()) return h.status();
  const uint64_t tid = (*h)->tid();
  Status st = fs.alloc->FreeBlocks(**h, start, len, kind);
  Status st2 = (*h)->Stop();
  if (!st.ok()) return st;
  if (!st2.ok()) return st2;
  return tid;
}

// Every bitmap and GDT buffer's bytes, as the allocator sees them.
std::vector<std::vector<uint8_t>> MetadataBytes(TestFs& fs) {
  std::vector<std::vector<uint8_t>> out;
  auto add = [&](uint64_t nr) {
    auto b = fs.journal->buffers().Read(nr);
    EXPECT_TRUE(b.ok());
    out.emplace_back((*b)->data(), (*b)->data() + kBs);
  };
  for (uint32_t i = 0; i < fs.layout.gdt_blocks; ++i) add(1 + i);
  for (uint32_t g = 0; g < fs.layout.group_count; ++g) {
    add(fs.layout.block_bitmap_start + g);
    add(fs.layout.inode_bitmap_start + g);
  }
  return out;
}

struct Counters {
  uint64_t free_blocks, free_inodes, pending;
  bool operator==(const Counters&) const = default;
};
Counters CountersOf(const Allocator& a) {
  return {a.free_blocks(), a.free_inodes(), a.pending_free_blocks()};
}

// Allocates every block left (kMetadata, so the reserve too). Returns the runs.
std::vector<BlockRun> FillAll(TestFs& fs) {
  std::vector<BlockRun> runs;
  for (;;) {
    auto r = Alloc(fs, 0, 1, 4096, AllocKind::kMetadata);
    if (!r.ok()) {
      EXPECT_EQ(r.err(), ENOSPC) << r.status().ToString();
      break;
    }
    runs.push_back(*r);
  }
  return runs;
}

TEST(AllocatorTest, LoadCountsMatchSuperblockAndVerifier) {
  TestFs fs = MakeFs();
  EXPECT_EQ(fs.layout.group_count, 5u);
  EXPECT_EQ(fs.alloc->free_blocks(), fs.sb.free_blocks_count);
  EXPECT_EQ(fs.alloc->free_inodes(), fs.sb.free_inodes_count);
  EXPECT_EQ(fs.alloc->pending_free_blocks(), 0u);
  auto report = format::VerifyFilesystem(*fs.dev);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean());
  EXPECT_EQ(fs.alloc->free_blocks(), fs.layout.blocks_count - report->blocks_in_use);
  EXPECT_EQ(fs.alloc->free_inodes(), fs.layout.inodes_count - report->inodes_in_use - 9)
      << "reserved inodes 1 and 3..10 are marked but hold no record";
  // min(5%, 64 MiB), at least 64 blocks.
  EXPECT_EQ(fs.alloc->reserved_blocks(), fs.layout.blocks_count / 20);
  EXPECT_TRUE(fs.alloc->Check().ok());
  auto custom = Allocator::Load(*fs.journal, fs.sb, fs.layout, 100);
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ((*custom)->reserved_blocks(), 100u);
}

TEST(AllocatorTest, SmallFilesystemReservesAtLeast64Blocks) {
  TestFs fs = MakeFs(4ULL << 20);  // 4096 blocks: 5% would be 204
  EXPECT_EQ(fs.alloc->reserved_blocks(), 204u);
  TestFs tiny = MakeFs(1152ULL << 10);  // 1152 blocks: 5% = 57
  EXPECT_EQ(tiny.alloc->reserved_blocks(), 64u);
}

TEST(AllocatorTest, GroupAndGoalHelpers) {
  TestFs fs = MakeFs();
  const Layout& l = fs.layout;
  EXPECT_EQ(fs.alloc->GroupOfBlock(0), 0u);
  EXPECT_EQ(fs.alloc->GroupOfBlock(l.blocks_per_group), 1u);
  EXPECT_EQ(fs.alloc->GroupOfBlock(l.blocks_count - 1), l.group_count - 1);
  EXPECT_EQ(fs.alloc->GroupOfInode(1), 0u);
  EXPECT_EQ(fs.alloc->GroupOfInode(l.inodes_per_group), 0u);
  EXPECT_EQ(fs.alloc->GroupOfInode(l.inodes_per_group + 1), 1u);
  EXPECT_EQ(fs.alloc->GoalForInode(12), l.front_end);
  // Group 1 starts with a backup copy: the goal is right after it.
  EXPECT_EQ(fs.alloc->GoalForInode(l.inodes_per_group + 1),
            l.group_first_block(1) + 1 + l.gdt_blocks);
  EXPECT_EQ(fs.alloc->GoalForInode(2 * l.inodes_per_group + 1), l.group_first_block(2));
  const uint64_t ipg = l.inodes_per_group;
  for (uint64_t ino : {uint64_t{12}, ipg + 1, 3 * ipg + 7}) {
    EXPECT_FALSE(IsMetadata(l, fs.alloc->GoalForInode(ino))) << ino;
  }
}

// Two files growing 1..16 blocks at a time, interleaved, each with the end of
// its last run as goal: each stays one contiguous run.
TEST(AllocatorTest, SequentialGrowthStaysContiguous) {
  TestFs fs = MakeFs();
  std::mt19937 rng(42);
  const uint64_t inos[2] = {12, 2 * fs.layout.inodes_per_group + 1};
  uint64_t first[2], next[2], total[2] = {0, 0};
  uint64_t goal0[2];
  for (int f = 0; f < 2; ++f) first[f] = next[f] = goal0[f] = fs.alloc->GoalForInode(inos[f]);
  for (int step = 0; step < 400; ++step) {
    const int f = step % 2;
    const uint64_t want = 1 + rng() % 16;
    auto r = Alloc(fs, next[f], 1, want);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    if (step < 2) {
      first[f] = next[f] = r->start;  // the goal itself may be taken (mkfs's directory blocks)
      EXPECT_EQ(fs.alloc->GroupOfBlock(r->start), fs.alloc->GroupOfBlock(goal0[f]));
    }
    ASSERT_EQ(r->start, next[f]) << "file " << f << " step " << step;
    ASSERT_EQ(r->length, want);
    next[f] += r->length;
    total[f] += r->length;
  }
  for (int f = 0; f < 2; ++f) {
    EXPECT_EQ(next[f] - first[f], total[f]);
    EXPECT_EQ(fs.alloc->GroupOfBlock(first[f]), fs.alloc->GroupOfBlock(next[f] - 1));
  }
  EXPECT_EQ(fs.alloc->free_blocks(), fs.sb.free_blocks_count - total[0] - total[1]);
  EXPECT_TRUE(fs.alloc->Check().ok());
}

TEST(AllocatorTest, GoalTakenFallsBackToNearestFullRunThenOtherGroups) {
  TestFs fs = MakeFs();
  const Layout& l = fs.layout;
  const uint64_t g2 = l.group_first_block(2);
  auto a = Alloc(fs, g2 + 100, 10, 10);  // occupies [g2+100, g2+110)
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->start, g2 + 100);
  auto b = Alloc(fs, g2 + 105, 8, 8);  // goal busy: the next run at/after it
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->start, g2 + 110);
  // A goal in the last short group, asking for more than that group has
  // left in one run, wraps to group 0 (the first group after it).
  const uint32_t last = l.group_count - 1;
  auto c = Alloc(fs, l.group_first_block(last), 2000, 2000);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(fs.alloc->GroupOfBlock(c->start), 0u);
  EXPECT_EQ(c->start, l.front_end + 2) << "first fit in group 0 after mkfs's two directory blocks";
  // A free goal wins even when its run is shorter than max_len (≥ min_len).
  auto d = Alloc(fs, l.group_first_block(last), 1, 100000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->start, l.group_first_block(last));
  EXPECT_EQ(d->length, l.backup_blocks.back() - l.group_first_block(last)) << "up to the tail copy";
  // A busy goal and no full run anywhere (max_len clamps to a group, and
  // every group has something in use): the longest run of the goal's group.
  auto e = Alloc(fs, g2 + 100, 1, 100000);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->start, g2 + 118);
  EXPECT_EQ(e->length, l.blocks_per_group - 118);
  EXPECT_TRUE(fs.alloc->Check().ok());
}

TEST(AllocatorTest, BadLengthsAreInvalid) {
  TestFs fs = MakeFs();
  EXPECT_EQ(Alloc(fs, 0, 0, 4).err(), EINVAL);
  EXPECT_EQ(Alloc(fs, 0, 5, 4).err(), EINVAL);
  EXPECT_EQ(Alloc(fs, 0, fs.layout.blocks_per_group + 1, 1ULL << 40).err(), EINVAL);
  EXPECT_EQ(fs.alloc->free_blocks(), fs.sb.free_blocks_count);
}

TEST(AllocatorTest, NeverReturnsMetadataBlocks) {
  TestFs fs = MakeFs();
  const Layout& l = fs.layout;
  std::mt19937_64 rng(7);
  std::vector<bool> taken(l.blocks_count, false);
  uint64_t total = 0;
  for (;;) {
    // Goals anywhere, including the front region and backup copies.
    uint64_t goal = rng() % l.blocks_count;
    if (rng() % 4 == 0) goal = l.backup_blocks[rng() % l.backup_blocks.size()];
    auto r = Alloc(fs, goal, 1, 1 + rng() % 300, AllocKind::kMetadata);
    if (!r.ok()) {
      ASSERT_EQ(r.err(), ENOSPC) << r.status().ToString();
      break;
    }
    for (uint64_t b = r->start; b < r->start + r->length; ++b) {
      ASSERT_FALSE(IsMetadata(l, b)) << "block " << b;
      ASSERT_FALSE(taken[b]) << "block " << b << " handed out twice";
      taken[b] = true;
    }
    total += r->length;
  }
  EXPECT_EQ(total, fs.sb.free_blocks_count);
  EXPECT_EQ(fs.alloc->free_blocks(), 0u);
  EXPECT_TRUE(fs.alloc->Check().ok());
}

TEST(AllocatorTest, ExactEnospcKeepsTheReserveForMetadata) {
  TestFs fs = MakeFs();
  const uint64_t initial = fs.alloc->free_blocks(), reserve = fs.alloc->reserved_blocks();
  uint64_t data = 0;
  for (;;) {
    auto r = Alloc(fs, 0, 1, 500, AllocKind::kData);
    if (!r.ok()) {
      ASSERT_EQ(r.err(), ENOSPC);
      break;
    }
    data += r->length;
  }
  EXPECT_EQ(data, initial - reserve);
  EXPECT_EQ(fs.alloc->free_blocks(), reserve);
  EXPECT_EQ(Alloc(fs, 0, 1, 1, AllocKind::kData).err(), ENOSPC);
  uint64_t meta = 0;
  for (;;) {
    auto r = Alloc(fs, 0, 1, 37, AllocKind::kMetadata);
    if (!r.ok()) {
      ASSERT_EQ(r.err(), ENOSPC);
      break;
    }
    meta += r->length;
  }
  EXPECT_EQ(meta, reserve);
  EXPECT_EQ(data + meta, initial);
  EXPECT_EQ(fs.alloc->free_blocks(), 0u);
  EXPECT_TRUE(fs.alloc->Check().ok());
}

TEST(AllocatorTest, MinLenLargerThanAnyRunIsEnospc) {
  TestFs fs = MakeFs();
  // Leave free runs of at most 10 blocks: allocate 11-block pieces with 10-block gaps.
  std::vector<BlockRun> runs = FillAll(fs);
  for (const BlockRun& r : runs) {
    for (uint64_t b = r.start; b + 11 <= r.start + r.length; b += 21) {
      ASSERT_TRUE(Free(fs, b, 10).ok());
    }
  }
  ASSERT_TRUE(fs.journal->ForceCommit(fs.journal->current_tid()).ok());
  const uint64_t free_before = fs.alloc->free_blocks();
  ASSERT_GT(free_before, 1000u);
  auto r = Alloc(fs, 0, 11, 50, AllocKind::kMetadata);
  EXPECT_EQ(r.err(), ENOSPC);
  auto ok = Alloc(fs, 0, 5, 50, AllocKind::kMetadata);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->length, 10u) << "the longest run, at least min_len";
  EXPECT_EQ(fs.alloc->free_blocks(), free_before - 10);
}

TEST(AllocatorTest, FailedAllocationChangesNothing) {
  TestFs fs = MakeFs();
  // Not enough credits: the descriptor's write access fails after the bitmap's.
  {
    const auto before = MetadataBytes(fs);
    const Counters c = CountersOf(*fs.alloc);
    auto h = fs.journal->Start(1, "short");
    ASSERT_TRUE(h.ok());
    auto r = fs.alloc->AllocBlocks(**h, 0, 1, 8, AllocKind::kData);
    EXPECT_EQ(r.err(), ENOSPC) << r.status().ToString();
    ASSERT_TRUE((*h)->Stop().ok());
    EXPECT_EQ(MetadataBytes(fs), before);
    EXPECT_EQ(CountersOf(*fs.alloc), c);
    EXPECT_TRUE(fs.alloc->Check().ok());
  }
  // The filesystem is full (for data): ENOSPC changes nothing either.
  for (;;) {
    auto r = Alloc(fs, 0, 1, 4096, AllocKind::kData);
    if (!r.ok()) break;
  }
  const auto before = MetadataBytes(fs);
  const Counters c = CountersOf(*fs.alloc);
  EXPECT_EQ(Alloc(fs, 0, 1, 1, AllocKind::kData).err(), ENOSPC);
  EXPECT_EQ(Alloc(fs, 0, c.free_blocks + 1, c.free_blocks + 1, AllocKind::kMetadata).err(), ENOSPC);
  EXPECT_EQ(MetadataBytes(fs), before);
  EXPECT_EQ(CountersOf(*fs.alloc), c);
  // And the allocator still works afterwards.
  EXPECT_TRUE(Alloc(fs, 0, 1, 1, AllocKind::kMetadata).ok());
  EXPECT_TRUE(fs.alloc->Check().ok());
}

TEST(AllocatorTest, FreedBlocksAreNotReusedBeforeTheirTransactionCommits) {
  TestFs fs = MakeFs();
  std::vector<BlockRun> runs = FillAll(fs);
  ASSERT_FALSE(runs.empty());
  const uint64_t victim = runs[runs.size() / 2].start;
  auto h = fs.journal->Start(4, "free and retry");
  ASSERT_TRUE(h.ok());
  const uint64_t t = (*h)->tid();
  ASSERT_TRUE(fs.alloc->FreeBlocks(**h, victim, 1, AllocKind::kData).ok());
  EXPECT_EQ(fs.alloc->free_blocks(), 1u);
  EXPECT_EQ(fs.alloc->pending_free_blocks(), 1u);
  // Not in the freeing transaction itself...
  EXPECT_EQ(fs.alloc->AllocBlocks(**h, victim, 1, 1, AllocKind::kMetadata).err(), ENOSPC);
  ASSERT_TRUE((*h)->Stop().ok());
  // ...nor in a later one while T is not durable.
  EXPECT_EQ(Alloc(fs, victim, 1, 1, AllocKind::kMetadata).err(), ENOSPC);
  EXPECT_LT(fs.journal->committed_tid(), t);
  EXPECT_TRUE(fs.alloc->Check().ok());
  ASSERT_TRUE(fs.journal->ForceCommit(t).ok());
  auto r = Alloc(fs, 0, 1, 1, AllocKind::kMetadata);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->start, victim);
  EXPECT_EQ(fs.alloc->pending_free_blocks(), 0u);
  EXPECT_EQ(fs.alloc->free_blocks(), 0u);
  EXPECT_TRUE(fs.alloc->Check().ok());
}

// With one committed and one uncommitted free, even a goal pointing at the
// uncommitted block gets the committed one.
TEST(AllocatorTest, UncommittedFreesAreSkippedEvenAtTheGoal) {
  TestFs fs = MakeFs();
  std::vector<BlockRun> runs = FillAll(fs);
  ASSERT_GE(runs.front().length, 20u);
  // Same group, so the group's counters alone cannot tell them apart.
  const uint64_t x = runs.front().start + 10, y = runs.front().start + 3;
  auto tx = Free(fs, x, 1);
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(fs.journal->ForceCommit(*tx).ok());
  auto ty = Free(fs, y, 1);
  ASSERT_TRUE(ty.ok());
  EXPECT_EQ(fs.alloc->free_blocks(), 2u);
  auto r = Alloc(fs, y, 1, 1, AllocKind::kMetadata);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->start, x);
  EXPECT_EQ(Alloc(fs, y, 1, 1, AllocKind::kMetadata).err(), ENOSPC);
  ASSERT_TRUE(fs.journal->ForceCommit(*ty).ok());
  auto r2 = Alloc(fs, 0, 1, 1, AllocKind::kMetadata);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->start, y);
  EXPECT_TRUE(fs.alloc->Check().ok());
}

// Block m in T1 holds journaled metadata; freed as metadata in T2 (revoked),
// reused for file data written in place. After a crash, replay must not put
// T1's copy back over the data. A block freed as data (no revoke) shows
// what the revoke prevents.
TEST(AllocatorTest, MetadataFreesRevokeSoReplayKeepsReusedData) {
  TestFs fs = MakeFs();
  uint64_t blocks[2];
  for (int i = 0; i < 2; ++i) {
    auto h = fs.journal->Start(3, "metadata block");
    ASSERT_TRUE(h.ok());
    auto r =
        fs.alloc->AllocBlocks(**h, fs.layout.front_end + 500 + 100 * i, 1, 1, AllocKind::kMetadata);
    ASSERT_TRUE(r.ok());
    blocks[i] = r->start;
    auto b = fs.journal->buffers().GetNew(blocks[i]);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*h)->GetWriteAccess(**b).ok());
    std::memset((*b)->data(), 0xAB, kBs);
    ASSERT_TRUE((*h)->DirtyMetadata(**b).ok());
    const uint64_t t1 = (*h)->tid();
    ASSERT_TRUE((*h)->Stop().ok());
    ASSERT_TRUE(fs.journal->ForceCommit(t1).ok());
  }
  // Too few credits for the revokes: refused before anything changes.
  {
    auto h = fs.journal->Start(2, "short free");
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(fs.alloc->FreeCredits(blocks[0], 1, AllocKind::kMetadata), 3);
    EXPECT_EQ(fs.alloc->FreeBlocks(**h, blocks[0], 1, AllocKind::kMetadata).err(), ENOSPC);
    ASSERT_TRUE((*h)->Stop().ok());
    EXPECT_EQ(fs.alloc->pending_free_blocks(), 0u);
  }
  auto t2 = Free(fs, blocks[0], 1, AllocKind::kMetadata);
  auto t2b = Free(fs, blocks[1], 1, AllocKind::kData);  // wrong on purpose: no revoke
  ASSERT_TRUE(t2.ok() && t2b.ok());
  ASSERT_TRUE(fs.journal->ForceCommit(*t2b).ok());
  const std::vector<uint8_t> data(kBs, 0xCD);
  for (uint64_t m : blocks) {
    auto r = Alloc(fs, m, 1, 1, AllocKind::kData);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->start, m);
    fs.dev->Poke(m * kBs, data.data(), kBs);  // file data goes in place, not through the journal
  }
  ASSERT_TRUE(fs.journal->ForceCommit(fs.journal->current_tid()).ok());
  auto crash = MemoryDevice::FromImage(fs.dev->Snapshot());
  ASSERT_TRUE(crash.ok());
  auto j = Journal::Open(**crash, JournalOptionsFor(fs.sb));
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_GE((*j)->recovery_info().blocks_revoked, 1u);
  std::vector<uint8_t> home(kBs);
  (*crash)->Peek(blocks[0] * kBs, home.data(), kBs);
  EXPECT_EQ(home, data) << "revoked block: the reused data survives replay";
  (*crash)->Peek(blocks[1] * kBs, home.data(), kBs);
  EXPECT_EQ(home, std::vector<uint8_t>(kBs, 0xAB)) << "unrevoked block: replay overwrote it";
  // The replayed bitmaps agree with what the allocator had.
  auto a = Allocator::Load(**j, fs.sb, fs.layout);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->free_blocks(), fs.alloc->free_blocks());
  ASSERT_TRUE((*j)->Close().ok());
}

TEST(AllocatorTest, DoubleOrInvalidFreeIsCorruptedAndChangesNothing) {
  TestFs fs = MakeFs();
  const Layout& l = fs.layout;
  auto r = Alloc(fs, l.front_end + 100, 20, 20);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(Free(fs, r->start, 5).ok());
  const auto before = MetadataBytes(fs);
  const Counters c = CountersOf(*fs.alloc);
  auto expect_corrupt = [&](uint64_t start, uint64_t len, const std::string& msg) {
    auto t = Free(fs, start, len);
    EXPECT_EQ(t.err(), EUCLEAN) << start << "+" << len;
    EXPECT_NE(t.status().message().find(msg), std::string::npos) << t.status().ToString();
    EXPECT_EQ(MetadataBytes(fs), before);
    EXPECT_EQ(CountersOf(*fs.alloc), c);
  };
  // Pending (freed, not committed) and then committed: both already free.
  expect_corrupt(r->start, 1, "freeing free block " + std::to_string(r->start));
  // A run whose allocated part comes first and free part after.
  expect_corrupt(r->start + 15, 10, "freeing free block " + std::to_string(r->start + 20));
  ASSERT_TRUE(fs.journal->ForceCommit(fs.journal->current_tid()).ok());
  expect_corrupt(r->start + 2, 1, "freeing free block");
  expect_corrupt(5, 1, "outside the data area");
  expect_corrupt(l.blocks_count - 1, 2, "outside the data area");
  expect_corrupt(l.backup_blocks[0], 1, "backup copy");
  // A run across groups 1 and 2 whose group-2 part is free: group 1's part stays.
  const uint64_t g2 = l.group_first_block(2);
  auto tail1 = Alloc(fs, g2 - 10, 10, 10);
  ASSERT_TRUE(tail1.ok());
  ASSERT_EQ(tail1->start, g2 - 10);
  const auto before2 = MetadataBytes(fs);
  const Counters c2 = CountersOf(*fs.alloc);
  auto t = Free(fs, g2 - 10, 20);
  EXPECT_EQ(t.err(), EUCLEAN);
  EXPECT_EQ(MetadataBytes(fs), before2);
  EXPECT_EQ(CountersOf(*fs.alloc), c2);
  EXPECT_TRUE(fs.alloc->Check().ok());
}

TEST(AllocatorTest, FreeAcrossGroupsNeedsCreditsPerGroup) {
  TestFs fs = MakeFs();
  const uint64_t g3 = fs.layout.group_first_block(3);  // group 3 starts with a backup copy
  const uint64_t g2 = fs.layout.group_first_block(2);
  auto a = Alloc(fs, g3 - 30, 30, 30);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->start, g3 - 30);
  auto b = Alloc(fs, g2 - 30, 30, 30);
  ASSERT_TRUE(b.ok());
  auto c = Alloc(fs, g2, 30, 30);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->start, g2);
  // The run [g3 - 30, g3 + 2) would include group 3's backup copy.
  EXPECT_EQ(Free(fs, g3 - 30, 32).err(), EUCLEAN);
  EXPECT_EQ(fs.alloc->FreeCredits(g2 - 30, 60, AllocKind::kData), 4);
  EXPECT_EQ(fs.alloc->FreeCredits(g2 - 30, 60, AllocKind::kMetadata), 64);
  const uint64_t free_before = fs.alloc->free_blocks();
  {
    auto h = fs.journal->Start(3, "short");
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(fs.alloc->FreeBlocks(**h, g2 - 30, 60, AllocKind::kData).err(), ENOSPC);
    ASSERT_TRUE((*h)->Stop().ok());
  }
  EXPECT_EQ(fs.alloc->free_blocks(), free_before);
  auto t = Free(fs, g2 - 30, 60);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(fs.alloc->free_blocks(), free_before + 60);
  EXPECT_EQ(fs.alloc->pending_free_blocks(), 60u);
  ASSERT_TRUE(fs.journal->ForceCommit(*t).ok());
  EXPECT_TRUE(fs.alloc->Check().ok());
  EXPECT_EQ(fs.alloc->pending_free_blocks(), 0u);
}

TEST(AllocatorTest, InodesForFilesStayNearTheParent) {
  TestFs fs = MakeFs();
  const uint32_t ipg = fs.layout.inodes_per_group;
  auto h = fs.journal->Start(200, "inodes");
  ASSERT_TRUE(h.ok());
  const uint64_t parent = 2ULL * ipg + 5;  // a directory in group 2
  std::set<uint64_t> seen;
  for (uint32_t i = 0; i < ipg; ++i) {  // group 2 fills up, then group 3 takes over
    auto ino = fs.alloc->AllocInode(**h, parent, false);
    ASSERT_TRUE(ino.ok()) << ino.status().ToString();
    EXPECT_EQ(fs.alloc->GroupOfInode(*ino), 2u);
    EXPECT_TRUE(seen.insert(*ino).second);
  }
  auto next = fs.alloc->AllocInode(**h, parent, false);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(fs.alloc->GroupOfInode(*next), 3u);
  // Files of the root (group 0) start after the reserved inodes and lost+found.
  auto root_file = fs.alloc->AllocInode(**h, format::kRootIno, false);
  ASSERT_TRUE(root_file.ok());
  EXPECT_EQ(*root_file, 12u);
  EXPECT_EQ(fs.alloc->free_inodes(), fs.sb.free_inodes_count - ipg - 2);
  // Frees: a freed inode is reused first; double and reserved frees are refused.
  ASSERT_TRUE(fs.alloc->FreeInode(**h, 2ULL * ipg + 7, false).ok());
  EXPECT_EQ(fs.alloc->FreeInode(**h, 2ULL * ipg + 7, false).err(), EUCLEAN);
  EXPECT_EQ(fs.alloc->FreeInode(**h, 5, false).err(), EUCLEAN);
  EXPECT_EQ(fs.alloc->FreeInode(**h, fs.layout.inodes_count + 1, false).err(), EUCLEAN);
  EXPECT_EQ(fs.alloc->FreeInode(**h, 2ULL * ipg + 8, true).err(), EUCLEAN)
      << "group 2 has no directories";
  auto again = fs.alloc->AllocInode(**h, parent, false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 2ULL * ipg + 7);
  ASSERT_TRUE((*h)->Stop().ok());
  EXPECT_TRUE(fs.alloc->Check().ok());
}

TEST(AllocatorTest, DirectoriesSpreadOverGroups) {
  TestFs fs = MakeFs();
  const uint32_t groups = fs.layout.group_count;
  auto h = fs.journal->Start(100, "mkdirs");
  ASSERT_TRUE(h.ok());
  std::vector<uint32_t> dirs(groups, 0);
  dirs[0] = 2;  // root and lost+found
  for (int i = 0; i < 12; ++i) {
    auto ino = fs.alloc->AllocInode(**h, format::kRootIno, true);
    ASSERT_TRUE(ino.ok());
    const uint32_t g = fs.alloc->GroupOfInode(*ino);
    // The chosen group had the fewest directories among those eligible.
    for (uint32_t o = 1; o < groups; ++o) EXPECT_LE(dirs[g], dirs[o]) << "dir " << i;
    dirs[g]++;
  }
  // Group 0 (fewer free inodes than average) gets none; the others share them.
  EXPECT_EQ(dirs[0], 2u);
  for (uint32_t g = 1; g < groups; ++g) EXPECT_EQ(dirs[g], 3u) << "group " << g;
  ASSERT_TRUE(fs.alloc->FreeInode(**h, fs.layout.inodes_per_group + 1, true).ok());
  ASSERT_TRUE((*h)->Stop().ok());
  EXPECT_TRUE(fs.alloc->Check().ok());
}

TEST(AllocatorTest, InodeEnospcIsExact) {
  TestFs fs = MakeFs(4ULL << 20);
  const uint64_t free = fs.alloc->free_inodes();
  uint64_t n = 0;
  for (;;) {
    auto h = fs.journal->Start(2, "inode");
    ASSERT_TRUE(h.ok());
    auto ino = fs.alloc->AllocInode(**h, format::kRootIno, (n % 3) == 0);
    ASSERT_TRUE((*h)->Stop().ok());
    if (!ino.ok()) {
      EXPECT_EQ(ino.err(), ENOSPC);
      break;
    }
    ++n;
  }
  EXPECT_EQ(n, free);
  EXPECT_EQ(fs.alloc->free_inodes(), 0u);
  EXPECT_TRUE(fs.alloc->Check().ok());
}

// ---- Persistence ----------------------------------------------------------

void PutInode(TestFs& fs, const format::Inode& n) {
  const Layout& l = fs.layout;
  const uint64_t g = (n.ino - 1) / l.inodes_per_group, slot = (n.ino - 1) % l.inodes_per_group;
  std::vector<uint8_t> rec(format::kInodeSize);
  n.Encode(fs.sb.checksum_seed, rec.data());
  fs.dev->Poke((l.inode_table_start + g * l.inode_table_blocks) * kBs + slot * format::kInodeSize,
               rec.data(), rec.size());
}

format::Inode FileInode(uint64_t ino, uint16_t mode, const std::vector<format::Extent>& extents) {
  format::Inode n;
  n.ino = ino;
  n.mode = mode;
  n.nlink = (mode & 0170000) == 0040000 ? 2 : 1;
  format::ExtentNode root;
  root.header.max = format::kInodeExtentRootMax;
  root.extents = extents;
  for (const auto& e : extents) {
    n.blocks += e.length;
    n.size = (e.logical + e.length) * kBs;
  }
  EXPECT_TRUE(format::EncodeExtentNode(root, n.i_block.data(), n.i_block.size()).ok());
  return n;
}

// Records for the inodes and blocks the allocator handed out (so the full
// verifier can account for every block), written after the journal closed.
void WriteOwners(TestFs& fs, uint64_t a, const std::vector<format::Extent>& a_ext, uint64_t b,
                 const std::vector<format::Extent>& b_ext, uint64_t d, uint64_t d_block) {
  const uint32_t seed = fs.sb.checksum_seed;
  PutInode(fs, FileInode(a, 0100644, a_ext));
  PutInode(fs, FileInode(b, 0100600, b_ext));
  format::Inode dir = FileInode(d, 040755, {format::Extent{0, d_block, 1, false}});
  dir.parent = format::kLostFoundIno;
  PutInode(fs, dir);
  std::vector<uint8_t> block(kBs);
  ASSERT_TRUE(format::EncodeDirLeaf(format::DirLeaf{}, d_block, d, seed, block).ok());
  fs.dev->Poke(d_block * kBs, block.data(), kBs);
  format::DirLeaf lf;
  for (auto [ino, name, type] : {std::tuple{a, "a", format::FileType::kRegular},
                                 std::tuple{b, "b", format::FileType::kRegular},
                                 std::tuple{d, "d", format::FileType::kDirectory}}) {
    const std::string s = name;
    lf.entries.push_back(format::DirEntry{
        format::NameHash(fs.sb.hash_seed,
                         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), 1)),
        ino, type, s});
  }
  std::sort(lf.entries.begin(), lf.entries.end(), [](const auto& x, const auto& y) {
    return std::tie(x.hash, x.name) < std::tie(y.hash, y.name);
  });
  const uint64_t lf_block = fs.layout.front_end + 1;
  ASSERT_TRUE(format::EncodeDirLeaf(lf, lf_block, format::kLostFoundIno, seed, block).ok());
  fs.dev->Poke(lf_block * kBs, block.data(), kBs);
  // lost+found gains a subdirectory.
  const uint64_t slot = format::kLostFoundIno - 1;
  const uint64_t off = fs.layout.inode_table_start * kBs + slot * format::kInodeSize;
  std::vector<uint8_t> rec(format::kInodeSize);
  fs.dev->Peek(off, rec.data(), rec.size());
  auto lfi = format::Inode::Decode(rec.data(), seed, format::kLostFoundIno);
  ASSERT_TRUE(lfi.ok());
  lfi->nlink = 3;
  PutInode(fs, *lfi);
}

// The superblock's totals are the fs's to write (at unmount); the test does it.
void WriteSuperblockCounts(TestFs& fs) {
  Superblock sb = fs.sb;
  sb.free_blocks_count = fs.alloc->free_blocks();
  sb.free_inodes_count = fs.alloc->free_inodes();
  std::vector<uint8_t> block(kBs, 0);
  sb.Encode(block.data());
  fs.dev->Poke(0, block.data(), kBs);
  fs.sb = sb;
}

TEST(AllocatorTest, AllocatedStatePersistsAndVerifies) {
  TestFs fs = MakeFs();
  const Layout& l = fs.layout;
  auto h = fs.journal->Start(60, "persist");
  ASSERT_TRUE(h.ok());
  auto a = fs.alloc->AllocInode(**h, format::kLostFoundIno, false);
  auto b = fs.alloc->AllocInode(**h, format::kLostFoundIno, false);
  auto d = fs.alloc->AllocInode(**h, format::kLostFoundIno, true);
  ASSERT_TRUE(a.ok() && b.ok() && d.ok());
  auto a1 = fs.alloc->AllocBlocks(**h, fs.alloc->GoalForInode(*a), 12, 12, AllocKind::kData);
  auto b1 = fs.alloc->AllocBlocks(**h, fs.alloc->GoalForInode(3ULL * l.inodes_per_group + 1), 40,
                                  40, AllocKind::kData);
  auto b2 = fs.alloc->AllocBlocks(**h, l.group_first_block(4), 7, 7, AllocKind::kData);
  auto dblk = fs.alloc->AllocBlocks(**h, fs.alloc->GoalForInode(*d), 1, 1, AllocKind::kMetadata);
  auto scratch = fs.alloc->AllocBlocks(**h, 0, 3, 3, AllocKind::kMetadata);
  ASSERT_TRUE(a1.ok() && b1.ok() && b2.ok() && dblk.ok() && scratch.ok());
  EXPECT_EQ(fs.alloc->GroupOfBlock(b1->start), 3u);
  ASSERT_TRUE(fs.alloc->FreeBlocks(**h, a1->start + 4, 3, AllocKind::kData).ok());  // a hole
  ASSERT_TRUE(fs.alloc->FreeBlocks(**h, scratch->start, 3, AllocKind::kMetadata).ok());
  ASSERT_TRUE((*h)->Stop().ok());
  const Counters c = CountersOf(*fs.alloc);
  ASSERT_TRUE(fs.alloc->Check().ok());
  fs.alloc.reset();
  ASSERT_TRUE(fs.journal->Close().ok());
  fs.journal.reset();
  auto pre = format::VerifyFilesystem(*fs.dev, {.check_inodes = false});
  ASSERT_TRUE(pre.ok());
  for (const auto& f : pre->findings) {
    EXPECT_EQ(f.severity, format::Finding::Severity::kWarning) << f.message;
  }
  WriteOwners(
      fs, *a, {format::Extent{0, a1->start, 4, false}, format::Extent{7, a1->start + 7, 5, false}},
      *b, {format::Extent{0, b1->start, 40, false}, format::Extent{40, b2->start, 7, false}}, *d,
      dblk->start);
  OpenFs(fs);
  EXPECT_EQ(CountersOf(*fs.alloc).free_blocks, c.free_blocks);
  EXPECT_EQ(CountersOf(*fs.alloc).free_inodes, c.free_inodes);
  EXPECT_EQ(fs.alloc->pending_free_blocks(), 0u) << "pending frees are not persistent state";
  EXPECT_TRUE(fs.alloc->Check().ok());
  WriteSuperblockCounts(fs);
  auto report = format::VerifyFilesystem(*fs.dev);
  ASSERT_TRUE(report.ok());
  std::string errors;
  for (const auto& f : report->findings) {
    if (f.severity == format::Finding::Severity::kError) errors += f.message + "\n";
  }
  EXPECT_TRUE(report->clean()) << errors;
  EXPECT_EQ(report->blocks_in_use, l.blocks_count - fs.alloc->free_blocks());
  EXPECT_EQ(report->directories, 3u);
}

// ---- Damage found by Load -----------------------------------------------------

void FlipByte(MemoryDevice& dev, uint64_t offset) {
  uint8_t v;
  dev.Peek(offset, &v, 1);
  v ^= 0x10;
  dev.Poke(offset, &v, 1);
}

// Loads after damage; expects EUCLEAN naming `what`.
void ExpectLoadFails(TestFs& fs, const std::string& what) {
  auto j = Journal::Open(*fs.dev, JournalOptionsFor(fs.sb));
  ASSERT_TRUE(j.ok());
  auto a = Allocator::Load(**j, fs.sb, fs.layout);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.err(), EUCLEAN);
  EXPECT_NE(a.status().message().find(what), std::string::npos) << a.status().ToString();
}

TEST(AllocatorTest, LoadRejectsACorruptBlockBitmap) {
  TestFs fs = MakeFs(kDevBytes, 0, false);
  FlipByte(*fs.dev, (fs.layout.block_bitmap_start + 2) * kBs + 600);
  ExpectLoadFails(fs, "group 2");
}

TEST(AllocatorTest, LoadRejectsACorruptInodeBitmapOrGdt) {
  TestFs fs = MakeFs(kDevBytes, 0, false);
  FlipByte(*fs.dev, (fs.layout.inode_bitmap_start + 3) * kBs + 40);
  ExpectLoadFails(fs, "group 3");
  TestFs fs2 = MakeFs(kDevBytes, 0, false);
  FlipByte(*fs2.dev, 1 * kBs + 100);
  ExpectLoadFails(fs2, "descriptor");
}

// A bitmap that is valid as a block but disagrees with its descriptor.
TEST(AllocatorTest, LoadRejectsCountsThatDisagree) {
  TestFs fs = MakeFs(kDevBytes, 0, false);
  std::vector<uint8_t> block(kBs);
  const uint64_t nr = fs.layout.block_bitmap_start + 1;
  fs.dev->Peek(nr * kBs, block.data(), kBs);
  format::SetBit(block, 4000);  // a free block of group 1 marked used
  format::SealBlock(fs.sb.checksum_seed, block);
  fs.dev->Poke(nr * kBs, block.data(), kBs);
  ExpectLoadFails(fs, "group 1 descriptor");
}

// The front region marked free in a sealed bitmap (with matching counts) is refused.
TEST(AllocatorTest, LoadRejectsMetadataMarkedFree) {
  TestFs fs = MakeFs(kDevBytes, 0, false);
  std::vector<uint8_t> block(kBs);
  const uint64_t nr = fs.layout.block_bitmap_start;
  fs.dev->Peek(nr * kBs, block.data(), kBs);
  block[format::kBlockHeaderSize + 10] = 0;  // blocks 80..87: inode tables
  format::SealBlock(fs.sb.checksum_seed, block);
  fs.dev->Poke(nr * kBs, block.data(), kBs);
  std::vector<uint8_t> gdt(kBs);
  fs.dev->Peek(1 * kBs, gdt.data(), kBs);
  format::GroupDesc d = format::GroupDesc::Decode(gdt.data() + format::kBlockHeaderSize);
  d.free_blocks += 8;
  d.Encode(gdt.data() + format::kBlockHeaderSize);
  format::SealBlock(fs.sb.checksum_seed, gdt);
  fs.dev->Poke(1 * kBs, gdt.data(), kBs);
  ExpectLoadFails(fs, "metadata block 80");
}

}  // namespace
}  // namespace foliofs::fs
