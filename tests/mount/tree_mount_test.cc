// A real tree through the mounted filesystem: `cp -a /usr/include` onto the
// mount, compared back with `diff -r` and with a listing of types, modes,
// owners, mtimes, link targets and file sizes, before and after a remount;
// then `rm -rf` gives the space back. (The copy is the expensive part, ~15 s
// through FUSE: one copy, checked twice.)
#include <sys/statvfs.h>

#include "tests/mount/mount_harness.h"

namespace foliofs::mounttest {
namespace {

// FOLIOFS_TREE_SOURCE overrides the tree: the TSan configuration copies a
// smaller one (tools/test.sh), as the full copy takes ~15 min under TSan.
std::string SourceTree() {
  const char* env = getenv("FOLIOFS_TREE_SOURCE");
  return env != nullptr && *env != '\0' ? env : "/usr/include";
}
const std::string kSource = SourceTree();
// Where `cp -a kSource MNT/` puts it.
std::string CopyName() { return kSource.substr(kSource.find_last_of('/') + 1); }

// One line per entry: type, path, mode, owner, group, mtime (ns), link target;
// plus sizes of regular files (directory sizes differ between filesystems).
std::string Listing(const std::string& root) {
  const std::string cd = "cd " + Quote(root) + " && ";
  CommandResult all = Shell(cd + "find . -printf '%y %p %m %U %G %T@ %l\\n' | LC_ALL=C sort",
                            /*with_stderr=*/false);
  CommandResult files =
      Shell(cd + "find . -type f -printf '%p %s %n\\n' | LC_ALL=C sort", /*with_stderr=*/false);
  if (all.rc != 0 || files.rc != 0) return "<find failed>";
  return all.output + files.output;
}

uint64_t FreeBytes(const std::string& path) {
  struct statvfs sv {};
  if (statvfs(path.c_str(), &sv) != 0) return 0;
  return static_cast<uint64_t>(sv.f_bfree) * sv.f_frsize;
}

class TreeMountTest : public MountTest {
 protected:
  void ExpectSameTree(const std::string& when) {
    const std::string copy = P(CopyName());
    // One diff run: its first lines (if any) and its exit status.
    CommandResult diff = Shell("out=$(diff -r --no-dereference " + Quote(kSource) + " " +
                               Quote(copy) + " 2>&1); rc=$?; printf '%s\\n' \"$out\" | head -50; " +
                               "echo \"diff-exit=$rc\"");
    EXPECT_NE(diff.output.find("diff-exit=0"), std::string::npos) << when << ":\n" << diff.output;
    const std::string want = Listing(kSource), got = Listing(copy);
    EXPECT_EQ(want.size(), got.size()) << when;
    EXPECT_TRUE(want == got) << when << ": listings differ; first difference:\n"
                             << FirstDifference(want, got);
  }
  static std::string FirstDifference(const std::string& a, const std::string& b) {
    std::istringstream ia(a), ib(b);
    std::string la, lb;
    while (true) {
      const bool ga = static_cast<bool>(std::getline(ia, la));
      const bool gb = static_cast<bool>(std::getline(ib, lb));
      if (!ga && !gb) return "(none)";
      if (la != lb || ga != gb) return "want: " + (ga ? la : "<end>") + "\n got: " + (gb ? lb : "<end>");
    }
  }
};

TEST_P(TreeMountTest, CopyOfUsrIncludeMatchesBeforeAndAfterRemount) {
  if (access(kSource.c_str(), R_OK) != 0) GTEST_SKIP() << "no " << kSource;
  const uint64_t free_before = FreeBytes(Mnt());
  CommandResult cp = Shell("cp -a " + Quote(kSource) + " " + Quote(Mnt() + "/"));
  ASSERT_EQ(cp.rc, 0) << cp.output.substr(0, 4000);
  ExpectSameTree("right after cp -a");
  ASSERT_TRUE(Remount());
  ExpectSameTree("after remount");
  CommandResult rm = Shell("rm -rf " + Quote(P(CopyName())));
  ASSERT_EQ(rm.rc, 0) << rm.output.substr(0, 4000);
  EXPECT_EQ(ListDir(Mnt()), std::vector<std::string>{"lost+found"});
  ASSERT_TRUE(Remount());
  // All the space is back (a little slack for directory blocks kept by the root).
  EXPECT_GE(FreeBytes(Mnt()) + (1 << 20), free_before);
}

}  // namespace

FOLIOFS_INSTANTIATE_MOUNT_TEST(TreeMountTest);

}  // namespace foliofs::mounttest
