// Namespace operations from many threads at once (run under TSan in CI):
// creates, unlinks, renames across directories (including directory moves
// that race with each other), mkdir/rmdir, links, lookups, readdir and file
// writes, with a watchdog for hangs; afterwards the image must be fsck-clean
// and every name must resolve.
#include <sys/stat.h>

#include <atomic>
#include <random>
#include <thread>

#include "tests/fs/fs_test_util.h"
#include "tests/support/watchdog.h"

namespace foliofs::fstest {
namespace {

using testsupport::Watchdog;

TEST(NamespaceConcurrentTest, MixedOperationsStayConsistent) {
  auto image = MakeImage(1024, 64ull << 20);
  auto fs = MountImage(image);
  ASSERT_NE(fs, nullptr);
  const uint64_t root = fs->root_ino();
  fs::Caller me{0, 0, 0};
  constexpr int kDirs = 4;
  std::vector<uint64_t> dirs;
  for (int d = 0; d < kDirs; ++d) {
    auto a = fs->Mkdir(root, "d" + std::to_string(d), 0755, me);
    ASSERT_TRUE(a.ok());
    dirs.push_back(a->ino);
  }
#if defined(__SANITIZE_THREAD__)
  constexpr int kOps = 400;
#else
  constexpr int kOps = 3000;
#endif
  std::atomic<int> unexpected{0};
  {
    Watchdog dog("namespace concurrent workers", std::chrono::seconds(240));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(1234 + t);
        auto dir = [&] { return dirs[rng() % kDirs]; };
        auto name = [&] { return "n" + std::to_string(rng() % 64); };
        for (int i = 0; i < kOps; ++i) {
          Status st;
          switch (rng() % 9) {
            case 0: case 1: {
              auto r = fs->Mknod(dir(), name(), S_IFREG | 0644, 0, me);
              st = r.status();
              if (r.ok()) fs->Forget(r->ino, 1);
              break;
            }
            case 2: st = fs->Unlink(dir(), name()); break;
            case 3: st = fs->Rename(dir(), name(), dir(), name(), 0); break;
            case 4: {
              auto r = fs->Mkdir(dir(), "sub" + std::to_string(rng() % 8), 0755, me);
              st = r.status();
              if (r.ok()) fs->Forget(r->ino, 1);
              break;
            }
            case 5: st = fs->Rmdir(dir(), "sub" + std::to_string(rng() % 8)); break;
            case 6: {
              // Directory moves between the top-level directories race with each other.
              st = fs->Rename(dir(), "sub" + std::to_string(rng() % 8), dir(),
                              "sub" + std::to_string(rng() % 8), rng() % 2 ? fs::kRenameNoReplace : 0);
              break;
            }
            case 7: {
              auto r = fs->Lookup(dir(), name());
              st = r.status();
              if (r.ok()) {
                fs->Forget(r->ino, 1);
                if (S_ISREG(r->mode)) {
                  std::vector<uint8_t> buf(3000, static_cast<uint8_t>(i));
                  st = fs->Write(r->ino, (rng() % 16) * 1000, buf).status();
                  if (st.err() == ESTALE) st = Status::Ok();
                }
              }
              break;
            }
            default: {
              st = fs->ReadDir(dir(), 0, [](const fs::DirListEntry&) { return true; });
              break;
            }
          }
          const int e = st.err();
          if (e != 0 && e != ENOENT && e != EEXIST && e != ENOTEMPTY && e != EISDIR &&
              e != ENOTDIR && e != ESTALE) {
            ADD_FAILURE() << "unexpected: " << st.ToString();
            unexpected.fetch_add(1);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  EXPECT_EQ(unexpected.load(), 0);
  // Every listed name resolves, and subdirectories' ".." point back.
  for (uint64_t d : dirs) {
    std::vector<fs::DirListEntry> entries;
    ASSERT_TRUE(fs->ReadDir(d, 2, [&](const fs::DirListEntry& e) {
      entries.push_back(e);
      return true;
    }).ok());
    for (const auto& e : entries) {
      auto a = fs->Lookup(d, e.name);
      ASSERT_TRUE(a.ok()) << e.name << ": " << a.status().ToString();
      EXPECT_EQ(a->ino, e.ino);
      if (S_ISDIR(a->mode)) {
        EXPECT_EQ(fs->Lookup(a->ino, "..")->ino, d);
      }
    }
  }
  ASSERT_TRUE(fs->Unmount().ok());
  fs.reset();
  EXPECT_EQ(VerifyImage(image), "");
}

}  // namespace
}  // namespace foliofs::fstest
