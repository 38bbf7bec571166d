// rename(2) and renameat2(2) through the mounted filesystem: every
// replacement rule, the error cases, RENAME_NOREPLACE and RENAME_EXCHANGE,
// directory `..` and nlink bookkeeping, and persistence across a remount.
#include <sys/syscall.h>

#include "tests/mount/mount_harness.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

namespace foliofs::mounttest {
namespace {

class RenameMountTest : public MountTest {
 protected:
  int Rename2(const std::string& from, const std::string& to, unsigned flags) {
    return Errno(syscall(SYS_renameat2, AT_FDCWD, P(from).c_str(), AT_FDCWD, P(to).c_str(), flags));
  }
  int Rename(const std::string& from, const std::string& to) {
    return Errno(rename(P(from).c_str(), P(to).c_str()));
  }
};

TEST_P(RenameMountTest, FileOverFileReplacesAndFreesTheOldInode) {
  ASSERT_TRUE(WriteFile(P("a"), "new contents"));
  ASSERT_TRUE(WriteFile(P("b"), "old"));
  const ino_t ino_a = StatOrZero(P("a")).st_ino;
  ASSERT_EQ(Rename("a", "b"), 0);
  EXPECT_FALSE(Stat(P("a")));
  EXPECT_EQ(StatOrZero(P("b")).st_ino, ino_a);
  EXPECT_EQ(ReadFile(P("b")), "new contents");
  ASSERT_TRUE(Remount());
  EXPECT_FALSE(Stat(P("a")));
  EXPECT_EQ(ReadFile(P("b")), "new contents");
  EXPECT_EQ(StatOrZero(P("b")).st_nlink, 1u);
}

TEST_P(RenameMountTest, FileOverOpenFileKeepsTheReplacedDataReadable) {
  ASSERT_TRUE(WriteFile(P("a"), "winner"));
  ASSERT_TRUE(WriteFile(P("b"), "victim"));
  const int fd = open(P("b").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(Rename("a", "b"), 0);
  char buf[16] = {};
  EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 6);
  EXPECT_EQ(std::string(buf, 6), "victim");
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  close(fd);
  EXPECT_EQ(ReadFile(P("b")), "winner");
  ASSERT_TRUE(Remount());
  EXPECT_EQ(ReadFile(P("b")), "winner");
}

TEST_P(RenameMountTest, RenameToAHardLinkOfItselfIsANoOp) {
  ASSERT_TRUE(WriteFile(P("a"), "x"));
  ASSERT_EQ(link(P("a").c_str(), P("b").c_str()), 0);
  ASSERT_EQ(Rename("a", "b"), 0);
  EXPECT_TRUE(Stat(P("a")));
  EXPECT_TRUE(Stat(P("b")));
  EXPECT_EQ(StatOrZero(P("a")).st_nlink, 2u);
  ASSERT_EQ(Rename("a", "a"), 0);
  EXPECT_EQ(ReadFile(P("a")), "x");
}

TEST_P(RenameMountTest, DirectoryOverEmptyDirectoryReplacesIt) {
  ASSERT_EQ(mkdir(P("src").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("src/f"), "inside"));
  ASSERT_EQ(mkdir(P("dst").c_str(), 0755), 0);
  const nlink_t root_links = StatOrZero(Mnt()).st_nlink;
  ASSERT_EQ(Rename("src", "dst"), 0);
  EXPECT_FALSE(Stat(P("src")));
  EXPECT_EQ(ReadFile(P("dst/f")), "inside");
  EXPECT_EQ(StatOrZero(Mnt()).st_nlink, root_links - 1);
  ASSERT_TRUE(Remount());
  EXPECT_FALSE(Stat(P("src")));
  EXPECT_EQ(ReadFile(P("dst/f")), "inside");
  EXPECT_EQ(StatOrZero(Mnt()).st_nlink, root_links - 1);
}

TEST_P(RenameMountTest, ReplacementErrors) {
  ASSERT_EQ(mkdir(P("dir").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("full").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("full/x"), ""));
  ASSERT_EQ(mkdir(P("empty").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("file"), "f"));
  EXPECT_EQ(Rename("dir", "full"), ENOTEMPTY);
  EXPECT_EQ(Rename("file", "empty"), EISDIR);
  EXPECT_EQ(Rename("dir", "file"), ENOTDIR);
  EXPECT_EQ(Rename("missing", "x"), ENOENT);
  EXPECT_EQ(Rename("file", "missing/x"), ENOENT);
  EXPECT_EQ(Rename("file", "file/x"), ENOTDIR);
  EXPECT_EQ(Rename("file/x", "y"), ENOTDIR);
  // Nothing moved.
  EXPECT_EQ(ListDir(P("full")), std::vector<std::string>{"x"});
  EXPECT_EQ(ReadFile(P("file")), "f");
  EXPECT_TRUE(Stat(P("dir")));
  EXPECT_TRUE(Stat(P("empty")));
}

TEST_P(RenameMountTest, DirectoryIntoItsOwnSubtreeIsEinval) {
  ASSERT_EQ(mkdir(P("a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("a/b").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("a/b/c").c_str(), 0755), 0);
  EXPECT_EQ(Rename("a", "a/b/c/a"), EINVAL);
  EXPECT_EQ(Rename("a", "a/x"), EINVAL);
  EXPECT_EQ(Rename("a/b", "a/b/c/d"), EINVAL);
  // Over an existing directory inside the subtree: still EINVAL.
  EXPECT_EQ(Rename("a", "a/b/c"), EINVAL);
  EXPECT_EQ(Rename2("a", "a/b/c", RENAME_EXCHANGE), EINVAL);
  EXPECT_EQ(Rename("a/b/.", "x"), EBUSY);
  EXPECT_TRUE(Stat(P("a/b/c")));
  // The other direction is fine: moving a descendant up.
  EXPECT_EQ(Rename("a/b/c", "c"), 0);
  EXPECT_EQ(StatOrZero(P("c/..")).st_ino, StatOrZero(Mnt()).st_ino);
}

TEST_P(RenameMountTest, NoreplaceFailsOnAnExistingTargetOnly) {
  ASSERT_TRUE(WriteFile(P("a"), "a"));
  ASSERT_TRUE(WriteFile(P("b"), "b"));
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  EXPECT_EQ(Rename2("a", "b", RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(Rename2("a", "d", RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(Rename2("d", "b", RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(ReadFile(P("a")), "a");
  EXPECT_EQ(ReadFile(P("b")), "b");
  EXPECT_EQ(Rename2("a", "d/c", RENAME_NOREPLACE), 0);
  EXPECT_EQ(Rename2("a", "z", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
  ASSERT_TRUE(Remount());
  EXPECT_FALSE(Stat(P("a")));
  EXPECT_EQ(ReadFile(P("d/c")), "a");
  EXPECT_EQ(ReadFile(P("b")), "b");
}

TEST_P(RenameMountTest, ExchangeSwapsTwoFiles) {
  ASSERT_TRUE(WriteFile(P("a"), "first"));
  ASSERT_TRUE(WriteFile(P("b"), "second"));
  const ino_t ia = StatOrZero(P("a")).st_ino, ib = StatOrZero(P("b")).st_ino;
  ASSERT_EQ(Rename2("a", "b", RENAME_EXCHANGE), 0);
  EXPECT_EQ(ReadFile(P("a")), "second");
  EXPECT_EQ(ReadFile(P("b")), "first");
  EXPECT_EQ(StatOrZero(P("a")).st_ino, ib);
  EXPECT_EQ(StatOrZero(P("b")).st_ino, ia);
  EXPECT_EQ(Rename2("a", "missing", RENAME_EXCHANGE), ENOENT);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(ReadFile(P("a")), "second");
  EXPECT_EQ(ReadFile(P("b")), "first");
}

// A file in p1 and a directory in p2 trade places: the directory's `..` must
// now name p1, and the parents' link counts follow the subdirectory.
TEST_P(RenameMountTest, ExchangeFileAndDirectoryAcrossDirectoriesUpdatesDotDot) {
  ASSERT_EQ(mkdir(P("p1").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("p2").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("p1/x"), "file"));
  ASSERT_EQ(mkdir(P("p2/y").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("p2/y/inner"), "inner"));
  const ino_t p1 = StatOrZero(P("p1")).st_ino;
  ASSERT_EQ(StatOrZero(P("p1")).st_nlink, 2u);
  ASSERT_EQ(StatOrZero(P("p2")).st_nlink, 3u);

  ASSERT_EQ(Rename2("p1/x", "p2/y", RENAME_EXCHANGE), 0);
  auto check = [&] {
    EXPECT_TRUE(S_ISDIR(StatOrZero(P("p1/x")).st_mode));
    EXPECT_TRUE(S_ISREG(StatOrZero(P("p2/y")).st_mode));
    EXPECT_EQ(ReadFile(P("p2/y")), "file");
    EXPECT_EQ(ReadFile(P("p1/x/inner")), "inner");
    EXPECT_EQ(StatOrZero(P("p1/x/..")).st_ino, p1);
    EXPECT_EQ(StatOrZero(P("p1")).st_nlink, 3u);
    EXPECT_EQ(StatOrZero(P("p2")).st_nlink, 2u);
    // `..` is used, not just reported: a path through it lands in p1.
    EXPECT_TRUE(Stat(P("p1/x/../x/inner")));
    EXPECT_EQ(Errno(rmdir(P("p2").c_str())), ENOTEMPTY);
  };
  check();
  ASSERT_TRUE(Remount());
  check();
  // Exchanging back restores the original layout.
  ASSERT_EQ(Rename2("p1/x", "p2/y", RENAME_EXCHANGE), 0);
  EXPECT_EQ(ReadFile(P("p1/x")), "file");
  EXPECT_EQ(StatOrZero(P("p2/y/..")).st_ino, StatOrZero(P("p2")).st_ino);
}

TEST_P(RenameMountTest, ExchangeTwoDirectoriesAcrossParents) {
  ASSERT_EQ(mkdir(P("p1").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("p1/d1").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("p2").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("p2/q").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("p2/q/d2").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("p1/d1/m1"), "1"));
  ASSERT_TRUE(WriteFile(P("p2/q/d2/m2"), "2"));
  ASSERT_EQ(Rename2("p1/d1", "p2/q/d2", RENAME_EXCHANGE), 0);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(ReadFile(P("p1/d1/m2")), "2");
  EXPECT_EQ(ReadFile(P("p2/q/d2/m1")), "1");
  EXPECT_EQ(StatOrZero(P("p1/d1/..")).st_ino, StatOrZero(P("p1")).st_ino);
  EXPECT_EQ(StatOrZero(P("p2/q/d2/..")).st_ino, StatOrZero(P("p2/q")).st_ino);
  EXPECT_EQ(StatOrZero(P("p1")).st_nlink, 3u);
  EXPECT_EQ(StatOrZero(P("p2/q")).st_nlink, 3u);
}

TEST_P(RenameMountTest, DirectoryMoveAcrossParentsUpdatesDotDotAndNlink) {
  ASSERT_EQ(mkdir(P("from").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("to").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("from/d").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("from/d/f"), "payload"));
  ASSERT_EQ(Rename("from/d", "to/renamed"), 0);
  auto check = [&] {
    EXPECT_EQ(StatOrZero(P("from")).st_nlink, 2u);
    EXPECT_EQ(StatOrZero(P("to")).st_nlink, 3u);
    EXPECT_EQ(StatOrZero(P("to/renamed/..")).st_ino, StatOrZero(P("to")).st_ino);
    EXPECT_EQ(ReadFile(P("to/renamed/f")), "payload");
    EXPECT_TRUE(ListDir(P("from")).empty());
    EXPECT_EQ(rmdir(P("from").c_str()), 0);
    EXPECT_EQ(mkdir(P("from").c_str(), 0755), 0);
  };
  check();
  ASSERT_TRUE(Remount());
  check();
}

TEST_P(RenameMountTest, ManyRenamesWithinAndAcrossDirectoriesPersist) {
  ASSERT_EQ(mkdir(P("x").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("y").c_str(), 0755), 0);
  constexpr int kFiles = 300;
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_TRUE(WriteFile(P("x/" + std::to_string(i)), std::to_string(i)));
  }
  for (int i = 0; i < kFiles; ++i) {
    const std::string to = (i % 2 ? "y/" : "x/r") + std::to_string(i);
    ASSERT_EQ(Rename("x/" + std::to_string(i), to), 0) << i;
  }
  ASSERT_TRUE(Remount());
  EXPECT_EQ(ListDir(P("x")).size(), kFiles / 2u);
  EXPECT_EQ(ListDir(P("y")).size(), kFiles / 2u);
  for (int i = 0; i < kFiles; ++i) {
    const std::string at = (i % 2 ? "y/" : "x/r") + std::to_string(i);
    EXPECT_EQ(ReadFile(P(at)), std::to_string(i)) << at;
  }
}

}  // namespace

FOLIOFS_INSTANTIATE_MOUNT_TEST(RenameMountTest);

}  // namespace foliofs::mounttest
