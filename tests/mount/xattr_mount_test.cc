// Extended attributes through the mounted filesystem: set/get/list/remove of
// user.* attributes, the XATTR_CREATE/XATTR_REPLACE rules, ENODATA and
// ERANGE, values of a few KiB, many attributes spilling from the inode into
// an external block, trusted.* as root and not for others, and persistence
// across a remount.
#include <sys/xattr.h>

#include <map>
#include <set>

#include "tests/mount/mount_harness.h"

namespace foliofs::mounttest {
namespace {

std::optional<std::string> GetX(const std::string& path, const std::string& name) {
  const ssize_t len = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
  if (len < 0) return std::nullopt;
  std::string v(static_cast<size_t>(len) + 16, '\0');
  const ssize_t n = lgetxattr(path.c_str(), name.c_str(), v.data(), v.size());
  if (n < 0) return std::nullopt;
  v.resize(static_cast<size_t>(n));
  return v;
}

int SetX(const std::string& path, const std::string& name, const std::string& value,
         int flags = 0) {
  return Errno(lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), flags));
}

// Attribute names, sorted; {"<error>"} if listxattr failed.
std::vector<std::string> ListX(const std::string& path) {
  const ssize_t len = llistxattr(path.c_str(), nullptr, 0);
  if (len < 0) return {"<error>"};
  std::string buf(static_cast<size_t>(len) + 16, '\0');
  const ssize_t n = llistxattr(path.c_str(), buf.data(), buf.size());
  if (n < 0) return {"<error>"};
  std::vector<std::string> names;
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    const std::string name(buf.c_str() + i);
    names.push_back(name);
    i += name.size() + 1;
  }
  std::sort(names.begin(), names.end());
  return names;
}

// ListX without security.* / system.* names a kernel or LSM may add.
std::vector<std::string> ListUserAndTrusted(const std::string& path) {
  std::vector<std::string> out;
  for (auto& n : ListX(path)) {
    if (n.rfind("user.", 0) == 0 || n.rfind("trusted.", 0) == 0 || n == "<error>") {
      out.push_back(n);
    }
  }
  return out;
}

class XattrMountTest : public MountTest {};

TEST_P(XattrMountTest, SetGetListRemove) {
  ASSERT_TRUE(WriteFile(P("f"), "data"));
  EXPECT_EQ(ListUserAndTrusted(P("f")), std::vector<std::string>{});
  ASSERT_EQ(SetX(P("f"), "user.color", "blue"), 0);
  ASSERT_EQ(SetX(P("f"), "user.empty", ""), 0);
  ASSERT_EQ(SetX(P("f"), "user.binary", std::string("\0\x01\xff\0", 4)), 0);
  EXPECT_EQ(GetX(P("f"), "user.color"), "blue");
  EXPECT_EQ(GetX(P("f"), "user.empty"), "");
  EXPECT_EQ(GetX(P("f"), "user.binary"), std::string("\0\x01\xff\0", 4));
  EXPECT_EQ(ListUserAndTrusted(P("f")),
            (std::vector<std::string>{"user.binary", "user.color", "user.empty"}));
  // Size queries and short buffers.
  EXPECT_EQ(lgetxattr(P("f").c_str(), "user.color", nullptr, 0), 4);
  char small[2];
  EXPECT_EQ(Errno(lgetxattr(P("f").c_str(), "user.color", small, sizeof small)), ERANGE);
  EXPECT_EQ(Errno(llistxattr(P("f").c_str(), small, sizeof small)), ERANGE);
  // Overwrite with a different length.
  ASSERT_EQ(SetX(P("f"), "user.color", "a much longer shade of blue"), 0);
  EXPECT_EQ(GetX(P("f"), "user.color"), "a much longer shade of blue");
  // Missing names.
  EXPECT_EQ(Errno(lgetxattr(P("f").c_str(), "user.missing", nullptr, 0)), ENODATA);
  EXPECT_EQ(Errno(lremovexattr(P("f").c_str(), "user.missing")), ENODATA);
  ASSERT_EQ(Errno(lremovexattr(P("f").c_str(), "user.empty")), 0);
  EXPECT_EQ(Errno(lgetxattr(P("f").c_str(), "user.empty", nullptr, 0)), ENODATA);
  // The file data is untouched by all this.
  EXPECT_EQ(ReadFile(P("f")), "data");

  ASSERT_TRUE(Remount());
  EXPECT_EQ(ListUserAndTrusted(P("f")), (std::vector<std::string>{"user.binary", "user.color"}));
  EXPECT_EQ(GetX(P("f"), "user.color"), "a much longer shade of blue");
  EXPECT_EQ(GetX(P("f"), "user.binary"), std::string("\0\x01\xff\0", 4));
  EXPECT_EQ(ReadFile(P("f")), "data");
}

TEST_P(XattrMountTest, CreateAndReplaceFlags) {
  ASSERT_TRUE(WriteFile(P("f"), ""));
  EXPECT_EQ(SetX(P("f"), "user.a", "1", XATTR_REPLACE), ENODATA);
  EXPECT_EQ(SetX(P("f"), "user.a", "1", XATTR_CREATE), 0);
  EXPECT_EQ(SetX(P("f"), "user.a", "2", XATTR_CREATE), EEXIST);
  EXPECT_EQ(GetX(P("f"), "user.a"), "1");
  EXPECT_EQ(SetX(P("f"), "user.a", "3", XATTR_REPLACE), 0);
  EXPECT_EQ(GetX(P("f"), "user.a"), "3");
  ASSERT_TRUE(Remount());
  EXPECT_EQ(GetX(P("f"), "user.a"), "3");
  EXPECT_EQ(SetX(P("f"), "user.a", "5", XATTR_CREATE), EEXIST);
}

TEST_P(XattrMountTest, NameAndValueLimits) {
  ASSERT_TRUE(WriteFile(P("f"), ""));
  const std::string long_name = "user." + std::string(250, 'n');  // 255 bytes
  EXPECT_EQ(SetX(P("f"), long_name, "v"), 0);
  EXPECT_EQ(GetX(P("f"), long_name), "v");
  EXPECT_EQ(SetX(P("f"), "user." + std::string(251, 'n'), "v"), ERANGE);
  EXPECT_EQ(SetX(P("f"), "user." + std::string(300, 'n'), "v"), ERANGE);
  EXPECT_EQ(SetX(P("f"), "user.big", std::string(65537, 'v')), E2BIG);
  // Too big for the filesystem's xattr space (inode + one block) but within
  // the VFS limit: refused with ENOSPC (or E2BIG), and nothing else changes.
  const int err = SetX(P("f"), "user.huge", std::string(60000, 'h'));
  EXPECT_TRUE(err == ENOSPC || err == E2BIG) << strerror(err);
  EXPECT_EQ(Errno(lgetxattr(P("f").c_str(), "user.huge", nullptr, 0)), ENODATA);
  EXPECT_EQ(GetX(P("f"), long_name), "v");
  EXPECT_EQ(SetX(P("f"), "unknownprefix.x", "v"), EOPNOTSUPP);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(GetX(P("f"), long_name), "v");
  EXPECT_EQ(ListUserAndTrusted(P("f")), std::vector<std::string>{long_name});
}

TEST_P(XattrMountTest, ValuesOfAFewKibibytes) {
  const std::vector<size_t> sizes = {100, 1000, 2048, 3500};
  for (size_t s : sizes) {
    const std::string f = P("f" + std::to_string(s));
    ASSERT_TRUE(WriteFile(f, ""));
    ASSERT_EQ(SetX(f, "user.v", Pattern(s, 0, static_cast<uint32_t>(s))), 0) << s;
    ASSERT_EQ(SetX(f, "user.small", "s"), 0) << s;
  }
  auto check = [&] {
    for (size_t s : sizes) {
      const std::string f = P("f" + std::to_string(s));
      EXPECT_EQ(GetX(f, "user.v"), Pattern(s, 0, static_cast<uint32_t>(s))) << s;
      EXPECT_EQ(GetX(f, "user.small"), "s") << s;
    }
  };
  check();
  ASSERT_TRUE(Remount());
  check();
  // Shrinking a big value back into the inode, then removing it.
  const std::string f = P("f3500");
  ASSERT_EQ(SetX(f, "user.v", "tiny"), 0);
  EXPECT_EQ(GetX(f, "user.v"), "tiny");
  ASSERT_TRUE(Remount());
  EXPECT_EQ(GetX(f, "user.v"), "tiny");
  EXPECT_EQ(Errno(lremovexattr(f.c_str(), "user.v")), 0);
  EXPECT_EQ(ListUserAndTrusted(f), std::vector<std::string>{"user.small"});
}

// More attributes than the inode holds: they spill into an external block;
// removing them all gives the block back (st_blocks as before, fsck clean).
TEST_P(XattrMountTest, ManyAttributesSpillOutOfTheInodeAndBack) {
  ASSERT_TRUE(WriteFile(P("f"), "x"));
  const blkcnt_t blocks_before = StatOrZero(P("f")).st_blocks;
  std::map<std::string, std::string> model;
  for (int i = 0; i < 40; ++i) {
    const std::string name = "user.attr" + std::to_string(i);
    model[name] = Pattern(48, 0, static_cast<uint32_t>(i));
    ASSERT_EQ(SetX(P("f"), name, model[name]), 0) << name;
  }
  auto check = [&] {
    std::vector<std::string> names;
    for (const auto& [n, v] : model) {
      names.push_back(n);
      EXPECT_EQ(GetX(P("f"), n), v) << n;
    }
    EXPECT_EQ(ListUserAndTrusted(P("f")), names);
  };
  check();
  EXPECT_GT(StatOrZero(P("f")).st_blocks, blocks_before);
  ASSERT_TRUE(Remount());
  check();
  // Remove every other one, change some, add new ones.
  for (int i = 0; i < 40; i += 2) {
    const std::string name = "user.attr" + std::to_string(i);
    ASSERT_EQ(Errno(lremovexattr(P("f").c_str(), name.c_str())), 0) << name;
    model.erase(name);
  }
  for (int i = 1; i < 40; i += 4) {
    const std::string name = "user.attr" + std::to_string(i);
    model[name] = "changed" + std::to_string(i);
    ASSERT_EQ(SetX(P("f"), name, model[name], XATTR_REPLACE), 0) << name;
  }
  for (int i = 0; i < 5; ++i) {
    const std::string name = "user.new" + std::to_string(i);
    model[name] = Pattern(100, 0, 100u + static_cast<uint32_t>(i));
    ASSERT_EQ(SetX(P("f"), name, model[name], XATTR_CREATE), 0) << name;
  }
  check();
  ASSERT_TRUE(Remount());
  check();
  for (const auto& [n, v] : model) {
    ASSERT_EQ(Errno(lremovexattr(P("f").c_str(), n.c_str())), 0) << n;
  }
  model.clear();
  check();
  EXPECT_EQ(StatOrZero(P("f")).st_blocks, blocks_before);
  ASSERT_TRUE(Remount());
  check();
  EXPECT_EQ(StatOrZero(P("f")).st_blocks, blocks_before);
  EXPECT_EQ(ReadFile(P("f")), "x");
}

TEST_P(XattrMountTest, DirectoriesCarryUserAttributesSymlinksDoNot) {
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  ASSERT_EQ(SetX(P("d"), "user.dir", "yes"), 0);
  ASSERT_EQ(symlink("d", P("l").c_str()), 0);
  // user.* is only for regular files and directories (the VFS rule).
  EXPECT_EQ(SetX(P("l"), "user.link", "no"), EPERM);
  ASSERT_EQ(mkfifo(P("fifo").c_str(), 0644), 0);
  EXPECT_EQ(SetX(P("fifo"), "user.fifo", "no"), EPERM);
  // getxattr follows the symlink to the directory.
  char buf[8];
  EXPECT_EQ(getxattr(P("l").c_str(), "user.dir", buf, sizeof buf), 3);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(GetX(P("d"), "user.dir"), "yes");
  // Attributes go with the inode on rename and are dropped with it on rmdir.
  ASSERT_EQ(rename(P("d").c_str(), P("e").c_str()), 0);
  EXPECT_EQ(GetX(P("e"), "user.dir"), "yes");
  ASSERT_EQ(rmdir(P("e").c_str()), 0);
}

TEST_P(XattrMountTest, HardLinksShareAttributesAndUnlinkFreesThem) {
  ASSERT_TRUE(WriteFile(P("a"), ""));
  ASSERT_EQ(link(P("a").c_str(), P("b").c_str()), 0);
  ASSERT_EQ(SetX(P("a"), "user.big", std::string(3000, 'b')), 0);
  EXPECT_EQ(GetX(P("b"), "user.big"), std::string(3000, 'b'));
  ASSERT_EQ(unlink(P("a").c_str()), 0);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(GetX(P("b"), "user.big"), std::string(3000, 'b'));
  ASSERT_EQ(unlink(P("b").c_str()), 0);  // fsck in TearDown: the xattr block is free again
}

TEST_P(XattrMountTest, TrustedAttributesAreForRootOnly) {
  ASSERT_TRUE(WriteFile(P("f"), ""));
  ASSERT_EQ(chmod(P("f").c_str(), 0666), 0);
  ASSERT_EQ(SetX(P("f"), "trusted.secret", "root only"), 0);
  ASSERT_EQ(SetX(P("f"), "user.public", "anyone"), 0);
  EXPECT_EQ(GetX(P("f"), "trusted.secret"), "root only");
  EXPECT_EQ(ListUserAndTrusted(P("f")),
            (std::vector<std::string>{"trusted.secret", "user.public"}));
  const std::string f = P("f");
  // An unprivileged user can read user.* but neither read nor set trusted.*.
  EXPECT_EQ(RunAs(65534, 65534,
                  [&] {
                    char buf[64];
                    if (getxattr(f.c_str(), "user.public", buf, sizeof buf) != 6) return 1;
                    if (Errno(getxattr(f.c_str(), "trusted.secret", buf, sizeof buf)) != ENODATA)
                      return 2;
                    const char v[] = "x";
                    if (Errno(setxattr(f.c_str(), "trusted.mine", v, 1, 0)) != EPERM) return 3;
                    if (Errno(setxattr(f.c_str(), "user.mine", v, 1, 0)) != 0) return 4;
                    return 0;
                  }),
            0);
  // listxattr hides trusted.* from an unprivileged caller.
  EXPECT_EQ(RunAs(65534, 65534,
                  [&] {
                    const auto names = ListX(f);
                    return std::find(names.begin(), names.end(), "trusted.secret") == names.end()
                               ? 0
                               : 5;
                  }),
            0);
  ASSERT_TRUE(Remount());
  EXPECT_EQ(GetX(P("f"), "trusted.secret"), "root only");
  EXPECT_EQ(GetX(P("f"), "user.mine"), "x");
  EXPECT_EQ(Errno(lremovexattr(P("f").c_str(), "trusted.secret")), 0);
}

TEST_P(XattrMountTest, UserAttributesFollowFilePermissions) {
  ASSERT_TRUE(WriteFile(P("ro"), ""));
  ASSERT_EQ(SetX(P("ro"), "user.k", "v"), 0);
  ASSERT_EQ(chmod(P("ro").c_str(), 0644), 0);
  ASSERT_TRUE(WriteFile(P("private"), ""));
  ASSERT_EQ(SetX(P("private"), "user.k", "v"), 0);
  ASSERT_EQ(chmod(P("private").c_str(), 0600), 0);
  const std::string ro = P("ro"), priv = P("private");
  EXPECT_EQ(RunAs(65534, 65534,
                  [&] {
                    char buf[8];
                    if (getxattr(ro.c_str(), "user.k", buf, sizeof buf) != 1) return 1;
                    if (Errno(setxattr(ro.c_str(), "user.k", "w", 1, 0)) != EACCES) return 2;
                    if (Errno(getxattr(priv.c_str(), "user.k", buf, sizeof buf)) != EACCES)
                      return 3;
                    return 0;
                  }),
            0);
  EXPECT_EQ(GetX(P("ro"), "user.k"), "v");
}

}  // namespace

FOLIOFS_INSTANTIATE_MOUNT_TEST(XattrMountTest);

}  // namespace foliofs::mounttest
