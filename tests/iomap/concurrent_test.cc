// Concurrency suite (label concurrent; the TSan configuration runs it):
// writers, zeroers (some inside a journal handle, as ext4 zeroes), punchers,
// truncaters, readers and fsyncers on the model filesystem, while the
// PageCache's flushers write back in the background, a 1 MiB cache forces
// reclaim and throttling, and one more thread writes back random ranges and
// drops the cache without the io lock — as writeback and drop_caches run in
// Linux. Operations that change the file hold the inode's io lock (i_rwsem)
// and update the expected image inside it, so every read-back and every
// reader (shared lock) can check exact bytes; the end state is checked
// through the cache, after a cache drop, and on the device. A Watchdog turns a
// hang into a failure naming the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/iomap/model_fs.h"
#include "tests/support/watchdog.h"

namespace foliofs::iomaptest {
namespace {

using testsupport::Watchdog;

#if defined(FOLIOFS_SANITIZER_THREAD)
constexpr int kOpsPerThread = 400;
#elif defined(FOLIOFS_SANITIZER_ADDRESS) || !defined(NDEBUG)
constexpr int kOpsPerThread = 1000;
#else
constexpr int kOpsPerThread = 10000;
#endif

struct Config {
  uint32_t block_size = 4096;
  uint64_t max_folio = 256 * 1024;
  uint64_t max_file = 2ull << 20;
  uint32_t inodes = 1;
  uint64_t seed = 1;
};

// One inode and its expected contents. `expected` is guarded by the inode's
// io lock: written under the exclusive lock, read under either.
struct File {
  ModelInode* inode = nullptr;
  std::vector<uint8_t> expected;
};

class StressRun {
 public:
  explicit StressRun(const Config& cfg) : cfg_(cfg) {}

  void Go() {
    ModelFsOptions o;
    o.block_size = cfg_.block_size;
    o.max_folio_size = cfg_.max_folio;
    o.data_bytes = cfg_.max_file * 2 * cfg_.inodes;
    o.inodes = cfg_.inodes;
    o.cache.cache_size = 1ull << 20;  // the minimum: far below the files
    o.cache.dirty_background_percent = 20;
    o.cache.dirty_percent = 50;
    o.cache.dirty_expire = std::chrono::milliseconds(20);
    o.cache.flush_interval = std::chrono::milliseconds(10);
    o.cache.flusher_threads = 2;
    o.cache.writeback_chunk = 256 * 1024;
    o.commit_interval = std::chrono::milliseconds(20);
    auto fs = ModelFs::Create(o);
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(*fs);
    files_.resize(cfg_.inodes);
    for (uint32_t i = 0; i < cfg_.inodes; i++) files_[i].inode = &fs_->inode(i);

    Watchdog dog("iomap concurrent workers", std::chrono::seconds(240));
    std::vector<std::thread> threads;
    uint64_t s = cfg_.seed * 1000;
    for (uint32_t i = 0; i < cfg_.inodes; i++) {
      threads.emplace_back(&StressRun::Writer, this, i, ++s);
      threads.emplace_back(&StressRun::Writer, this, i, ++s);
      threads.emplace_back(&StressRun::Zeroer, this, i, ++s);
      threads.emplace_back(&StressRun::Puncher, this, i, ++s);
      threads.emplace_back(&StressRun::Truncater, this, i, ++s);
      threads.emplace_back(&StressRun::Reader, this, i, ++s);
    }
    threads.emplace_back(&StressRun::Fsyncer, this, ++s);
    threads.emplace_back(&StressRun::WritebackDropper, this, ++s);
    for (auto& t : threads) t.join();
    dog.Done();
    ASSERT_FALSE(failed_.load()) << first_failure_;

    for (uint32_t i = 0; i < cfg_.inodes; i++) CheckEnd(files_[i]);
    const auto st = fs_->cache().stats();
    std::printf("[concurrent] %d ops/thread, %u inode(s); reclaimed %llu bytes, %llu reclaim "
                "waits, %llu overcommits, %llu throttle waits, %llu flusher passes\n",
                kOpsPerThread, cfg_.inodes, static_cast<unsigned long long>(st.reclaimed_bytes),
                static_cast<unsigned long long>(st.reclaim_waits),
                static_cast<unsigned long long>(st.overcommits),
                static_cast<unsigned long long>(st.throttle_waits),
                static_cast<unsigned long long>(st.flusher_passes));
  }

 private:
  using Rng = std::mt19937_64;

  void Failure(const std::string& msg) {
    std::lock_guard<std::mutex> lock(failure_mu_);
    if (!failed_.exchange(true)) first_failure_ = msg;
  }
  bool stop() const { return failed_.load(std::memory_order_relaxed); }

  uint64_t PickPos(Rng& rng, const File& f) {
    const uint32_t bs = cfg_.block_size;
    uint64_t p;
    switch (rng() % 4) {
      case 0: p = rng() % cfg_.max_file; break;
      case 1: p = (rng() % (cfg_.max_file / bs)) * bs + rng() % 3; break;
      case 2: p = f.expected.size() + rng() % 300; break;
      default: p = f.expected.empty() ? 0 : rng() % f.expected.size(); break;
    }
    return std::min<uint64_t>(p, cfg_.max_file - 1);
  }
  uint64_t PickLen(Rng& rng, uint64_t pos) {
    uint64_t len;
    switch (rng() % 4) {
      case 0: len = 1 + rng() % 100; break;
      case 1: len = 1 + rng() % (4 * cfg_.block_size); break;
      case 2: len = 1 + rng() % cfg_.max_folio; break;
      default: len = 1 + rng() % 20000; break;
    }
    return std::min(len, cfg_.max_file - pos);
  }

  // Caller holds the io lock (either mode). Reads [pos, pos+len) and compares
  // with the expected image; records a failure naming `who`.
  bool Check(File& f, const char* who, int op, uint64_t pos, uint64_t len) {
    std::vector<uint8_t> buf(len);
    Result<size_t> n = f.inode->ReadLocked(pos, buf);
    std::ostringstream m;
    m << who << " (inode " << f.inode->ino() << ", seed " << cfg_.seed << ", op " << op << "): ";
    if (!n.ok()) {
      Failure(m.str() + "read failed: " + n.status().ToString());
      return false;
    }
    const uint64_t want = pos >= f.expected.size() ? 0 : std::min(len, f.expected.size() - pos);
    if (*n != want) {
      m << "read of " << len << " at " << pos << " returned " << *n << ", expected " << want;
      Failure(m.str());
      return false;
    }
    for (size_t i = 0; i < want; i++) {
      if (buf[i] != f.expected[pos + i]) {
        m << "byte at " << pos + i << " is " << int(buf[i]) << ", expected "
          << int(f.expected[pos + i]) << " (size " << f.expected.size() << ")";
        Failure(m.str());
        return false;
      }
    }
    return true;
  }

  bool Ok(const Status& st, const char* who, int op) {
    if (st.ok()) return true;
    Failure(std::string(who) + " op " + std::to_string(op) + ": " + st.ToString());
    return false;
  }

  void Writer(uint32_t i, uint64_t seed) {
    Rng rng(seed);
    File& f = files_[i];
    std::vector<uint8_t> data;
    for (int op = 0; op < kOpsPerThread && !stop(); op++) {
      std::unique_lock<std::shared_mutex> lock(f.inode->io_lock());
      const uint64_t pos = PickPos(rng, f), len = PickLen(rng, pos);
      data.resize(len);
      const uint8_t v = static_cast<uint8_t>(1 + rng() % 255);
      for (size_t k = 0; k < len; k++) data[k] = static_cast<uint8_t>(v + k);
      Result<size_t> n = f.inode->WriteLocked(pos, data);
      if (!n.ok() || *n != len) {
        Failure("write failed: " + (n.ok() ? std::string("short") : n.status().ToString()));
        return;
      }
      if (pos + len > f.expected.size()) f.expected.resize(pos + len, 0);
      std::memcpy(f.expected.data() + pos, data.data(), len);
      if (!Check(f, "writer", op, pos, len)) return;
    }
  }

  void Zeroer(uint32_t i, uint64_t seed) {
    Rng rng(seed);
    File& f = files_[i];
    for (int op = 0; op < kOpsPerThread && !stop(); op++) {
      std::unique_lock<std::shared_mutex> lock(f.inode->io_lock());
      const uint64_t pos = PickPos(rng, f), len = PickLen(rng, pos);
      Status st;
      if (rng() % 2 == 0) {
        // ext4: zero range inside a journal handle (I1: must not wait for
        // writeback or flush; the concurrent fsyncer's commit waits for us).
        auto h = fs_->journal().Start(1, "concurrent-zero");
        if (!Ok(h.status(), "zeroer start", op)) return;
        st = f.inode->ZeroRangeLocked(pos, len);
        Status stop_st = (*h)->Stop();
        if (st.ok()) st = stop_st;
      } else {
        st = f.inode->ZeroRangeLocked(pos, len);
      }
      if (!Ok(st, "zeroer", op)) return;
      if (pos < f.expected.size())
        std::memset(f.expected.data() + pos, 0, std::min(len, f.expected.size() - pos));
      if (!Check(f, "zeroer", op, pos, len)) return;
    }
  }

  void Puncher(uint32_t i, uint64_t seed) {
    Rng rng(seed);
    File& f = files_[i];
    for (int op = 0; op < kOpsPerThread && !stop(); op++) {
      std::unique_lock<std::shared_mutex> lock(f.inode->io_lock());
      const uint64_t pos = PickPos(rng, f), len = PickLen(rng, pos);
      if (rng() % 4 == 0) {
        if (!Ok(f.inode->FallocateLocked(pos, len), "fallocate", op)) return;
      } else {
        if (!Ok(f.inode->PunchLocked(pos, len), "puncher", op)) return;
        if (pos < f.expected.size())
          std::memset(f.expected.data() + pos, 0, std::min(len, f.expected.size() - pos));
      }
      if (!Check(f, "puncher", op, pos, len)) return;
    }
  }

  void Truncater(uint32_t i, uint64_t seed) {
    Rng rng(seed);
    File& f = files_[i];
    for (int op = 0; op < kOpsPerThread / 2 && !stop(); op++) {
      std::unique_lock<std::shared_mutex> lock(f.inode->io_lock());
      uint64_t size = f.expected.size();
      uint64_t n = rng() % 2 == 0 && size > 0 ? rng() % (size + 1) : PickPos(rng, f);
      if (!Ok(f.inode->TruncateLocked(n), "truncater", op)) return;
      f.expected.resize(n, 0);
      const uint64_t lo = n > cfg_.max_folio ? n - cfg_.max_folio : 0;
      if (!Check(f, "truncater", op, lo, n - lo + cfg_.block_size)) return;
    }
  }

  void Reader(uint32_t i, uint64_t seed) {
    Rng rng(seed);
    File& f = files_[i];
    for (int op = 0; op < kOpsPerThread && !stop(); op++) {
      std::shared_lock<std::shared_mutex> lock(f.inode->io_lock());
      const uint64_t pos = PickPos(rng, f), len = PickLen(rng, pos);
      if (!Check(f, "reader", op, pos, len)) return;
    }
  }

  void Fsyncer(uint64_t seed) {
    Rng rng(seed);
    for (int op = 0; op < kOpsPerThread / 4 && !stop(); op++) {
      File& f = files_[rng() % files_.size()];
      const uint64_t pos = rng() % cfg_.max_file;
      const uint64_t end = rng() % 2 == 0 ? UINT64_MAX : pos + 1 + rng() % (1 << 20);
      if (!Ok(f.inode->Fsync(pos, end), "fsyncer", op)) return;
    }
  }

  void WritebackDropper(uint64_t seed) {
    Rng rng(seed);
    for (int op = 0; op < kOpsPerThread / 2 && !stop(); op++) {
      File& f = files_[rng() % files_.size()];
      if (rng() % 5 == 0) {
        fs_->DropCache();
        continue;
      }
      const uint64_t pos = rng() % cfg_.max_file;
      const uint64_t end = rng() % 3 == 0 ? UINT64_MAX : pos + 1 + rng() % (512 << 10);
      if (!Ok(f.inode->WritebackRange(pos, end, rng() % 2 == 0), "writeback", op)) return;
    }
  }

  void CheckEnd(File& f) {
    ModelInode& inode = *f.inode;
    Status fsync = inode.Fsync();
    ASSERT_TRUE(fsync.ok()) << "final fsync: " << fsync.ToString();
    {
      std::shared_lock<std::shared_mutex> lock(inode.io_lock());
      ASSERT_EQ(inode.size(), f.expected.size());
      ASSERT_TRUE(Check(f, "end: through the cache", -1, 0, f.expected.size() + 1))
          << first_failure_;
    }
    fs_->DropCache();
    {
      std::shared_lock<std::shared_mutex> lock(inode.io_lock());
      ASSERT_TRUE(Check(f, "end: after cache drop", -1, 0, f.expected.size() + 1))
          << first_failure_;
    }
    auto dev = inode.ReadDevice(0, f.expected.size());
    ASSERT_TRUE(dev.ok());
    for (size_t k = 0; k < f.expected.size(); k++)
      ASSERT_EQ((*dev)[k], f.expected[k]) << "device truth differs at " << k;
    EXPECT_EQ(inode.stats().stale_conversions.load(), 0u)
        << "writeback completed for blocks freed meanwhile";
    EXPECT_EQ(inode.stats().map_blocks_holes.load(), 0u) << "dirty data over a hole";
    EXPECT_EQ(inode.stats().end_writeback_errors.load(), 0u);
    EXPECT_LE(inode.stats().max_batch.load(), FolioBatch::kCapacity);
  }

  const Config cfg_;
  std::unique_ptr<ModelFs> fs_;
  std::vector<File> files_;
  std::atomic<bool> failed_{false};
  std::mutex failure_mu_;
  std::string first_failure_;  // GUARDED_BY(failure_mu_) until the threads are joined
};

TEST(IomapConcurrentTest, OneInodeAllOperationsWithBackgroundWritebackAndReclaim) {
  Config cfg;
  cfg.seed = 1;
  StressRun(cfg).Go();
}

TEST(IomapConcurrentTest, OneInodeWith1KiBBlocksAndSmallFolios) {
  Config cfg;
  cfg.block_size = 1024;
  cfg.max_folio = 16 * 1024;
  cfg.max_file = 1ull << 20;
  cfg.seed = 2;
  StressRun(cfg).Go();
}

TEST(IomapConcurrentTest, TwoInodesShareTheCacheAndTheJournal) {
  Config cfg;
  cfg.inodes = 2;
  cfg.max_file = 1ull << 20;
  cfg.seed = 3;
  StressRun(cfg).Go();
}

}  // namespace
}  // namespace foliofs::iomaptest
