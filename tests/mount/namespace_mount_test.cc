// Namespace operations through the mounted filesystem: create, mkdir, mknod,
// symlink, link, unlink, rmdir, name rules and readdir, each with its error
// cases and a remount that proves the result persisted. (Rename has its own
// file, rename_mount_test.cc; timestamps are in timestamps_mount_test.cc.)
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include <set>

#include "tests/mount/mount_harness.h"

namespace foliofs::mounttest {
namespace {

class NamespaceMountTest : public MountTest {};

TEST_P(NamespaceMountTest, CreateExclusiveFailsOnAnyExistingName) {
  const int fd = open(P("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  EXPECT_EQ(Errno(open(P("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640)), EEXIST);
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  EXPECT_EQ(Errno(open(P("d").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640)), EEXIST);
  ASSERT_EQ(symlink("nowhere", P("dangling").c_str()), 0);
  EXPECT_EQ(Errno(open(P("dangling").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640)), EEXIST);
  // O_CREAT without O_EXCL opens the existing file and keeps its mode.
  const int again = open(P("f").c_str(), O_CREAT | O_WRONLY, 0777);
  ASSERT_GE(again, 0);
  close(again);
  auto st = Stat(P("f"));
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISREG(st->st_mode));
  EXPECT_EQ(st->st_mode & 07777, 0640u);
  EXPECT_EQ(st->st_size, 0);
  EXPECT_EQ(st->st_nlink, 1u);

  ASSERT_TRUE(Remount());
  st = Stat(P("f"));
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISREG(st->st_mode));
  EXPECT_EQ(st->st_mode & 07777, 0640u);
}

TEST_P(NamespaceMountTest, OpenErrors) {
  ASSERT_TRUE(WriteFile(P("file"), "x"));
  ASSERT_EQ(mkdir(P("dir").c_str(), 0755), 0);
  EXPECT_EQ(Errno(open(P("missing").c_str(), O_RDONLY)), ENOENT);
  EXPECT_EQ(Errno(open(P("missing/x").c_str(), O_RDONLY | O_CREAT, 0644)), ENOENT);
  EXPECT_EQ(Errno(open(P("file/x").c_str(), O_RDONLY)), ENOTDIR);
  EXPECT_EQ(Errno(open(P("file/x").c_str(), O_RDONLY | O_CREAT, 0644)), ENOTDIR);
  EXPECT_EQ(Errno(open(P("file").c_str(), O_RDONLY | O_DIRECTORY)), ENOTDIR);
  EXPECT_EQ(Errno(open(P("dir").c_str(), O_WRONLY)), EISDIR);
  EXPECT_EQ(Errno(open(P("dir").c_str(), O_RDWR)), EISDIR);
  const int fd = open(P("dir").c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
}

TEST_P(NamespaceMountTest, MkdirAndItsErrors) {
  ASSERT_EQ(mkdir(P("a").c_str(), 0750), 0);
  ASSERT_EQ(mkdir(P("a/b").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("file"), ""));
  EXPECT_EQ(Errno(mkdir(P("a").c_str(), 0755)), EEXIST);
  EXPECT_EQ(Errno(mkdir(P("file").c_str(), 0755)), EEXIST);
  EXPECT_EQ(Errno(mkdir(P("missing/x").c_str(), 0755)), ENOENT);
  EXPECT_EQ(Errno(mkdir(P("file/x").c_str(), 0755)), ENOTDIR);
  auto st = Stat(P("a"));
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISDIR(st->st_mode));
  EXPECT_EQ(st->st_mode & 07777, 0750u);
  EXPECT_EQ(ListDir(P("a")), std::vector<std::string>{"b"});

  ASSERT_TRUE(Remount());
  st = Stat(P("a/b"));
  ASSERT_TRUE(st);
  EXPECT_TRUE(S_ISDIR(st->st_mode));
  EXPECT_EQ(StatOrZero(P("a")).st_mode & 07777, 0750u);
  EXPECT_EQ(ListDir(P("a")), std::vector<std::string>{"b"});
}

TEST_P(NamespaceMountTest, RmdirAndItsErrors) {
  ASSERT_EQ(mkdir(P("full").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("full/f"), "data"));
  ASSERT_EQ(mkdir(P("full/sub").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("empty").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("file"), ""));
  EXPECT_EQ(Errno(rmdir(P("full").c_str())), ENOTEMPTY);
  EXPECT_EQ(Errno(rmdir(P("file").c_str())), ENOTDIR);
  EXPECT_EQ(Errno(rmdir(P("missing").c_str())), ENOENT);
  EXPECT_EQ(Errno(rmdir(P("file/x").c_str())), ENOTDIR);
  EXPECT_EQ(Errno(rmdir(P("empty/.").c_str())), EINVAL);
  EXPECT_EQ(rmdir(P("empty").c_str()), 0);
  EXPECT_FALSE(Stat(P("empty")));
  // A directory whose only entries were removed is empty again.
  EXPECT_EQ(unlink(P("full/f").c_str()), 0);
  EXPECT_EQ(Errno(rmdir(P("full").c_str())), ENOTEMPTY);
  EXPECT_EQ(rmdir(P("full/sub").c_str()), 0);
  EXPECT_EQ(rmdir(P("full").c_str()), 0);

  ASSERT_TRUE(Remount());
  EXPECT_FALSE(Stat(P("full")));
  EXPECT_FALSE(Stat(P("empty")));
  EXPECT_TRUE(Stat(P("file")));
}

TEST_P(NamespaceMountTest, RmdirOfOpenDirectoryLeavesItEmptyAndUnlinked) {
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  const int fd = open(P("d").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(rmdir(P("d").c_str()), 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  // No new entries in a removed directory.
  EXPECT_EQ(Errno(openat(fd, "x", O_CREAT | O_WRONLY, 0644)), ENOENT);
  close(fd);
  EXPECT_FALSE(Stat(P("d")));
}

TEST_P(NamespaceMountTest, MknodMakesFifoAndDeviceNodes) {
  ASSERT_EQ(mkfifo(P("fifo").c_str(), 0640), 0);
  ASSERT_EQ(mknod(P("null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(mknod(P("blk").c_str(), S_IFBLK | 0600, makedev(7, 200)), 0);
  ASSERT_EQ(mknod(P("sock").c_str(), S_IFSOCK | 0644, 0), 0);
  ASSERT_EQ(mknod(P("reg").c_str(), S_IFREG | 0644, 0), 0);
  EXPECT_EQ(Errno(mknod(P("fifo").c_str(), S_IFIFO | 0644, 0)), EEXIST);

  auto check = [&] {
    auto st = Stat(P("fifo"));
    ASSERT_TRUE(st);
    EXPECT_TRUE(S_ISFIFO(st->st_mode));
    EXPECT_EQ(st->st_mode & 07777, 0640u);
    st = Stat(P("null"));
    ASSERT_TRUE(st);
    EXPECT_TRUE(S_ISCHR(st->st_mode));
    EXPECT_EQ(st->st_rdev, makedev(1, 3));
    st = Stat(P("blk"));
    ASSERT_TRUE(st);
    EXPECT_TRUE(S_ISBLK(st->st_mode));
    EXPECT_EQ(major(st->st_rdev), 7u);
    EXPECT_EQ(minor(st->st_rdev), 200u);
    st = Stat(P("sock"));
    ASSERT_TRUE(st);
    EXPECT_TRUE(S_ISSOCK(st->st_mode));
    st = Stat(P("reg"));
    ASSERT_TRUE(st);
    EXPECT_TRUE(S_ISREG(st->st_mode));
    EXPECT_EQ(st->st_size, 0);
    // The char device node is /dev/null: writes vanish, reads see EOF. On a
    // nodev mount (libfuse's default) opening it is EACCES instead.
    struct statvfs sv {};
    ASSERT_EQ(statvfs(Mnt().c_str(), &sv), 0);
    const int fd = open(P("null").c_str(), O_RDWR);
    if (sv.f_flag & ST_NODEV) {
      EXPECT_EQ(Errno(fd), EACCES);
    } else {
      ASSERT_GE(fd, 0) << strerror(errno);
      EXPECT_EQ(write(fd, "abc", 3), 3);
      char c;
      EXPECT_EQ(read(fd, &c, 1), 0);
      close(fd);
    }
    // The fifo is a pipe: what goes in comes out.
    const int rw = open(P("fifo").c_str(), O_RDWR);
    ASSERT_GE(rw, 0) << strerror(errno);
    EXPECT_EQ(write(rw, "pipe", 4), 4);
    char buf[4];
    EXPECT_EQ(read(rw, buf, 4), 4);
    EXPECT_EQ(std::string(buf, 4), "pipe");
    close(rw);
  };
  check();
  ASSERT_TRUE(Remount());
  check();
  EXPECT_EQ(unlink(P("fifo").c_str()), 0);
  EXPECT_EQ(unlink(P("null").c_str()), 0);
  EXPECT_EQ(unlink(P("blk").c_str()), 0);
  EXPECT_EQ(unlink(P("sock").c_str()), 0);
}

TEST_P(NamespaceMountTest, SymlinksShortAndLongTargetsReadBackExactly) {
  const std::string long_target = "/" + std::string(3999, 'L');  // 4000 bytes
  std::string odd_target;
  for (int c = 1; c < 256; ++c) odd_target += static_cast<char>(c);
  ASSERT_EQ(symlink("short", P("s").c_str()), 0);
  ASSERT_EQ(symlink(long_target.c_str(), P("l").c_str()), 0);
  ASSERT_EQ(symlink(odd_target.c_str(), P("odd").c_str()), 0);
  ASSERT_TRUE(WriteFile(P("target"), "through the link"));
  ASSERT_EQ(symlink("target", P("rel").c_str()), 0);
  EXPECT_EQ(Errno(symlink("x", P("s").c_str())), EEXIST);
  EXPECT_EQ(Errno(symlink("x", P("missing/s").c_str())), ENOENT);
  EXPECT_EQ(Errno(symlink(std::string(4096, 'x').c_str(), P("toolong").c_str())), ENAMETOOLONG);

  auto check = [&](const std::string& name, const std::string& target) {
    std::string buf(8192, '\0');
    const ssize_t n = readlink(P(name).c_str(), buf.data(), buf.size());
    ASSERT_EQ(n, static_cast<ssize_t>(target.size())) << name << ": " << strerror(errno);
    EXPECT_EQ(buf.substr(0, static_cast<size_t>(n)), target) << name;
    auto st = Stat(P(name));
    ASSERT_TRUE(st);
    EXPECT_TRUE(S_ISLNK(st->st_mode));
    EXPECT_EQ(st->st_size, static_cast<off_t>(target.size()));
  };
  auto check_all = [&] {
    check("s", "short");
    check("l", long_target);
    check("odd", odd_target);
    EXPECT_EQ(ReadFile(P("rel")), "through the link");
    char buf[16];
    EXPECT_EQ(Errno(readlink(P("target").c_str(), buf, sizeof buf)), EINVAL);
    // A short buffer gets a truncated target, not an error.
    EXPECT_EQ(readlink(P("s").c_str(), buf, 3), 3);
    EXPECT_EQ(std::string(buf, 3), "sho");
  };
  check_all();
  ASSERT_TRUE(Remount());
  check_all();
}

TEST_P(NamespaceMountTest, SymlinkLoopsAreEloop) {
  ASSERT_EQ(symlink("b", P("a").c_str()), 0);
  ASSERT_EQ(symlink("a", P("b").c_str()), 0);
  EXPECT_EQ(Errno(open(P("a").c_str(), O_RDONLY)), ELOOP);
  EXPECT_EQ(Errno(open(P("a").c_str(), O_RDONLY | O_NOFOLLOW)), ELOOP);
  EXPECT_EQ(unlink(P("a").c_str()), 0);
  EXPECT_EQ(unlink(P("b").c_str()), 0);
}

TEST_P(NamespaceMountTest, HardLinksShareTheInodeAndCountNlink) {
  ASSERT_TRUE(WriteFile(P("a"), "shared"));
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  ASSERT_EQ(link(P("a").c_str(), P("b").c_str()), 0);
  ASSERT_EQ(link(P("a").c_str(), P("d/c").c_str()), 0);
  EXPECT_EQ(Errno(link(P("a").c_str(), P("b").c_str())), EEXIST);
  EXPECT_EQ(Errno(link(P("missing").c_str(), P("x").c_str())), ENOENT);
  EXPECT_EQ(Errno(link(P("d").c_str(), P("dirlink").c_str())), EPERM);
  EXPECT_EQ(Errno(link(P("a").c_str(), P("missing/x").c_str())), ENOENT);

  auto sa = Stat(P("a")), sb = Stat(P("b")), sc = Stat(P("d/c"));
  ASSERT_TRUE(sa && sb && sc);
  EXPECT_EQ(sa->st_ino, sb->st_ino);
  EXPECT_EQ(sa->st_ino, sc->st_ino);
  EXPECT_EQ(sa->st_nlink, 3u);
  // A write through one name is seen through the others.
  ASSERT_TRUE(WriteFile(P("b"), "changed", O_APPEND));
  EXPECT_EQ(ReadFile(P("d/c")), "sharedchanged");

  ASSERT_TRUE(Remount());
  EXPECT_EQ(StatOrZero(P("b")).st_nlink, 3u);
  EXPECT_EQ(StatOrZero(P("a")).st_ino, StatOrZero(P("d/c")).st_ino);
  ASSERT_EQ(unlink(P("a").c_str()), 0);
  EXPECT_EQ(StatOrZero(P("b")).st_nlink, 2u);
  EXPECT_EQ(ReadFile(P("d/c")), "sharedchanged");

  ASSERT_TRUE(Remount());
  EXPECT_FALSE(Stat(P("a")));
  EXPECT_EQ(StatOrZero(P("d/c")).st_nlink, 2u);
  ASSERT_EQ(unlink(P("d/c").c_str()), 0);
  EXPECT_EQ(StatOrZero(P("b")).st_nlink, 1u);
  EXPECT_EQ(ReadFile(P("b")), "sharedchanged");
}

TEST_P(NamespaceMountTest, UnlinkAndItsErrors) {
  ASSERT_TRUE(WriteFile(P("f"), "x"));
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  ASSERT_EQ(symlink("f", P("l").c_str()), 0);
  EXPECT_EQ(Errno(unlink(P("missing").c_str())), ENOENT);
  EXPECT_EQ(Errno(unlink(P("d").c_str())), EISDIR);
  EXPECT_EQ(Errno(unlink(P("f/x").c_str())), ENOTDIR);
  // Unlinking a symlink removes the link, not its target.
  EXPECT_EQ(unlink(P("l").c_str()), 0);
  EXPECT_TRUE(Stat(P("f")));
  EXPECT_EQ(unlink(P("f").c_str()), 0);
  EXPECT_EQ(Errno(unlink(P("f").c_str())), ENOENT);
  EXPECT_EQ(ListDir(Mnt()), (std::vector<std::string>{"d", "lost+found"}));

  ASSERT_TRUE(Remount());
  EXPECT_FALSE(Stat(P("f")));
  EXPECT_FALSE(Stat(P("l")));
  EXPECT_TRUE(Stat(P("d")));
}

TEST_P(NamespaceMountTest, NamesOf255BytesWorkAnd256AreTooLong) {
  const std::string n255(255, 'n');
  const std::string n256(256, 'n');
  const std::string d255(255, 'd');
  ASSERT_TRUE(WriteFile(P(n255), "max"));
  ASSERT_EQ(mkdir(P(d255).c_str(), 0755), 0);
  ASSERT_EQ(symlink(("../" + n255).c_str(), P(d255 + "/" + std::string(255, 's')).c_str()), 0);
  ASSERT_EQ(link(P(n255).c_str(), P(d255 + "/" + std::string(255, 'h')).c_str()), 0);
  ASSERT_TRUE(WriteFile(P("short"), ""));
  ASSERT_EQ(rename(P("short").c_str(), P(std::string(255, 'r')).c_str()), 0);

  EXPECT_EQ(Errno(open(P(n256).c_str(), O_CREAT | O_WRONLY, 0644)), ENAMETOOLONG);
  EXPECT_EQ(Errno(open(P(n256).c_str(), O_RDONLY)), ENAMETOOLONG);
  EXPECT_EQ(Errno(mkdir(P(n256).c_str(), 0755)), ENAMETOOLONG);
  EXPECT_EQ(Errno(symlink("x", P(n256).c_str())), ENAMETOOLONG);
  EXPECT_EQ(Errno(link(P(n255).c_str(), P(n256).c_str())), ENAMETOOLONG);
  EXPECT_EQ(Errno(rename(P(n255).c_str(), P(n256).c_str())), ENAMETOOLONG);
  EXPECT_EQ(Errno(mknod(P(n256).c_str(), S_IFIFO | 0644, 0)), ENAMETOOLONG);
  EXPECT_EQ(Errno(unlink(P(n256).c_str())), ENAMETOOLONG);
  struct stat st;
  EXPECT_EQ(Errno(lstat(P(n256).c_str(), &st)), ENAMETOOLONG);

  auto check = [&] {
    EXPECT_EQ(ReadFile(P(n255)), "max");
    EXPECT_EQ(ReadFile(P(d255 + "/" + std::string(255, 's'))), "max");
    EXPECT_EQ(ReadFile(P(d255 + "/" + std::string(255, 'h'))), "max");
    EXPECT_TRUE(Stat(P(std::string(255, 'r'))));
    const auto names = ListDir(P(d255));
    EXPECT_EQ(names, (std::vector<std::string>{std::string(255, 'h'), std::string(255, 's')}));
  };
  check();
  ASSERT_TRUE(Remount());
  check();
}

// Every byte but '/' and NUL may appear in a name; the name is stored and
// listed byte for byte (no normalization, no case folding).
TEST_P(NamespaceMountTest, NamesWithEveryByteExceptSlash) {
  std::set<std::string> names;
  for (int c = 1; c < 256; ++c) {
    if (c == '/') continue;
    names.insert(std::string("b") + static_cast<char>(c));  // one per byte value
  }
  std::string all;
  for (int c = 1; c < 256; ++c) {
    if (c != '/') all += static_cast<char>(c);
  }
  names.insert(all.substr(0, 200));
  names.insert(all.substr(200));
  names.insert("\xff\xfe\xfd");
  names.insert("..."), names.insert(".hidden"), names.insert(" "), names.insert("A"),
      names.insert("a");
  for (const auto& n : names) {
    ASSERT_TRUE(WriteFile(P(n), n)) << "byte " << static_cast<int>(static_cast<uint8_t>(n.back()));
  }
  auto check = [&] {
    const auto listed = ListDir(Mnt());
    std::set<std::string> got(listed.begin(), listed.end());
    got.erase("lost+found");
    EXPECT_EQ(got, names);
    for (const auto& n : names) EXPECT_EQ(ReadFile(P(n)), n);
  };
  check();
  ASSERT_TRUE(Remount());
  check();
  for (const auto& n : names) EXPECT_EQ(unlink(P(n).c_str()), 0);
}

// Many creates and deletes in one directory: readdir lists exactly the
// survivors, also across a remount and with new entries reusing freed space.
TEST_P(NamespaceMountTest, ReaddirIsCompleteAfterManyCreatesAndDeletes) {
  constexpr int kCount = 5000;
  ASSERT_EQ(mkdir(P("big").c_str(), 0755), 0);
  auto name = [](int i) { return "entry-" + std::to_string(i) + std::string(i % 40, 'x'); };
  for (int i = 0; i < kCount; ++i) {
    const int fd = open(P("big/" + name(i)).c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << i << ": " << strerror(errno);
    close(fd);
  }
  std::set<std::string> expect;
  for (int i = 0; i < kCount; ++i) {
    if (i % 3 == 0) {
      ASSERT_EQ(unlink(P("big/" + name(i)).c_str()), 0) << i;
    } else {
      expect.insert(name(i));
    }
  }
  auto check = [&] {
    const auto listed = ListDir(P("big"));
    EXPECT_EQ(listed.size(), expect.size());
    EXPECT_TRUE(std::set<std::string>(listed.begin(), listed.end()) == expect);
    EXPECT_EQ(Errno(rmdir(P("big").c_str())), ENOTEMPTY);
  };
  check();
  ASSERT_TRUE(Remount());
  check();
  for (int i = 0; i < kCount; i += 3) {
    const std::string n = "new-" + std::to_string(i);
    ASSERT_TRUE(WriteFile(P("big/" + n), ""));
    expect.insert(n);
  }
  check();
  ASSERT_TRUE(Remount());
  check();
  for (const auto& n : expect) ASSERT_EQ(unlink(P("big/" + n).c_str()), 0) << n;
  EXPECT_TRUE(ListDir(P("big")).empty());
  EXPECT_EQ(rmdir(P("big").c_str()), 0);
}

// readdir through one open directory handle while entries are removed still
// terminates and never returns an entry twice.
TEST_P(NamespaceMountTest, ReaddirWhileUnlinkingNeverRepeatsAnEntry) {
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(WriteFile(P("d/f" + std::to_string(i)), ""));
  DIR* dir = opendir(P("d").c_str());
  ASSERT_NE(dir, nullptr);
  std::set<std::string> seen;
  int steps = 0;
  while (dirent* e = readdir(dir)) {
    const std::string n = e->d_name;
    EXPECT_TRUE(seen.insert(n).second) << "repeated " << n;
    if (n != "." && n != "..") {
      EXPECT_EQ(unlink(P("d/" + n).c_str()), 0) << n;
    }
    ASSERT_LT(++steps, 10000);
  }
  closedir(dir);
  EXPECT_EQ(seen.size(), 502u);
  EXPECT_TRUE(ListDir(P("d")).empty());
}

TEST_P(NamespaceMountTest, DirectoryNlinkIsTwoPlusSubdirectories) {
  const nlink_t root_before = StatOrZero(Mnt()).st_nlink;
  ASSERT_EQ(mkdir(P("p").c_str(), 0755), 0);
  EXPECT_EQ(StatOrZero(Mnt()).st_nlink, root_before + 1);
  EXPECT_EQ(StatOrZero(P("p")).st_nlink, 2u);
  for (const char* s : {"p/a", "p/b", "p/c"}) ASSERT_EQ(mkdir(P(s).c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("p/file"), ""));  // files do not count
  EXPECT_EQ(StatOrZero(P("p")).st_nlink, 5u);
  ASSERT_EQ(rmdir(P("p/a").c_str()), 0);
  EXPECT_EQ(StatOrZero(P("p")).st_nlink, 4u);
  ASSERT_EQ(mkdir(P("q").c_str(), 0755), 0);
  ASSERT_EQ(rename(P("p/b").c_str(), P("q/b").c_str()), 0);
  EXPECT_EQ(StatOrZero(P("p")).st_nlink, 3u);
  EXPECT_EQ(StatOrZero(P("q")).st_nlink, 3u);

  ASSERT_TRUE(Remount());
  EXPECT_EQ(StatOrZero(P("p")).st_nlink, 3u);
  EXPECT_EQ(StatOrZero(P("q")).st_nlink, 3u);
  EXPECT_EQ(StatOrZero(P("q/b")).st_nlink, 2u);
  EXPECT_EQ(StatOrZero(Mnt()).st_nlink, root_before + 2);
}

}  // namespace

FOLIOFS_INSTANTIATE_MOUNT_TEST(NamespaceMountTest);

}  // namespace foliofs::mounttest
