// What the FUSE front end's round-trip savings must not change, seen through
// the mount (fs/fuse: FLUSH answered ENOSYS, so the kernel stops sending it;
// an hour of entry timeout; mtime/ctime-only SETATTRs of unlinked files
// answered from memory):
//  - close(2) after writes that no longer fit still reports ENOSPC (the
//    kernel writes the dirty pages back and checks their errors before it
//    decides not to send FLUSH); what did fit reads back;
//  - data written through one descriptor is seen through another opened
//    before it, and after a remount, however many closes preceded it;
//  - an unlinked open file: fstat shows nlink 0, its data stays readable,
//    futimens on it shows the new times, and its inode comes back at close;
//  - O_TRUNC on open, O_APPEND through two descriptors;
//  - a file another thread unlinks (and replaces) under an open descriptor;
//  - names: negative entries, rename, unlink and re-create seen at once.
// Parameterized with writeback_cache on and off. Timing is never asserted.
#include <sys/statvfs.h>
#include <sys/time.h>

#include <atomic>
#include <thread>

#include "tests/mount/mount_harness.h"

namespace foliofs::mounttest {
namespace {

class RoundTripMountTest : public MountTest {
 protected:
  fsfilcnt_t FreeInodes() {
    struct statvfs sv{};
    if (statvfs(Mnt().c_str(), &sv) != 0) return 0;
    return sv.f_ffree;
  }
};

// A filesystem small enough to fill quickly.
class FullRoundTripMountTest : public RoundTripMountTest {
 protected:
  MountOptions Options() const override {
    MountOptions o = MountTest::Options();
    o.image_bytes = 64ull << 20;
    return o;
  }
};

std::string Pattern(size_t len, char seed) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; ++i) s[i] = static_cast<char>(seed + i % 61);
  return s;
}

TEST_P(FullRoundTripMountTest, CloseReportsEnospcOfWritesThatDidNotFit) {
  // A first close: from then on the kernel sends no FLUSH on this mount.
  ASSERT_TRUE(WriteFile(P("first"), "x"));
  const std::string path = P("big");
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  const std::string chunk = Pattern(1 << 20, 'a');
  int write_err = 0;
  // Twice the device: the space runs out long before.
  for (int i = 0; i < 128 && write_err == 0; ++i) {
    const ssize_t n = write(fd, chunk.data(), chunk.size());
    if (n < 0) write_err = errno;
  }
  const int close_err = Errno(close(fd));
  // Without the writeback cache write(2) fails itself; with it the data
  // waited in the kernel's cache and close(2) must report what failed.
  if (write_err == 0) {
    EXPECT_EQ(close_err, ENOSPC) << "no write failed, so close must report the lost data";
  } else {
    EXPECT_EQ(write_err, ENOSPC) << strerror(write_err);
  }
  // The filesystem is still usable once the space is free again. The daemon
  // frees an unlinked file's blocks when the kernel forgets the inode, which
  // FUSE sends after unlink(2) has returned: wait for that (not timed).
  ASSERT_EQ(unlink(path.c_str()), 0) << strerror(errno);
  bool written = false;
  for (int i = 0; i < 500 && !written; ++i) {
    written = WriteFile(P("after"), "still works");
    if (!written) usleep(10'000);
  }
  ASSERT_TRUE(written) << strerror(errno);
  EXPECT_EQ(ReadFile(P("after")), std::optional<std::string>("still works"));
}

TEST_P(RoundTripMountTest, DataSeenThroughEarlierDescriptorAndAfterRemount) {
  const std::string path = P("f");
  ASSERT_TRUE(WriteFile(path, ""));
  const int reader = open(path.c_str(), O_RDONLY);
  ASSERT_GE(reader, 0) << strerror(errno);
  // Several open/write/close rounds: only the first close may reach the
  // daemon as FLUSH.
  std::string expect;
  for (int round = 0; round < 5; ++round) {
    const std::string part = Pattern(10000 + round, static_cast<char>('A' + round));
    ASSERT_TRUE(WriteFile(path, part, O_APPEND));
    expect += part;
  }
  std::string got(expect.size() + 10, '\0');
  const ssize_t n = pread(reader, got.data(), got.size(), 0);
  ASSERT_EQ(n, static_cast<ssize_t>(expect.size()));
  got.resize(static_cast<size_t>(n));
  EXPECT_TRUE(got == expect) << "contents differ through the earlier descriptor";
  ASSERT_EQ(close(reader), 0);
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(ReadFile(path) == std::optional<std::string>(expect)) << "after remount";
}

TEST_P(RoundTripMountTest, UnlinkedOpenFileKeepsDataTakesTimesAndIsFreedAtClose) {
  const fsfilcnt_t free_before = FreeInodes();
  const std::string path = P("doomed");
  const std::string data = Pattern(50000, 'x');
  ASSERT_TRUE(WriteFile(path, data));
  EXPECT_EQ(FreeInodes(), free_before - 1);
  const int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat before{};
  ASSERT_EQ(fstat(fd, &before), 0);
  ASSERT_EQ(unlink(path.c_str()), 0) << strerror(errno);
  EXPECT_EQ(Errno(access(path.c_str(), F_OK)), ENOENT);

  struct stat st{};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_ino, before.st_ino);
  EXPECT_EQ(st.st_size, static_cast<off_t>(data.size()));
  std::string got(data.size(), '\0');
  ASSERT_EQ(pread(fd, got.data(), got.size(), 0), static_cast<ssize_t>(data.size()));
  EXPECT_TRUE(got == data);

  // Times set on the orphan are what fstat shows (mtime alone, then atime).
  const timespec mtime_only[2] = {{0, UTIME_OMIT}, {1'000'000'000, 123456789}};
  ASSERT_EQ(futimens(fd, mtime_only), 0) << strerror(errno);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'000'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  const timespec both[2] = {{1'100'000'000, 5}, {1'200'000'000, 6}};
  ASSERT_EQ(futimens(fd, both), 0) << strerror(errno);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 1'100'000'000);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'200'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 6);

  // Still writable; the inode is freed once the last descriptor goes.
  ASSERT_EQ(pwrite(fd, "tail", 4, static_cast<off_t>(data.size())), 4);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(data.size() + 4));
  ASSERT_EQ(close(fd), 0);
  // The kernel forgets the inode asynchronously after the last close.
  for (int i = 0; i < 200 && FreeInodes() != free_before; ++i) usleep(10'000);
  EXPECT_EQ(FreeInodes(), free_before);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(FreeInodes(), free_before) << "after remount";
}

TEST_P(RoundTripMountTest, ManyCreatesAndUnlinksLeaveNoInodeBehind) {
  const fsfilcnt_t free_before = FreeInodes();
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  constexpr int kFiles = 500;
  for (int i = 0; i < kFiles; ++i) {
    const int fd = open(P("d/f" + std::to_string(i)).c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << i << ": " << strerror(errno);
    if (i % 2 == 0) {
      ASSERT_EQ(write(fd, "x", 1), 1);
    }
    ASSERT_EQ(close(fd), 0) << i;
  }
  for (int i = 0; i < kFiles; ++i) {
    struct stat st{};
    ASSERT_EQ(stat(P("d/f" + std::to_string(i)).c_str(), &st), 0) << i;
    EXPECT_EQ(st.st_size, i % 2 == 0 ? 1 : 0) << i;
  }
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_EQ(unlink(P("d/f" + std::to_string(i)).c_str()), 0) << i << ": " << strerror(errno);
  }
  ASSERT_EQ(rmdir(P("d").c_str()), 0) << strerror(errno);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(FreeInodes(), free_before);
}

TEST_P(RoundTripMountTest, OpenWithTruncAndAppendThroughTwoDescriptors) {
  const std::string path = P("t");
  ASSERT_TRUE(WriteFile(path, Pattern(20000, 'q')));
  const int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st{};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 0);
  ASSERT_EQ(close(fd), 0);
  EXPECT_EQ(ReadFile(path), std::optional<std::string>(""));

  const int a = open(path.c_str(), O_WRONLY | O_APPEND);
  const int b = open(path.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_EQ(write(a, "one,", 4), 4);
  ASSERT_EQ(write(b, "two,", 4), 4);
  ASSERT_EQ(write(a, "three", 5), 5);
  ASSERT_EQ(close(a), 0);
  ASSERT_EQ(close(b), 0);
  EXPECT_EQ(ReadFile(path), std::optional<std::string>("one,two,three"));
}

TEST_P(RoundTripMountTest, FileReplacedByAnotherThreadUnderAnOpenDescriptor) {
  const std::string path = P("r");
  ASSERT_TRUE(WriteFile(path, "old contents"));
  const int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  std::atomic<bool> ok{false};
  std::thread other([&] {
    ok = unlink(path.c_str()) == 0 && WriteFile(path, "new");
  });
  other.join();
  ASSERT_TRUE(ok.load());
  char buf[64] = {};
  ASSERT_EQ(pread(fd, buf, sizeof buf, 0), 12);
  EXPECT_EQ(std::string(buf, 12), "old contents");
  EXPECT_EQ(ReadFile(path), std::optional<std::string>("new"));
  ASSERT_EQ(close(fd), 0);

  // Open of a name another thread removed fails; a new file there is new.
  std::thread remover([&] { ok = unlink(path.c_str()) == 0; });
  remover.join();
  ASSERT_TRUE(ok.load());
  EXPECT_EQ(Errno(open(path.c_str(), O_RDONLY)), ENOENT);
}

TEST_P(RoundTripMountTest, NamesChangeAtOnceDespiteCachedEntries) {
  const std::string a = P("a");
  const std::string b = P("b");
  struct stat st{};
  EXPECT_EQ(Errno(stat(a.c_str(), &st)), ENOENT);  // a negative entry now
  ASSERT_TRUE(WriteFile(a, "1"));
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  const ino_t first = st.st_ino;
  ASSERT_EQ(rename(a.c_str(), b.c_str()), 0);
  EXPECT_EQ(Errno(stat(a.c_str(), &st)), ENOENT);
  ASSERT_EQ(stat(b.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, first);
  ASSERT_EQ(link(b.c_str(), a.c_str()), 0);
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_EQ(unlink(b.c_str()), 0);
  EXPECT_EQ(Errno(stat(b.c_str(), &st)), ENOENT);
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  ASSERT_EQ(unlink(a.c_str()), 0);
  EXPECT_EQ(Errno(stat(a.c_str(), &st)), ENOENT);
  ASSERT_EQ(mkdir(a.c_str(), 0755), 0);
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  ASSERT_EQ(rmdir(a.c_str()), 0);
  ASSERT_TRUE(WriteFile(a, "2"));
  EXPECT_EQ(ReadFile(a), std::optional<std::string>("2"));
}

FOLIOFS_INSTANTIATE_MOUNT_TEST(RoundTripMountTest);
FOLIOFS_INSTANTIATE_MOUNT_TEST(FullRoundTripMountTest);

}  // namespace
}  // namespace foliofs::mounttest
