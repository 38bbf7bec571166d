// Namespace operations of fs::Filesystem on a memory device: create, lookup,
// mkdir, link, unlink, rmdir, rename (flags), symlinks, readdir, setattr,
// xattrs — each checked, persisted across unmount/mount and fsck-clean.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>
#include <set>

#include "fs/filesystem.h"
#include "tests/fs/fs_test_util.h"

namespace foliofs::fstest {
namespace {

using fs::Attr;
using fs::Caller;
using fs::Filesystem;

class NamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = MakeImage();
    fs_ = MountImage(image_);
    ASSERT_NE(fs_, nullptr);
    root_ = fs_->root_ino();
  }
  void TearDown() override {
    if (fs_) {
      EXPECT_TRUE(fs_->Unmount().ok());
    }
    fs_.reset();
    EXPECT_EQ(VerifyImage(image_), "");
  }
  void Remount() {
    ASSERT_TRUE(fs_->Unmount().ok());
    fs_.reset();
    ASSERT_EQ(VerifyImage(image_), "");
    fs_ = MountImage(image_);
    ASSERT_NE(fs_, nullptr);
  }
  std::set<std::string> List(uint64_t dir) {
    std::set<std::string> names;
    Status st = fs_->ReadDir(dir, 0, [&](const fs::DirListEntry& e) {
      names.insert(e.name);
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return names;
  }
  int Err(const Status& st) { return st.err(); }
  template <typename T>
  int Err(const Result<T>& r) { return r.err(); }

  std::shared_ptr<MemoryDevice> image_;
  std::unique_ptr<Filesystem> fs_;
  uint64_t root_ = 0;
  Caller me_{1000, 1000, 0};
};

TEST_F(NamespaceTest, RootHasLostFoundAndDots) {
  EXPECT_EQ(List(root_), (std::set<std::string>{".", "..", "lost+found"}));
  auto a = fs_->GetAttr(root_);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(S_ISDIR(a->mode));
  EXPECT_EQ(a->nlink, 3u);
}

TEST_F(NamespaceTest, CreateLookupUnlinkPersist) {
  auto f = fs_->Create(root_, "file", 0644, me_);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  fs_->Release(f->ino);
  EXPECT_EQ(f->uid, 1000u);
  EXPECT_EQ(f->mode, S_IFREG | 0644u);
  EXPECT_EQ(Err(fs_->Create(root_, "file", 0644, me_)), EEXIST);
  auto d = fs_->Mkdir(root_, "dir", 0755, me_);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(fs_->GetAttr(root_)->nlink, 4u);
  Remount();
  auto l = fs_->Lookup(root_, "file");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->ino, f->ino);
  EXPECT_EQ(Err(fs_->Lookup(root_, "nope")), ENOENT);
  EXPECT_EQ(Err(fs_->Lookup(root_, std::string(256, 'x'))), ENAMETOOLONG);
  EXPECT_EQ(Err(fs_->Unlink(root_, "dir")), EISDIR);
  EXPECT_EQ(Err(fs_->Rmdir(root_, "file")), ENOTDIR);
  ASSERT_TRUE(fs_->Unlink(root_, "file").ok());
  fs_->Forget(f->ino, 2);
  EXPECT_EQ(Err(fs_->Lookup(root_, "file")), ENOENT);
  ASSERT_TRUE(fs_->Rmdir(root_, "dir").ok());
  EXPECT_EQ(fs_->GetAttr(root_)->nlink, 3u);
  Remount();
  EXPECT_EQ(List(root_), (std::set<std::string>{".", "..", "lost+found"}));
}

TEST_F(NamespaceTest, RmdirNotEmptyAndNested) {
  auto d = fs_->Mkdir(root_, "d", 0755, me_);
  ASSERT_TRUE(d.ok());
  auto e = fs_->Mkdir(d->ino, "e", 0755, me_);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(fs_->GetAttr(d->ino)->nlink, 3u);
  EXPECT_EQ(Err(fs_->Rmdir(root_, "d")), ENOTEMPTY);
  auto dotdot = fs_->Lookup(e->ino, "..");
  ASSERT_TRUE(dotdot.ok());
  EXPECT_EQ(dotdot->ino, d->ino);
  ASSERT_TRUE(fs_->Rmdir(d->ino, "e").ok());
  ASSERT_TRUE(fs_->Rmdir(root_, "d").ok());
}

TEST_F(NamespaceTest, ManyEntriesReaddirComplete) {
  std::set<std::string> want{".", "..", "lost+found"};
  for (int i = 0; i < 3000; ++i) {
    std::string name = "entry-" + std::to_string(i) + std::string(i % 40, 'z');
    auto r = fs_->Mknod(root_, name, S_IFREG | 0600, 0, me_);
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    want.insert(name);
  }
  for (int i = 0; i < 3000; i += 3) {
    std::string name = "entry-" + std::to_string(i) + std::string(i % 40, 'z');
    ASSERT_TRUE(fs_->Unlink(root_, name).ok());
    want.erase(name);
  }
  EXPECT_EQ(List(root_), want);
  Remount();
  EXPECT_EQ(List(root_), want);
}

TEST_F(NamespaceTest, SpecialFilesKeepTypeAndDevice) {
  auto fifo = fs_->Mknod(root_, "fifo", S_IFIFO | 0600, 0, me_);
  auto sock = fs_->Mknod(root_, "sock", S_IFSOCK | 0600, 0, me_);
  auto chr = fs_->Mknod(root_, "chr", S_IFCHR | 0600, makedev(4, 64), me_);
  ASSERT_TRUE(fifo.ok() && sock.ok() && chr.ok());
  EXPECT_EQ(Err(fs_->Mknod(root_, "bad", 0170000 | 0600, 0, me_)), EINVAL);
  Remount();  // TearDown's fsck sees them too
  EXPECT_TRUE(S_ISFIFO(fs_->GetAttr(fifo->ino)->mode));
  EXPECT_TRUE(S_ISSOCK(fs_->GetAttr(sock->ino)->mode));
  EXPECT_EQ(fs_->GetAttr(chr->ino)->rdev, makedev(4, 64));
}

TEST_F(NamespaceTest, HardLinksCountAndSurvive) {
  auto f = fs_->Mknod(root_, "a", S_IFREG | 0644, 0, me_);
  ASSERT_TRUE(f.ok());
  auto l = fs_->Link(f->ino, root_, "b");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->nlink, 2u);
  EXPECT_EQ(Err(fs_->Link(root_, root_, "rootlink")), EPERM);
  ASSERT_TRUE(fs_->Unlink(root_, "a").ok());
  Remount();
  auto b = fs_->Lookup(root_, "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->nlink, 1u);
}

TEST_F(NamespaceTest, SymlinksInlineAndBlock) {
  const std::string shortt = "target/short";
  const std::string longt(3000, 'L');
  auto s = fs_->Symlink(root_, "s", shortt, me_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto l = fs_->Symlink(root_, "l", longt, me_);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(*fs_->ReadLink(s->ino), shortt);
  EXPECT_EQ(*fs_->ReadLink(l->ino), longt);
  Remount();
  EXPECT_EQ(*fs_->ReadLink(fs_->Lookup(root_, "l")->ino), longt);
  EXPECT_EQ(*fs_->ReadLink(fs_->Lookup(root_, "s")->ino), shortt);
  ASSERT_TRUE(fs_->Unlink(root_, "l").ok());
}

TEST_F(NamespaceTest, RenameCases) {
  auto a = fs_->Mkdir(root_, "a", 0755, me_);
  auto b = fs_->Mkdir(root_, "b", 0755, me_);
  ASSERT_TRUE(a.ok() && b.ok());
  auto sub = fs_->Mkdir(a->ino, "sub", 0755, me_);
  ASSERT_TRUE(sub.ok());
  auto f = fs_->Mknod(a->ino, "f", S_IFREG | 0644, 0, me_);
  auto g = fs_->Mknod(b->ino, "g", S_IFREG | 0644, 0, me_);
  ASSERT_TRUE(f.ok() && g.ok());
  EXPECT_EQ(Err(fs_->Rename(root_, "a", sub->ino, "x", 0)), EINVAL);
  EXPECT_EQ(Err(fs_->Rename(a->ino, "f", b->ino, "g", fs::kRenameNoReplace)), EEXIST);
  EXPECT_EQ(Err(fs_->Rename(a->ino, "f", b->ino, "none", fs::kRenameExchange)), ENOENT);
  EXPECT_EQ(Err(fs_->Rename(a->ino, "f", root_, "b", 0)), EISDIR);
  EXPECT_EQ(Err(fs_->Rename(root_, "b", a->ino, "f", 0)), ENOTDIR);
  EXPECT_EQ(Err(fs_->Rename(root_, "b", root_, "a", 0)), ENOTEMPTY);
  // move a directory across parents: nlinks and ".." follow
  ASSERT_TRUE(fs_->Rename(a->ino, "sub", b->ino, "sub2", 0).ok());
  EXPECT_EQ(fs_->GetAttr(a->ino)->nlink, 2u);
  EXPECT_EQ(fs_->GetAttr(b->ino)->nlink, 3u);
  EXPECT_EQ(fs_->Lookup(sub->ino, "..")->ino, b->ino);
  // replace a file
  ASSERT_TRUE(fs_->Rename(a->ino, "f", b->ino, "g", 0).ok());
  EXPECT_EQ(fs_->Lookup(b->ino, "g")->ino, f->ino);
  fs_->Forget(g->ino, 1);
  // exchange a file and a directory across parents
  ASSERT_TRUE(fs_->Rename(b->ino, "g", b->ino, "gx", 0).ok());
  auto h = fs_->Mknod(a->ino, "h", S_IFREG | 0644, 0, me_);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(fs_->Rename(a->ino, "h", b->ino, "sub2", fs::kRenameExchange).ok());
  EXPECT_EQ(fs_->Lookup(a->ino, "h")->ino, sub->ino);
  EXPECT_EQ(fs_->Lookup(b->ino, "sub2")->ino, h->ino);
  EXPECT_EQ(fs_->Lookup(sub->ino, "..")->ino, a->ino);
  EXPECT_EQ(fs_->GetAttr(a->ino)->nlink, 3u);
  EXPECT_EQ(fs_->GetAttr(b->ino)->nlink, 2u);
  Remount();
  EXPECT_EQ(List(a->ino), (std::set<std::string>{".", "..", "h"}));
  EXPECT_EQ(List(b->ino), (std::set<std::string>{".", "..", "gx", "sub2"}));
}

TEST_F(NamespaceTest, UnlinkedWhileOpenIsFreedAtRelease) {
  auto f = fs_->Create(root_, "open", 0644, me_);
  ASSERT_TRUE(f.ok());
  const uint64_t free_inodes = fs_->StatFs()->free_inodes;
  ASSERT_TRUE(fs_->Unlink(root_, "open").ok());
  fs_->Forget(f->ino, 1);
  EXPECT_TRUE(fs_->GetAttr(f->ino).ok());  // still open
  EXPECT_EQ(fs_->StatFs()->free_inodes, free_inodes);
  fs_->Release(f->ino);
  EXPECT_EQ(fs_->StatFs()->free_inodes, free_inodes + 1);
}

TEST_F(NamespaceTest, OrphanFreedAtNextMountAfterCrash) {
  auto f = fs_->Create(root_, "orphan", 0644, me_);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs_->Unlink(root_, "orphan").ok());
  ASSERT_TRUE(fs_->Sync().ok());
  // "Crash": snapshot the device as it is now, while the inode is open.
  auto crashed = MemoryDevice::FromImage(image_->Snapshot());
  ASSERT_TRUE(crashed.ok());
  std::shared_ptr<MemoryDevice> copy(std::move(*crashed));
  auto fs2 = MountImage(copy);
  ASSERT_NE(fs2, nullptr);
  EXPECT_EQ(fs2->GetAttr(f->ino).err(), ESTALE);
  ASSERT_TRUE(fs2->Unmount().ok());
  fs2.reset();
  EXPECT_EQ(VerifyImage(copy), "");
  fs_->Release(f->ino);
}

TEST_F(NamespaceTest, SetAttrModeOwnerTimes) {
  auto f = fs_->Mknod(root_, "f", S_IFREG | 04755, 0, me_);
  ASSERT_TRUE(f.ok());
  fs::SetAttrRequest r;
  r.valid = fs::SetAttrRequest::kUid | fs::SetAttrRequest::kMtime;
  r.uid = 42;
  r.mtime = {123456789, 987654321};
  auto a = fs_->SetAttr(f->ino, r);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->uid, 42u);
  EXPECT_EQ(a->mode & 07777, 0755u);  // chown cleared set-user-ID
  Remount();
  auto b = fs_->GetAttr(f->ino);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->mtime.sec, 123456789);
  EXPECT_EQ(b->mtime.nsec, 987654321u);
}

TEST_F(NamespaceTest, XattrsPersist) {
  auto f = fs_->Mknod(root_, "x", S_IFREG | 0644, 0, me_);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(fs_->SetXattr(f->ino, "user.a", "1", 0).ok());
  const std::string big(2000, 'v');
  ASSERT_TRUE(fs_->SetXattr(f->ino, "user.big", big, 0).ok());
  EXPECT_EQ(Err(fs_->SetXattr(f->ino, "user.a", "2", fs::kXattrCreate)), EEXIST);
  EXPECT_EQ(Err(fs_->GetXattr(f->ino, "user.none")), ENODATA);
  Remount();
  EXPECT_EQ(*fs_->GetXattr(f->ino, "user.big"), big);
  auto names = fs_->ListXattr(f->ino);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 2u);
  ASSERT_TRUE(fs_->RemoveXattr(f->ino, "user.big").ok());
  ASSERT_TRUE(fs_->Unlink(root_, "x").ok());
}

TEST_F(NamespaceTest, FileDataSurvivesRemountAndUnlinkFreesBlocks) {
  const uint64_t free_before = fs_->StatFs()->free_blocks;
  auto f = fs_->Create(root_, "data", 0644, me_);
  ASSERT_TRUE(f.ok());
  std::vector<uint8_t> data(3 << 20);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + (i >> 12));
  auto w = fs_->Write(f->ino, 4096 * 3 + 17, data);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(*w, data.size());
  fs_->Release(f->ino);
  Remount();
  std::vector<uint8_t> back(data.size());
  auto r = fs_->Read(f->ino, 4096 * 3 + 17, back);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, data.size());
  EXPECT_TRUE(back == data);
  EXPECT_EQ(fs_->GetAttr(f->ino)->size, 4096 * 3 + 17 + data.size());
  ASSERT_TRUE(fs_->Unlink(root_, "data").ok());
  fs_->Forget(f->ino, 1);
  Remount();
  EXPECT_EQ(fs_->StatFs()->free_blocks, free_before);
}

TEST_F(NamespaceTest, ReadOnlyMountRefusesChangesAndWritesNothing) {
  ASSERT_TRUE(fs_->Mknod(root_, "kept", S_IFREG | 0644, 0, me_).ok());
  ASSERT_TRUE(fs_->Unmount().ok());
  fs_.reset();
  const std::vector<uint8_t> before = image_->Snapshot();
  fs::MountOptions ro;
  ro.read_only = true;
  fs_ = MountImage(image_, ro);
  ASSERT_NE(fs_, nullptr);
  EXPECT_TRUE(fs_->Lookup(root_, "kept").ok());
  EXPECT_EQ(Err(fs_->Mknod(root_, "new", S_IFREG | 0644, 0, me_)), EROFS);
  EXPECT_EQ(Err(fs_->Unlink(root_, "kept")), EROFS);
  EXPECT_EQ(Err(fs_->SetXattr(root_, "user.x", "1", 0)), EROFS);
  ASSERT_TRUE(fs_->Unmount().ok());
  fs_.reset();
  EXPECT_TRUE(image_->Snapshot() == before);
}

TEST_F(NamespaceTest, DamagedSuperblockGivesClearError) {
  ASSERT_TRUE(fs_->Unmount().ok());
  fs_.reset();
  std::vector<uint8_t> img = image_->Snapshot();
  img[0] ^= 0xFF;  // the magic
  auto bad = MemoryDevice::FromImage(std::move(img));
  ASSERT_TRUE(bad.ok());
  std::shared_ptr<MemoryDevice> dev(std::move(*bad));
  auto fs = Filesystem::Mount(std::make_unique<SharedDevice>(dev), "bad-image", {});
  ASSERT_FALSE(fs.ok());
  EXPECT_EQ(fs.err(), EUCLEAN);
  EXPECT_NE(fs.status().message().find("bad-image"), std::string::npos) << fs.status().ToString();
  fs_ = MountImage(image_);  // the original is fine
}

}  // namespace
}  // namespace foliofs::fstest
