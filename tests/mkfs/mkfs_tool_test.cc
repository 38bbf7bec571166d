// mkfs.foliofs and fsck.foliofs on image files and loop devices.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "fs/format/format.h"
#include "pagecache/blockdev/uring_device.h"
#include "tests/mkfs/tool_util.h"

namespace foliofs::tooltest {
namespace {

bool Contains(const RunResult& r, const std::string& needle) {
  return r.output.find(needle) != std::string::npos;
}

void PokeFile(const std::string& path, uint64_t offset, const void* data, size_t len) {
  const int fd = open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, data, len, static_cast<off_t>(offset)), static_cast<ssize_t>(len));
  close(fd);
}

// Loop-device tests need root and a free loop device.
#define REQUIRE_LOOP(loop)                                         \
  if (!(loop)) GTEST_SKIP() << "cannot attach a loop device (needs root)"

TEST(MkfsToolTest, FreshImagePassesFsckForSeveralBlockSizes) {
  TempDir dir;
  for (const char* bs : {"1024", "4096", "65536"}) {
    const std::string img = dir.Image(std::string("img") + bs, 64 << 20);
    RunResult mk = RunTool("mkfs.foliofs", {"-b", bs, img});
    ASSERT_EQ(mk.rc, 0) << bs << "\n" << mk.output;
    EXPECT_TRUE(Contains(mk, std::string("Block size: ") + bs)) << mk.output;
    EXPECT_TRUE(Contains(mk, "Superblock backups stored on blocks:")) << mk.output;
    EXPECT_TRUE(Contains(mk, "Filesystem UUID:")) << mk.output;
    RunResult fsck = RunTool("fsck.foliofs", {"-f", img});
    EXPECT_EQ(fsck.rc, 0) << bs << "\n" << fsck.output;
    EXPECT_TRUE(Contains(fsck, "clean, 2/")) << fsck.output;
  }
}

TEST(MkfsToolTest, CorruptSuperblockByteMakesFsckExit4) {
  TempDir dir;
  const std::string img = dir.Image("img", 32 << 20);
  ASSERT_EQ(RunTool("mkfs.foliofs", {"-q", img}).rc, 0);
  const uint8_t junk = 0x5A;
  PokeFile(img, 100, &junk, 1);  // inside blocks_count... any byte of the record
  RunResult fsck = RunTool("fsck.foliofs", {"-n", img});
  EXPECT_EQ(fsck.rc, 4) << fsck.output;
  EXPECT_TRUE(Contains(fsck, "superblock checksum mismatch")) << fsck.output;
}

TEST(MkfsToolTest, OptionsAreReflectedInWhatTheVerifierReads) {
  TempDir dir;
  const std::string img = dir.Image("img", 128 << 20);
  const std::string uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  RunResult mk = RunTool("mkfs.foliofs",
                         {"-q", "-b", "2k", "-L", "my volume", "-U", uuid, "-N", "5000", "-J", "8M", img});
  ASSERT_EQ(mk.rc, 0) << mk.output;
  EXPECT_TRUE(mk.output.empty()) << "-q printed: " << mk.output;
  auto dev = OpenDevice(img, DeviceOptions{.read_only = true});
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  auto report = format::VerifyFilesystem(**dev);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->clean());
  const format::Superblock& sb = report->sb;
  EXPECT_EQ(sb.block_size(), 2048u);
  EXPECT_EQ(sb.label, "my volume");
  const format::Uuid expect = {0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
                               0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0};
  EXPECT_EQ(sb.uuid, expect);
  EXPECT_GE(sb.inodes_count, 5000u);
  EXPECT_LT(sb.inodes_count, 5000u + 8 * sb.group_count);
  EXPECT_EQ(sb.journal_blocks, (8u << 20) / 2048);
  EXPECT_EQ(sb.blocks_count, (128u << 20) / 2048);
}

TEST(MkfsToolTest, TooSmallImageIsRefusedWithTheMinimum) {
  TempDir dir;
  const std::string img = dir.Image("img", 256 << 10);
  RunResult r = RunTool("mkfs.foliofs", {img});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Contains(r, "device too small")) << r.output;
  EXPECT_TRUE(Contains(r, "the minimum for block size 4096 is")) << r.output;
}

TEST(MkfsToolTest, ExistingExt4IsRefusedWithoutForceAndOverwrittenWithForce) {
  TempDir dir;
  const std::string img = dir.Image("img", 32 << 20);
  ASSERT_EQ(Shell("mkfs.ext4 -F -q " + Quote(img)).rc, 0);
  RunResult r = RunTool("mkfs.foliofs", {img});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Contains(r, "contains a ext4 file system")) << r.output;
  EXPECT_TRUE(Contains(r, "-f")) << r.output;
  RunResult forced = RunTool("mkfs.foliofs", {"-f", img});
  EXPECT_EQ(forced.rc, 0) << forced.output;
  EXPECT_EQ(RunTool("fsck.foliofs", {img}).rc, 0);
  // The ext4 signature is gone, so blkid-style probes do not see two filesystems.
  uint8_t magic[2];
  const int fd = open(img.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pread(fd, magic, 2, 1080), 2);
  close(fd);
  EXPECT_FALSE(magic[0] == 0x53 && magic[1] == 0xEF);
}

TEST(MkfsToolTest, ExistingFoliofsIsRefusedWithoutForce) {
  TempDir dir;
  const std::string img = dir.Image("img", 32 << 20);
  ASSERT_EQ(RunTool("mkfs.foliofs", {"-q", img}).rc, 0);
  RunResult r = RunTool("mkfs.foliofs", {img});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Contains(r, "contains a foliofs file system")) << r.output;
  EXPECT_EQ(RunTool("mkfs.foliofs", {"-q", "-f", img}).rc, 0);
}

TEST(MkfsToolTest, XfsAndBtrfsSignaturesAreRecognised) {
  TempDir dir;
  const std::string xfs = dir.Image("xfs", 32 << 20);
  PokeFile(xfs, 0, "XFSB", 4);
  RunResult r = RunTool("mkfs.foliofs", {xfs});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Contains(r, "contains a xfs file system")) << r.output;
  const std::string btrfs = dir.Image("btrfs", 32 << 20);
  PokeFile(btrfs, 65600, "_BHRfS_M", 8);
  r = RunTool("mkfs.foliofs", {btrfs});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Contains(r, "contains a btrfs file system")) << r.output;
}

TEST(MkfsToolTest, ManyGroupsPrintProgressUnlessQuiet) {
  TempDir dir;
  const std::string img = dir.Image("img", 96 << 20);  // 1 KiB blocks: 13 groups
  RunResult r = RunTool("mkfs.foliofs", {"-b", "1024", img});
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(Contains(r, "Writing inode tables: 13/13")) << r.output;
  RunResult q = RunTool("mkfs.foliofs", {"-q", "-f", "-b", "1024", img});
  ASSERT_EQ(q.rc, 0);
  EXPECT_TRUE(q.output.empty()) << q.output;
}

TEST(MkfsLoopTest, FreshFilesystemOnLoopDevicePassesFsck) {
  TempDir dir;
  const std::string img = dir.Image("img", 64 << 20);
  auto loop = LoopDevice::Attach(img);
  REQUIRE_LOOP(loop);
  RunResult mk = RunTool("mkfs.foliofs", {"-L", "loopfs", loop->path()});
  ASSERT_EQ(mk.rc, 0) << mk.output;
  RunResult fsck = RunTool("fsck.foliofs", {"-v", loop->path()});
  EXPECT_EQ(fsck.rc, 0) << fsck.output;
  EXPECT_TRUE(Contains(fsck, "label 'loopfs'")) << fsck.output;
}

TEST(MkfsLoopTest, ReadOnlyLoopDeviceIsRefused) {
  TempDir dir;
  const std::string img = dir.Image("img", 32 << 20);
  auto loop = LoopDevice::Attach(img, "-r");
  REQUIRE_LOOP(loop);
  RunResult r = RunTool("mkfs.foliofs", {loop->path()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Contains(r, "read-only")) << r.output;
}

TEST(MkfsLoopTest, DeviceHeldExclusivelyByAnotherOpenerIsRefused) {
  TempDir dir;
  const std::string img = dir.Image("img", 32 << 20);
  auto loop = LoopDevice::Attach(img);
  REQUIRE_LOOP(loop);
  const int held = open(loop->path().c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  ASSERT_GE(held, 0) << std::strerror(errno);
  RunResult r = RunTool("mkfs.foliofs", {loop->path()});
  close(held);
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Contains(r, "is in use")) << r.output;
}

TEST(MkfsLoopTest, MountedDeviceAndItsBackingImageAreRefused) {
  TempDir dir;
  const std::string img = dir.Image("img", 32 << 20);
  ASSERT_EQ(Shell("mkfs.ext4 -F -q " + Quote(img)).rc, 0);
  auto loop = LoopDevice::Attach(img);
  REQUIRE_LOOP(loop);
  const std::string mnt = dir.path() + "/mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  MountGuard mounted(loop->path(), mnt, "ext4");
  if (!mounted.ok()) GTEST_SKIP() << "cannot mount ext4 here";
  RunResult r = RunTool("mkfs.foliofs", {"-f", loop->path()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(Contains(r, "is mounted on " + mnt)) << r.output;
  RunResult via_image = RunTool("mkfs.foliofs", {"-f", img});
  EXPECT_EQ(via_image.rc, 1);
  EXPECT_TRUE(Contains(via_image, "which is mounted on " + mnt)) << via_image.output;
}

}  // namespace
}  // namespace foliofs::tooltest
