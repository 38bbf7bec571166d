// Persistence of every kind of change: a deterministic random workload
// (fixed seed) of creates, writes, truncates, mkdir/rmdir, unlinks, renames of
// files and directories, symlinks, chmods and xattr changes is applied both to
// the mount and to an in-memory model; after each round the filesystem is
// unmounted, checked with fsck and mounted again, and the whole tree must
// equal the model.
#include <sys/xattr.h>

#include <map>
#include <random>

#include "tests/mount/mount_harness.h"

namespace foliofs::mounttest {
namespace {

struct Node {
  char type = 'f';      // 'f' file, 'd' directory, 'l' symlink
  std::string content;  // file data or symlink target
  mode_t mode = 0644;
  std::map<std::string, std::string> xattrs;
  bool operator==(const Node&) const = default;
};

// Everything below the mount point except lost+found, keyed by relative path.
using Tree = std::map<std::string, Node>;

std::string Describe(const std::string& path, const Node& n) {
  std::string s = path + " type=" + n.type + " mode=" + std::to_string(n.mode) +
                  " len=" + std::to_string(n.content.size()) + " xattrs=";
  for (const auto& [k, v] : n.xattrs) s += k + "(" + std::to_string(v.size()) + ") ";
  return s;
}

std::map<std::string, std::string> ReadXattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  char names[65536];
  const ssize_t n = llistxattr(path.c_str(), names, sizeof names);
  for (ssize_t i = 0; i < n;) {
    const std::string name(names + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    if (name.rfind("user.", 0) != 0) continue;
    char value[65536];
    const ssize_t len = lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    out[name] = len < 0 ? "<error>" : std::string(value, static_cast<size_t>(len));
  }
  return out;
}

void Scan(const std::string& root, const std::string& rel, Tree* tree) {
  for (const std::string& name : ListDir(root + "/" + rel)) {
    const std::string r = rel.empty() ? name : rel + "/" + name;
    if (r == "lost+found") continue;
    const std::string abs = root + "/" + r;
    const struct stat st = StatOrZero(abs);
    Node n;
    n.mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      n.type = 'd';
      n.xattrs = ReadXattrs(abs);
      (*tree)[r] = n;
      Scan(root, r, tree);
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      n.type = 'l';
      char buf[4096];
      const ssize_t len = readlink(abs.c_str(), buf, sizeof buf);
      n.content = len < 0 ? "<error>" : std::string(buf, static_cast<size_t>(len));
      n.mode = 0777;
    } else {
      n.content = ReadFile(abs).value_or("<unreadable>");
      n.xattrs = ReadXattrs(abs);
    }
    (*tree)[r] = n;
  }
}

class Workload {
 public:
  Workload(std::string root, uint32_t seed) : root_(std::move(root)), rng_(seed) {}
  const Tree& model() const { return model_; }

  // One random operation; returns a description of a failed syscall, or "".
  std::string Step() {
    switch (Pick(12)) {
      case 0: case 1: return CreateFile();
      case 2: case 3: return WriteRange();
      case 4: return Truncate();
      case 5: return MakeDir();
      case 6: return RemoveSomething();
      case 7: return RenameFile();
      case 8: return RenameDir();
      case 9: return MakeSymlink();
      case 10: return Chmod();
      default: return ChangeXattr();
    }
  }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::string Abs(const std::string& rel) const { return root_ + "/" + rel; }
  static std::string Fail(const std::string& what) { return what + ": " + strerror(errno); }

  std::vector<std::string> Paths(char type) const {
    std::vector<std::string> out;
    for (const auto& [p, n] : model_) {
      if (n.type == type) out.push_back(p);
    }
    return out;
  }
  // A directory to create in: the root ("") or an existing directory.
  std::string AnyDir() {
    auto dirs = Paths('d');
    dirs.push_back("");
    return dirs[Pick(dirs.size())];
  }
  std::string NewName(const std::string& dir, const char* prefix) {
    const std::string n = std::string(prefix) + std::to_string(counter_++);
    return dir.empty() ? n : dir + "/" + n;
  }
  bool HasChildren(const std::string& dir) const {
    auto it = model_.upper_bound(dir + "/");
    return it != model_.end() && it->first.rfind(dir + "/", 0) == 0;
  }

  std::string CreateFile() {
    const std::string p = NewName(AnyDir(), "f");
    Node n;
    n.content = Pattern(Pick(3) == 0 ? Pick(300000) : Pick(5000), 0, counter_);
    if (!WriteFile(Abs(p), n.content, O_EXCL)) return Fail("create " + p);
    model_[p] = n;
    return "";
  }
  std::string WriteRange() {
    const auto files = Paths('f');
    if (files.empty()) return CreateFile();
    const std::string p = files[Pick(files.size())];
    std::string& c = model_[p].content;
    const size_t off = Pick(c.size() + 10000);
    const std::string data = Pattern(1 + Pick(20000), off, counter_++);
    const int fd = open(Abs(p).c_str(), O_WRONLY);
    if (fd < 0) return Fail("open " + p);
    const bool ok = pwrite(fd, data.data(), data.size(), static_cast<off_t>(off)) ==
                    static_cast<ssize_t>(data.size());
    close(fd);
    if (!ok) return Fail("pwrite " + p);
    if (c.size() < off + data.size()) c.resize(off + data.size(), '\0');
    c.replace(off, data.size(), data);
    return "";
  }
  std::string Truncate() {
    const auto files = Paths('f');
    if (files.empty()) return CreateFile();
    const std::string p = files[Pick(files.size())];
    std::string& c = model_[p].content;
    const size_t size = Pick(c.size() * 2 + 100);
    if (truncate(Abs(p).c_str(), static_cast<off_t>(size)) != 0) return Fail("truncate " + p);
    c.resize(size, '\0');
    return "";
  }
  std::string MakeDir() {
    const std::string p = NewName(AnyDir(), "d");
    if (mkdir(Abs(p).c_str(), 0755) != 0) return Fail("mkdir " + p);
    Node n;
    n.type = 'd';
    n.mode = 0755;
    model_[p] = n;
    return "";
  }
  std::string RemoveSomething() {
    if (model_.empty()) return MakeDir();
    auto it = std::next(model_.begin(), static_cast<long>(Pick(model_.size())));
    const std::string p = it->first;
    if (it->second.type == 'd') {
      if (HasChildren(p)) return "";  // rmdir of a non-empty dir is tested elsewhere
      if (rmdir(Abs(p).c_str()) != 0) return Fail("rmdir " + p);
    } else if (unlink(Abs(p).c_str()) != 0) {
      return Fail("unlink " + p);
    }
    model_.erase(it);
    return "";
  }
  std::string RenameFile() {
    const auto files = Paths('f');
    if (files.empty()) return CreateFile();
    const std::string from = files[Pick(files.size())];
    // Half the time over another existing file, else to a new name.
    const std::string to = Pick(2) == 0 ? files[Pick(files.size())] : NewName(AnyDir(), "r");
    if (rename(Abs(from).c_str(), Abs(to).c_str()) != 0) return Fail("rename " + from + " " + to);
    if (from == to) return "";
    Node n = model_[from];
    model_.erase(from);
    model_[to] = n;
    return "";
  }
  std::string RenameDir() {
    const auto dirs = Paths('d');
    if (dirs.empty()) return MakeDir();
    const std::string from = dirs[Pick(dirs.size())];
    std::string parent = AnyDir();
    if (parent == from || parent.rfind(from + "/", 0) == 0) parent = "";  // not into itself
    const std::string to = NewName(parent, "m");
    if (rename(Abs(from).c_str(), Abs(to).c_str()) != 0) return Fail("rename dir " + from);
    Tree moved;
    for (auto it = model_.begin(); it != model_.end();) {
      if (it->first == from || it->first.rfind(from + "/", 0) == 0) {
        moved[to + it->first.substr(from.size())] = it->second;
        it = model_.erase(it);
      } else {
        ++it;
      }
    }
    model_.insert(moved.begin(), moved.end());
    return "";
  }
  std::string MakeSymlink() {
    const std::string p = NewName(AnyDir(), "s");
    Node n;
    n.type = 'l';
    n.mode = 0777;
    n.content = Pick(4) == 0 ? std::string(200 + Pick(3000), 't') : "target" + std::to_string(counter_);
    if (symlink(n.content.c_str(), Abs(p).c_str()) != 0) return Fail("symlink " + p);
    model_[p] = n;
    return "";
  }
  std::string Chmod() {
    if (model_.empty()) return CreateFile();
    auto it = std::next(model_.begin(), static_cast<long>(Pick(model_.size())));
    if (it->second.type == 'l') return "";
    // Owner rwx (dirs) or rw (files) always stay, so the tree remains walkable;
    // group/other bits vary.
    const mode_t base = it->second.type == 'd' ? 0700 : 0600;
    const mode_t m = base | static_cast<mode_t>(Pick(0100));
    if (chmod(Abs(it->first).c_str(), m) != 0) return Fail("chmod " + it->first);
    it->second.mode = m;
    return "";
  }
  std::string ChangeXattr() {
    if (model_.empty()) return CreateFile();
    auto it = std::next(model_.begin(), static_cast<long>(Pick(model_.size())));
    Node& n = it->second;
    if (n.type == 'l') return "";
    const std::string name = "user.k" + std::to_string(Pick(8));
    if (n.xattrs.count(name) && Pick(2) == 0) {
      if (lremovexattr(Abs(it->first).c_str(), name.c_str()) != 0) return Fail("removexattr");
      n.xattrs.erase(name);
      return "";
    }
    const std::string value = Pattern(Pick(300), 0, counter_++);
    if (lsetxattr(Abs(it->first).c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
      return Fail("setxattr " + it->first);
    }
    n.xattrs[name] = value;
    return "";
  }

  std::string root_;
  std::mt19937 rng_;
  uint32_t counter_ = 0;
  Tree model_;
};

class PersistenceMountTest : public MountTest {
 protected:
  void ExpectTreeMatches(const Tree& model, const std::string& when) {
    Tree actual;
    Scan(Mnt(), "", &actual);
    EXPECT_EQ(actual.size(), model.size()) << when;
    for (const auto& [p, n] : model) {
      auto it = actual.find(p);
      if (it == actual.end()) {
        ADD_FAILURE() << when << ": missing " << Describe(p, n);
        continue;
      }
      EXPECT_TRUE(it->second == n) << when << ":\n want " << Describe(p, n) << "\n  got "
                                   << Describe(p, it->second)
                                   << (it->second.content == n.content ? "" : " (content differs)");
    }
    for (const auto& [p, n] : actual) {
      if (!model.count(p)) ADD_FAILURE() << when << ": unexpected " << Describe(p, n);
    }
  }
};

TEST_P(PersistenceMountTest, RandomWorkloadMatchesTheModelAfterEveryRemount) {
  Workload w(Mnt(), /*seed=*/20251124);
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 250; ++i) {
      const std::string err = w.Step();
      ASSERT_EQ(err, "") << "round " << round << " step " << i;
    }
    const std::string when = "round " + std::to_string(round);
    EXPECT_GT(w.model().size(), 30u) << "the workload should build a real tree";
    ExpectTreeMatches(w.model(), when + " before remount");
    ASSERT_TRUE(Remount());
    ExpectTreeMatches(w.model(), when + " after remount");
    if (HasFailure()) break;
  }
}

}  // namespace

FOLIOFS_INSTANTIATE_MOUNT_TEST(PersistenceMountTest);

}  // namespace foliofs::mounttest
