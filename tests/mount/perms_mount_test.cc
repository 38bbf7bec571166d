// Permissions and ownership through the mounted filesystem: chmod/chown
// persist, the kernel's permission checks apply to unprivileged users (run in
// forked children under uid/gid 65534 and 1000), sticky and setgid directory
// semantics, and setuid/setgid bits cleared by chown and by an unprivileged
// write.
#include <sys/stat.h>

#include "tests/mount/mount_harness.h"

namespace foliofs::mounttest {
namespace {

constexpr uid_t kNobody = 65534;
constexpr uid_t kUser = 1000;

class PermsMountTest : public MountTest {};

TEST_P(PermsMountTest, ChmodAndChownPersist) {
  ASSERT_TRUE(WriteFile(P("f"), "x"));
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  ASSERT_EQ(symlink("f", P("l").c_str()), 0);
  ASSERT_EQ(chown(P("f").c_str(), kUser, 100), 0);
  ASSERT_EQ(chmod(P("f").c_str(), 0751), 0);
  ASSERT_EQ(chown(P("d").c_str(), kNobody, kNobody), 0);
  ASSERT_EQ(chmod(P("d").c_str(), 01777), 0);
  ASSERT_EQ(lchown(P("l").c_str(), 4321, 8765), 0);
  auto check = [&] {
    struct stat f = StatOrZero(P("f")), d = StatOrZero(P("d")), l = StatOrZero(P("l"));
    EXPECT_EQ(f.st_uid, kUser);
    EXPECT_EQ(f.st_gid, 100u);
    EXPECT_EQ(f.st_mode & 07777, 0751u);
    EXPECT_TRUE(S_ISREG(f.st_mode));
    EXPECT_EQ(d.st_uid, kNobody);
    EXPECT_EQ(d.st_gid, kNobody);
    EXPECT_EQ(d.st_mode & 07777, 01777u);
    EXPECT_TRUE(S_ISDIR(d.st_mode));
    EXPECT_EQ(l.st_uid, 4321u);
    EXPECT_EQ(l.st_gid, 8765u);
    EXPECT_TRUE(S_ISLNK(l.st_mode));
  };
  check();
  ASSERT_TRUE(Remount());
  check();
  // Large ids round-trip too.
  ASSERT_EQ(chown(P("f").c_str(), 4000000000u, 3000000000u), 0);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(StatOrZero(P("f")).st_uid, 4000000000u);
  EXPECT_EQ(StatOrZero(P("f")).st_gid, 3000000000u);
}

TEST_P(PermsMountTest, ChownClearsSetuidAndSetgid) {
  ASSERT_TRUE(WriteFile(P("f"), "x"));
  ASSERT_EQ(chmod(P("f").c_str(), 06755), 0);
  EXPECT_EQ(StatOrZero(P("f")).st_mode & 07777, 06755u);
  ASSERT_EQ(chown(P("f").c_str(), kUser, kUser), 0);
  EXPECT_EQ(StatOrZero(P("f")).st_mode & 07777, 0755u);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(StatOrZero(P("f")).st_mode & 07777, 0755u);
}

TEST_P(PermsMountTest, UnprivilegedUserIsDeniedByModeBits) {
  ASSERT_EQ(mkdir(P("private").c_str(), 0700), 0);
  ASSERT_TRUE(WriteFile(P("private/secret"), "s"));
  ASSERT_EQ(mkdir(P("rootdir").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(P("rootdir/readonly"), "r"));
  ASSERT_TRUE(WriteFile(P("rootdir/noread"), "n", O_TRUNC, 0600));
  ASSERT_EQ(chmod(P("rootdir/noread").c_str(), 0600), 0);
  ASSERT_EQ(mkdir(P("noexec").c_str(), 0744), 0);
  ASSERT_TRUE(WriteFile(P("noexec/f"), "f"));
  const std::string m = Mnt();
  const int rc = RunAs(kNobody, kNobody, [&] {
    struct stat st;
    if (Errno(open((m + "/private").c_str(), O_RDONLY | O_DIRECTORY)) != EACCES) return 1;
    if (Errno(stat((m + "/private/secret").c_str(), &st)) != EACCES) return 2;
    if (Errno(open((m + "/private/new").c_str(), O_CREAT | O_WRONLY, 0644)) != EACCES) return 3;
    if (Errno(open((m + "/rootdir/new").c_str(), O_CREAT | O_WRONLY, 0644)) != EACCES) return 4;
    if (Errno(mkdir((m + "/rootdir/sub").c_str(), 0755)) != EACCES) return 5;
    if (Errno(unlink((m + "/rootdir/readonly").c_str())) != EACCES) return 6;
    if (Errno(open((m + "/rootdir/readonly").c_str(), O_WRONLY)) != EACCES) return 7;
    if (Errno(open((m + "/rootdir/noread").c_str(), O_RDONLY)) != EACCES) return 8;
    if (Errno(rename((m + "/rootdir/readonly").c_str(), (m + "/x").c_str())) != EACCES) return 9;
    // r without x on a directory: names can be listed, not looked up.
    if (Errno(stat((m + "/noexec/f").c_str(), &st)) != EACCES) return 10;
    const int fd = open((m + "/rootdir/readonly").c_str(), O_RDONLY);
    if (fd < 0) return 11;
    close(fd);
    if (stat((m + "/private").c_str(), &st) != 0) return 12;  // the dir itself is visible
    return 0;
  });
  EXPECT_EQ(rc, 0) << "first unexpected result in check #" << rc;
  // Root is not bound by mode bits (CAP_DAC_OVERRIDE).
  ASSERT_EQ(chmod(P("rootdir/readonly").c_str(), 0444), 0);
  EXPECT_TRUE(WriteFile(P("rootdir/readonly"), "root writes anyway"));
  EXPECT_EQ(ReadFile(P("private/secret")), "s");
}

TEST_P(PermsMountTest, OnlyTheOwnerMayChangeModeAndOnlyRootOwner) {
  ASSERT_TRUE(WriteFile(P("mine"), "x"));
  ASSERT_EQ(chown(P("mine").c_str(), kNobody, kNobody), 0);
  ASSERT_TRUE(WriteFile(P("roots"), "x"));
  ASSERT_EQ(chmod(P("roots").c_str(), 0666), 0);
  const std::string mine = P("mine"), roots = P("roots");
  const int rc = RunAs(kNobody, kNobody, [&] {
    if (Errno(chown(mine.c_str(), 0, static_cast<gid_t>(-1))) != EPERM) return 1;
    if (Errno(chown(mine.c_str(), kUser, static_cast<gid_t>(-1))) != EPERM) return 2;
    if (Errno(chown(mine.c_str(), static_cast<uid_t>(-1), 0)) != EPERM) return 3;  // not a member
    if (chown(mine.c_str(), kNobody, kNobody) != 0) return 4;  // no-op is allowed
    if (chmod(mine.c_str(), 0600) != 0) return 5;
    if (Errno(chmod(roots.c_str(), 0777)) != EPERM) return 6;
    if (Errno(chown(roots.c_str(), kNobody, kNobody)) != EPERM) return 7;
    // Explicit times need ownership; "now" needs only write access.
    const struct timespec t[2] = {{1000, 0}, {1000, 0}};
    if (Errno(utimensat(AT_FDCWD, roots.c_str(), t, 0)) != EPERM) return 8;
    if (utimensat(AT_FDCWD, roots.c_str(), nullptr, 0) != 0) return 9;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "first unexpected result in check #" << rc;
  ASSERT_TRUE(Remount());
  EXPECT_EQ(StatOrZero(P("mine")).st_mode & 07777, 0600u);
  EXPECT_EQ(StatOrZero(P("mine")).st_uid, kNobody);
  EXPECT_EQ(StatOrZero(P("roots")).st_mode & 07777, 0666u);
  EXPECT_EQ(StatOrZero(P("roots")).st_uid, 0u);
}

TEST_P(PermsMountTest, FilesCreatedByAUserBelongToThatUser) {
  ASSERT_EQ(mkdir(P("tmp").c_str(), 0777), 0);
  ASSERT_EQ(chmod(P("tmp").c_str(), 01777), 0);
  const std::string tmp = P("tmp");
  ASSERT_EQ(RunAs(kNobody, kNobody,
                  [&] {
                    if (!WriteFile(tmp + "/nobody-file", "n")) return 1;
                    if (mkdir((tmp + "/nobody-dir").c_str(), 0700) != 0) return 2;
                    if (symlink("x", (tmp + "/nobody-link").c_str()) != 0) return 3;
                    return 0;
                  }),
            0);
  auto check = [&] {
    for (const char* n : {"tmp/nobody-file", "tmp/nobody-dir", "tmp/nobody-link"}) {
      const struct stat st = StatOrZero(P(n));
      EXPECT_EQ(st.st_uid, kNobody) << n;
      EXPECT_EQ(st.st_gid, kNobody) << n;
    }
    EXPECT_EQ(StatOrZero(P("tmp/nobody-dir")).st_mode & 07777, 0700u);
  };
  check();
  ASSERT_TRUE(Remount());
  check();
}

// A /tmp-like directory (01777): anyone may create, only the file's owner,
// the directory's owner or root may remove or rename an entry.
TEST_P(PermsMountTest, StickyDirectoryProtectsOtherUsersEntries) {
  ASSERT_EQ(mkdir(P("tmp").c_str(), 0777), 0);
  ASSERT_EQ(chmod(P("tmp").c_str(), 01777), 0);
  const std::string tmp = P("tmp");
  ASSERT_EQ(RunAs(kNobody, kNobody, [&] { return WriteFile(tmp + "/a", "a") &&
                                                         WriteFile(tmp + "/b", "b") &&
                                                         mkdir((tmp + "/dir").c_str(), 0777) == 0
                                                     ? 0
                                                     : 1; }),
            0);
  ASSERT_EQ(chmod(P("tmp/a").c_str(), 0666), 0);  // writable by all: still protected
  ASSERT_EQ(chmod(P("tmp/dir").c_str(), 0777), 0);
  const int rc = RunAs(kUser, kUser, [&] {
    if (Errno(unlink((tmp + "/a").c_str())) != EPERM) return 1;
    if (Errno(rename((tmp + "/a").c_str(), (tmp + "/c").c_str())) != EPERM) return 2;
    if (Errno(rmdir((tmp + "/dir").c_str())) != EPERM) return 3;
    if (!WriteFile(tmp + "/mine", "m")) return 4;
    // Replacing someone else's entry by rename is an unlink of it too.
    if (Errno(rename((tmp + "/mine").c_str(), (tmp + "/b").c_str())) != EPERM) return 5;
    if (unlink((tmp + "/mine").c_str()) != 0) return 6;
    // The file itself is writable (0666); stickiness protects only the name.
    if (!WriteFile(tmp + "/a", "written by 1000")) return 7;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "first unexpected result in check #" << rc;
  EXPECT_EQ(RunAs(kNobody, kNobody,
                  [&] { return rename((tmp + "/a").c_str(), (tmp + "/a2").c_str()) == 0 ? 0 : 1; }),
            0);
  EXPECT_EQ(ReadFile(P("tmp/a2")), "written by 1000");
  EXPECT_EQ(unlink(P("tmp/b").c_str()), 0);  // root may
  ASSERT_TRUE(Remount());
  EXPECT_EQ(ListDir(P("tmp")), (std::vector<std::string>{"a2", "dir"}));
  EXPECT_EQ(StatOrZero(P("tmp")).st_mode & 07777, 01777u);
}

TEST_P(PermsMountTest, SetgidDirectoryPassesItsGroupDown) {
  ASSERT_EQ(mkdir(P("shared").c_str(), 0777), 0);
  ASSERT_EQ(chown(P("shared").c_str(), 0, 100), 0);
  ASSERT_EQ(chmod(P("shared").c_str(), 02777), 0);
  const std::string shared = P("shared");
  ASSERT_EQ(RunAs(kNobody, kNobody,
                  [&] {
                    if (!WriteFile(shared + "/f", "f")) return 1;
                    return mkdir((shared + "/sub").c_str(), 0755) == 0 ? 0 : 2;
                  }),
            0);
  auto check = [&] {
    EXPECT_EQ(StatOrZero(P("shared/f")).st_gid, 100u);
    EXPECT_EQ(StatOrZero(P("shared/f")).st_uid, kNobody);
    EXPECT_EQ(StatOrZero(P("shared/sub")).st_gid, 100u);
    EXPECT_TRUE(StatOrZero(P("shared/sub")).st_mode & S_ISGID);
  };
  check();
  ASSERT_TRUE(Remount());
  check();
}

TEST_P(PermsMountTest, UnprivilegedWriteClearsSetuid) {
  ASSERT_TRUE(WriteFile(P("suid"), "binary"));
  ASSERT_EQ(chmod(P("suid").c_str(), 04777), 0);
  const std::string f = P("suid");
  ASSERT_EQ(RunAs(kNobody, kNobody, [&] { return WriteFile(f, "!", O_APPEND) ? 0 : 1; }), 0);
  EXPECT_EQ(StatOrZero(P("suid")).st_mode & 07777, 0777u);
  EXPECT_EQ(ReadFile(P("suid")), "binary!");
  ASSERT_TRUE(Remount());
  EXPECT_EQ(StatOrZero(P("suid")).st_mode & 07777, 0777u);
}

TEST_P(PermsMountTest, AccessReflectsModeBits) {
  ASSERT_TRUE(WriteFile(P("r"), "x"));
  ASSERT_EQ(chmod(P("r").c_str(), 0604), 0);
  ASSERT_TRUE(WriteFile(P("x"), "x"));
  ASSERT_EQ(chmod(P("x").c_str(), 0755), 0);
  const std::string r = P("r"), x = P("x");
  const int rc = RunAs(kNobody, kNobody, [&] {
    if (access(r.c_str(), R_OK) != 0) return 1;
    if (Errno(access(r.c_str(), W_OK)) != EACCES) return 2;
    if (Errno(access(r.c_str(), X_OK)) != EACCES) return 3;
    if (access(x.c_str(), R_OK | X_OK) != 0) return 4;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "first unexpected result in check #" << rc;
}

}  // namespace

FOLIOFS_INSTANTIATE_MOUNT_TEST(PermsMountTest);

}  // namespace foliofs::mounttest
