// fsck.foliofs as a user runs it: exit codes (as e2fsck), -n/-y/-p, journal
// replay, refusing a device in use.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "fs/format/format.h"
#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"
#include "pagecache/blockdev/uring_device.h"
#include "tests/format/repair_test_util.h"
#include "tests/mkfs/tool_util.h"
#include "tools/fsck/fsck_mounted.h"

namespace foliofs::tooltest {
namespace {

using format::testing::FsImage;

bool Contains(const RunResult& r, const std::string& needle) {
  return r.output.find(needle) != std::string::npos;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string MakeImage(const TempDir& dir, const std::string& name = "img") {
  const std::string img = dir.Image(name, 32 << 20);
  RunResult mk = RunTool("mkfs.foliofs", {"-q", img});
  EXPECT_EQ(mk.rc, 0) << mk.output;
  return img;
}

// Runs `damage` on the image through a read-write device.
template <typename F>
void Damage(const std::string& img, F damage) {
  auto dev = OpenDevice(img, DeviceOptions{.force_sync = true});
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  FsImage fs(**dev);
  damage(fs);
  ASSERT_TRUE((*dev)->Flush().ok());
}

void WrongFreeCount(FsImage& fs) {
  format::Superblock sb = fs.ReadSb();
  sb.free_blocks_count += 3;
  fs.WriteSb(sb);
}

void EntryToFreeInode(FsImage& fs) {
  fs.AddEntry(fs.RootLeaf(), format::kRootIno, "ghost", 30, format::FileType::kRegular);
}

TEST(FsckToolTest, CleanImageExitsZeroInEveryMode) {
  TempDir dir;
  const std::string img = MakeImage(dir);
  for (const char* mode : {"-n", "-y", "-p"}) {
    RunResult r = RunTool("fsck.foliofs", {mode, "-f", img});
    EXPECT_EQ(r.rc, 0) << mode << "\n" << r.output;
    EXPECT_TRUE(Contains(r, "clean, 2/")) << r.output;
  }
}

TEST(FsckToolTest, DamageIsReportedByNThenRepairedByY) {
  TempDir dir;
  const std::string img = MakeImage(dir);
  Damage(img, [](FsImage& fs) {
    EntryToFreeInode(fs);
    WrongFreeCount(fs);
  });
  const std::string before = ReadFile(img);
  RunResult n = RunTool("fsck.foliofs", {"-n", img});
  EXPECT_EQ(n.rc, 4) << n.output;
  EXPECT_TRUE(Contains(n, "names inode 30, which is not in use")) << n.output;
  EXPECT_EQ(ReadFile(img), before) << "-n wrote to the image";
  RunResult y = RunTool("fsck.foliofs", {"-y", img});
  EXPECT_EQ(y.rc, 1) << y.output;
  EXPECT_TRUE(Contains(y, "FIXED: directory 2: entry 'ghost'")) << y.output;
  EXPECT_TRUE(Contains(y, "FILE SYSTEM WAS MODIFIED")) << y.output;
  RunResult again = RunTool("fsck.foliofs", {"-y", img});
  EXPECT_EQ(again.rc, 0) << again.output;
  EXPECT_EQ(RunTool("fsck.foliofs", {"-n", img}).rc, 0);
}

TEST(FsckToolTest, PreenFixesACounterError) {
  TempDir dir;
  const std::string img = MakeImage(dir);
  Damage(img, WrongFreeCount);
  RunResult p = RunTool("fsck.foliofs", {"-p", img});
  EXPECT_EQ(p.rc, 1) << p.output;
  EXPECT_TRUE(Contains(p, "FIXED: superblock: free counts")) << p.output;
  EXPECT_EQ(RunTool("fsck.foliofs", {"-n", img}).rc, 0);
}

TEST(FsckToolTest, PreenStopsAtAnUnexpectedInconsistency) {
  TempDir dir;
  const std::string img = MakeImage(dir);
  Damage(img, EntryToFreeInode);
  const std::string before = ReadFile(img);
  RunResult p = RunTool("fsck.foliofs", {"-p", img});
  EXPECT_EQ(p.rc, 4) << p.output;
  EXPECT_TRUE(Contains(p, "UNEXPECTED INCONSISTENCY; run fsck.foliofs -y manually")) << p.output;
  EXPECT_EQ(ReadFile(img), before) << "preen wrote despite refusing";
}

TEST(FsckToolTest, VerboseRepairPrintsTheSummary) {
  TempDir dir;
  const std::string img = MakeImage(dir);
  Damage(img, WrongFreeCount);
  RunResult y = RunTool("fsck.foliofs", {"-y", "-v", img});
  EXPECT_EQ(y.rc, 1) << y.output;
  EXPECT_TRUE(Contains(y, "2 directories")) << y.output;
  EXPECT_TRUE(Contains(y, "2/2048 inodes")) << y.output;
}

TEST(FsckToolTest, UsageErrorsExit16) {
  TempDir dir;
  const std::string img = MakeImage(dir);
  EXPECT_EQ(RunTool("fsck.foliofs", {}).rc, 16);
  EXPECT_EQ(RunTool("fsck.foliofs", {"-x", img}).rc, 16);
  EXPECT_EQ(RunTool("fsck.foliofs", {"-n", "-y", img}).rc, 16);
  EXPECT_EQ(RunTool("fsck.foliofs", {img, img}).rc, 16);
  RunResult help = RunTool("fsck.foliofs", {"--help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_TRUE(Contains(help, "Usage: fsck.foliofs DEVICE [-n|-y|-p]")) << help.output;
}

TEST(FsckToolTest, MissingDeviceIsAnOperationalError) {
  for (const char* mode : {"-n", "-y", "-p"}) {
    RunResult r = RunTool("fsck.foliofs", {mode, "/nonexistent/foliofs-img"});
    EXPECT_EQ(r.rc, 8) << r.output;
    EXPECT_TRUE(Contains(r, "/nonexistent/foliofs-img")) << r.output;
  }
}

TEST(FsckToolTest, UnrecognisableImageIsUncorrected) {
  TempDir dir;
  const std::string img = dir.Image("blank", 8 << 20);
  RunResult r = RunTool("fsck.foliofs", {"-y", img});
  EXPECT_EQ(r.rc, 4) << r.output;
  EXPECT_TRUE(Contains(r, "bad magic")) << r.output;
}

// An image whose journal holds a committed, unreplayed transaction: the home
// superblock has a wrong free count, the journal holds the right superblock.
void WriteImageNeedingReplay(const std::string& path) {
  constexpr uint64_t kBytes = 32 << 20;
  auto mem = MemoryDevice::Create(kBytes);
  ASSERT_TRUE(mem.ok());
  auto layout = format::ComputeLayout(kBytes, 4096, 0, 0);
  ASSERT_TRUE(layout.ok());
  format::MakeOptions o;
  o.uuid[0] = 0x42;
  o.now = 1700000000;
  o.format_journal = journal::FormatJournal;
  ASSERT_TRUE(format::MakeFilesystem(**mem, *layout, o).ok());
  FsImage fs(**mem);
  const std::vector<uint8_t> good = fs.ReadBlock(0);
  WrongFreeCount(fs);
  journal::JournalOptions jo;
  jo.first_block = fs.sb().journal_first_block;
  jo.num_blocks = fs.sb().journal_blocks;
  jo.block_size = 4096;
  jo.uuid = fs.sb().uuid;
  jo.commit_interval = std::chrono::milliseconds(60000);
  auto j = journal::Journal::Open(**mem, jo);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  {
    auto h = (*j)->Start(1, "test");
    ASSERT_TRUE(h.ok());
    auto b = (*j)->buffers().Read(0);
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*h)->GetWriteAccess(**b).ok());
    std::memcpy((*b)->data(), good.data(), good.size());
    ASSERT_TRUE((*h)->DirtyMetadata(**b).ok());
    const uint64_t tid = (*h)->tid();
    ASSERT_TRUE((*h)->Stop().ok());
    ASSERT_TRUE((*j)->ForceCommit(tid).ok());
  }
  // The machine "stops" here: the commit is durable, the checkpoint never ran.
  const std::vector<uint8_t> image = (*mem)->Snapshot();
  ASSERT_TRUE((*j)->Close().ok());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(image.data()),
            static_cast<std::streamsize>(image.size()));
  ASSERT_TRUE(out.good());
}

TEST(FsckToolTest, JournalNeedingRecoveryIsReportedByNAndReplayedByY) {
  TempDir dir;
  const std::string img = dir.File("img");
  ASSERT_NO_FATAL_FAILURE(WriteImageNeedingReplay(img));
  const std::string before = ReadFile(img);
  RunResult n = RunTool("fsck.foliofs", {"-n", img});
  EXPECT_EQ(n.rc, 4) << n.output;
  EXPECT_TRUE(Contains(n, "the journal needs recovery; not replayed")) << n.output;
  EXPECT_EQ(ReadFile(img), before) << "-n replayed the journal";
  RunResult y = RunTool("fsck.foliofs", {"-y", img});
  EXPECT_EQ(y.rc, 1) << y.output;
  EXPECT_TRUE(Contains(y, "recovering journal: 1 transactions")) << y.output;
  EXPECT_FALSE(Contains(y, "FIXED:")) << "the replay, not a repair, should fix it\n" << y.output;
  RunResult again = RunTool("fsck.foliofs", {"-n", img});
  EXPECT_EQ(again.rc, 0) << again.output;
  EXPECT_FALSE(Contains(again, "journal needs recovery")) << again.output;
}

TEST(FsckToolTest, MountsFileEntriesAreMatchedByPath) {
  TempDir dir;
  const std::string img = MakeImage(dir, "my img");
  const std::string mounts = dir.File("mounts");
  std::string escaped = img;
  escaped.replace(escaped.find(' '), 1, "\\040");
  {
    std::ofstream out(mounts);
    out << "proc /proc proc rw 0 0\n/dev/nonexistent-disk / ext4 rw 0 0\n";
  }
  EXPECT_FALSE(fsck::IsMounted(img, mounts));
  {
    std::ofstream out(mounts, std::ios::app);
    out << escaped << " /mnt/x fuse.foliofs rw,nosuid 0 0\n";
  }
  EXPECT_TRUE(fsck::IsMounted(img, mounts));
  EXPECT_FALSE(fsck::IsMounted(dir.File("other"), mounts));
}

TEST(FsckLoopTest, DeviceInUseIsRefusedForRepairButCheckedWithN) {
  TempDir dir;
  const std::string img = MakeImage(dir);
  auto loop = LoopDevice::Attach(img);
  if (!loop) GTEST_SKIP() << "cannot attach a loop device (needs root)";
  // Holding the block device with O_EXCL is what a mount does.
  const int fd = open(loop->path().c_str(), O_RDONLY | O_EXCL);
  ASSERT_GE(fd, 0) << loop->path();
  RunResult y = RunTool("fsck.foliofs", {"-y", loop->path()});
  EXPECT_EQ(y.rc, 8) << y.output;
  EXPECT_TRUE(Contains(y, "is in use")) << y.output;
  RunResult n = RunTool("fsck.foliofs", {"-n", loop->path()});
  EXPECT_EQ(n.rc, 0) << n.output;
  close(fd);
  RunResult free_again = RunTool("fsck.foliofs", {"-y", loop->path()});
  EXPECT_EQ(free_again.rc, 0) << free_again.output;
}

}  // namespace
}  // namespace foliofs::tooltest
