// Timestamps through the mounted filesystem: which operations move mtime and
// ctime (of the inode and of its parent directories), and utimensat values
// with nanoseconds, before 1970 and far in the future, surviving a remount.
//
// To see a change without timing assertions, a test first sets the time to a
// fixed value in the past (utimensat), or waits for the clock to visibly move
// past a recorded ctime, and then expects "later than that".
#include <sys/stat.h>
#include <sys/xattr.h>

#include "tests/mount/mount_harness.h"

namespace foliofs::mounttest {
namespace {

bool Later(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}
bool Same(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// A time in the past that no operation in the test can produce.
constexpr timespec kPast = {1000000000, 500};

class TimestampsMountTest : public MountTest {
 protected:
  // Sets atime and mtime of `rel` to kPast.
  void SetPast(const std::string& rel) {
    const timespec t[2] = {kPast, kPast};
    ASSERT_EQ(utimensat(AT_FDCWD, P(rel).c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << rel;
  }
  // Waits until the realtime clock is past `t` by more than any timestamp
  // granularity the kernel or the daemon might use (coarse clock: a tick).
  static void WaitPast(const timespec& t) {
    for (;;) {
      timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      const timespec bound = {t.tv_sec, t.tv_nsec + 20000000};
      const timespec norm = bound.tv_nsec >= 1000000000
                                ? timespec{bound.tv_sec + 1, bound.tv_nsec - 1000000000}
                                : bound;
      if (Later(now, norm)) return;
      usleep(5000);
    }
  }
  timespec Mtime(const std::string& rel) { return StatOrZero(P(rel)).st_mtim; }
  timespec Ctime(const std::string& rel) { return StatOrZero(P(rel)).st_ctim; }
};

TEST_P(TimestampsMountTest, WriteMovesMtimeAndCtime) {
  ASSERT_TRUE(WriteFile(P("f"), "x"));
  SetPast("f");
  const timespec c0 = Ctime("f");
  WaitPast(c0);
  ASSERT_TRUE(WriteFile(P("f"), "more", O_APPEND));
  EXPECT_TRUE(Later(Mtime("f"), kPast));
  EXPECT_TRUE(Later(Ctime("f"), c0));
  const timespec m1 = Mtime("f");
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(Same(Mtime("f"), m1));
}

TEST_P(TimestampsMountTest, TruncateMovesMtimeAndCtime) {
  ASSERT_TRUE(WriteFile(P("f"), "0123456789"));
  SetPast("f");
  const timespec c0 = Ctime("f");
  WaitPast(c0);
  ASSERT_EQ(truncate(P("f").c_str(), 3), 0);
  EXPECT_TRUE(Later(Mtime("f"), kPast));
  EXPECT_TRUE(Later(Ctime("f"), c0));
  // O_TRUNC open of a non-empty file counts too.
  SetPast("f");
  const int fd = open(P("f").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_TRUE(Later(Mtime("f"), kPast));
}

TEST_P(TimestampsMountTest, ChmodChownXattrAndLinkMoveCtimeOnly) {
  ASSERT_TRUE(WriteFile(P("f"), "x"));
  SetPast("f");
  timespec c = Ctime("f");
  WaitPast(c);
  ASSERT_EQ(chmod(P("f").c_str(), 0600), 0);
  EXPECT_TRUE(Later(Ctime("f"), c));
  EXPECT_TRUE(Same(Mtime("f"), kPast));
  c = Ctime("f");
  WaitPast(c);
  ASSERT_EQ(chown(P("f").c_str(), 1000, 1000), 0);
  EXPECT_TRUE(Later(Ctime("f"), c));
  c = Ctime("f");
  WaitPast(c);
  ASSERT_EQ(setxattr(P("f").c_str(), "user.t", "v", 1, 0), 0);
  EXPECT_TRUE(Later(Ctime("f"), c));
  c = Ctime("f");
  WaitPast(c);
  ASSERT_EQ(link(P("f").c_str(), P("g").c_str()), 0);
  EXPECT_TRUE(Later(Ctime("f"), c));
  EXPECT_TRUE(Same(Mtime("f"), kPast));
  const timespec c_final = Ctime("f");
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(Same(Ctime("f"), c_final));
  EXPECT_TRUE(Same(Mtime("f"), kPast));
}

TEST_P(TimestampsMountTest, NamespaceChangesMoveTheParentsMtimeAndCtime) {
  ASSERT_EQ(mkdir(P("a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("b").c_str(), 0755), 0);
  // Each operation must move the parent's mtime off kPast.
  struct Step {
    const char* what;
    const char* parent;
    std::function<int()> op;
  };
  const std::vector<Step> steps = {
      {"create", "a", [&] { return WriteFile(P("a/f"), "x") ? 0 : -1; }},
      {"mkdir", "a", [&] { return mkdir(P("a/d").c_str(), 0755); }},
      {"symlink", "a", [&] { return symlink("t", P("a/l").c_str()); }},
      {"mknod", "a", [&] { return mkfifo(P("a/p").c_str(), 0644); }},
      {"link", "b", [&] { return link(P("a/f").c_str(), P("b/h").c_str()); }},
      {"rename-from", "a", [&] { return rename(P("a/l").c_str(), P("b/l").c_str()); }},
      {"rename-to", "a", [&] { return rename(P("b/l").c_str(), P("a/l2").c_str()); }},
      {"unlink", "a", [&] { return unlink(P("a/p").c_str()); }},
      {"rmdir", "a", [&] { return rmdir(P("a/d").c_str()); }},
  };
  for (const Step& s : steps) {
    SetPast(s.parent);
    const timespec c0 = Ctime(s.parent);
    WaitPast(c0);
    ASSERT_EQ(s.op(), 0) << s.what << ": " << strerror(errno);
    EXPECT_TRUE(Later(Mtime(s.parent), kPast)) << s.what;
    EXPECT_TRUE(Later(Ctime(s.parent), c0)) << s.what;
  }
  const timespec ma = Mtime("a");
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(Same(Mtime("a"), ma));
}

TEST_P(TimestampsMountTest, RenameMovesTheRenamedInodesCtime) {
  ASSERT_TRUE(WriteFile(P("f"), "x"));
  SetPast("f");
  const timespec c0 = Ctime("f");
  WaitPast(c0);
  ASSERT_EQ(rename(P("f").c_str(), P("g").c_str()), 0);
  EXPECT_TRUE(Later(Ctime("g"), c0));
  EXPECT_TRUE(Same(Mtime("g"), kPast));
  const timespec c1 = Ctime("g");
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(Same(Ctime("g"), c1));
}

TEST_P(TimestampsMountTest, UtimensatNanosecondsPersist) {
  ASSERT_TRUE(WriteFile(P("f"), "x"));
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  ASSERT_EQ(symlink("f", P("l").c_str()), 0);
  const timespec f_times[2] = {{1234567890, 123456789}, {1500000000, 987654321}};
  const timespec d_times[2] = {{-100000, 5}, {(1ll << 33) + 7, 999999999}};  // 1969 and 2242
  const timespec l_times[2] = {{42, 1}, {43, 2}};
  ASSERT_EQ(utimensat(AT_FDCWD, P("f").c_str(), f_times, 0), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, P("d").c_str(), d_times, 0), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, P("l").c_str(), l_times, AT_SYMLINK_NOFOLLOW), 0);
  auto check = [&] {
    const struct stat f = StatOrZero(P("f")), d = StatOrZero(P("d")), l = StatOrZero(P("l"));
    EXPECT_TRUE(Same(f.st_atim, f_times[0]));
    EXPECT_TRUE(Same(f.st_mtim, f_times[1]));
    EXPECT_TRUE(Same(d.st_atim, d_times[0]));
    EXPECT_TRUE(Same(d.st_mtim, d_times[1]));
    EXPECT_TRUE(Same(l.st_atim, l_times[0]));
    EXPECT_TRUE(Same(l.st_mtim, l_times[1]));
  };
  check();
  ASSERT_TRUE(Remount());
  check();
  // UTIME_OMIT leaves a time alone; UTIME_NOW sets it to now.
  const timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  ASSERT_EQ(utimensat(AT_FDCWD, P("f").c_str(), omit_now, 0), 0);
  EXPECT_TRUE(Same(StatOrZero(P("f")).st_atim, f_times[0]));
  EXPECT_TRUE(Later(StatOrZero(P("f")).st_mtim, f_times[1]));
  const timespec m = StatOrZero(P("f")).st_mtim;
  ASSERT_TRUE(Remount());
  EXPECT_TRUE(Same(StatOrZero(P("f")).st_atim, f_times[0]));
  EXPECT_TRUE(Same(StatOrZero(P("f")).st_mtim, m));
}

TEST_P(TimestampsMountTest, NewInodesGetCurrentTimes) {
  timespec before;
  clock_gettime(CLOCK_REALTIME, &before);
  before.tv_sec -= 2;  // slack for a coarse clock
  ASSERT_TRUE(WriteFile(P("f"), ""));
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  for (const char* n : {"f", "d"}) {
    const struct stat st = StatOrZero(P(n));
    EXPECT_TRUE(Later(st.st_mtim, before)) << n;
    EXPECT_TRUE(Later(st.st_ctim, before)) << n;
    EXPECT_TRUE(Later(st.st_atim, before)) << n;
    EXPECT_LT(st.st_mtim.tv_sec, before.tv_sec + 3600) << n;
  }
}

}  // namespace

FOLIOFS_INSTANTIATE_MOUNT_TEST(TimestampsMountTest);

}  // namespace foliofs::mounttest
