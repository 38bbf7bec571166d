// Model-based tests of fs/iomap over the model filesystem: millions of random
// operations (write, read, zero range, punch, fallocate, truncate up and down,
// writeback of random ranges, fsync, cache drops, reclaim under a small cache)
// checked against a flat byte vector, with offsets and lengths biased to block
// and folio edges. Every op is followed by a read-back of what it touched; the
// whole file is compared every 100 ops; each run ends with full writeback, a
// cache drop, a whole-file compare and a compare of the device truth.
//
// Seeds are fixed; a failure prints the seed, the op index, the last ops and
// the first differing bytes, which is enough to replay it.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/iomap/model_fs.h"

namespace foliofs::iomaptest {
namespace {

// Ops per seed. The normal (optimized) build runs 2 million in total; debug
// and ASan builds a tenth/twentieth. TSan instruments every byte the model
// compares (≈3 ms of CPU per op here), and this suite is single-threaded
// apart from the flushers — the concurrent suite is TSan's real target — so
// it runs a hundredth there. FOLIOFS_MODEL_OPS overrides.
#if defined(FOLIOFS_SANITIZER_THREAD)
constexpr uint64_t kDefaultOpsPerSeed = 2'500;
#elif defined(FOLIOFS_SANITIZER_ADDRESS)
constexpr uint64_t kDefaultOpsPerSeed = 12'500;
#elif !defined(NDEBUG)
constexpr uint64_t kDefaultOpsPerSeed = 25'000;
#else
constexpr uint64_t kDefaultOpsPerSeed = 250'000;
#endif

uint64_t OpsPerSeed() {
  if (const char* env = std::getenv("FOLIOFS_MODEL_OPS")) return std::strtoull(env, nullptr, 10);
  return kDefaultOpsPerSeed;
}

uint64_t g_total_ops = 0;  // across the binary, printed at the end

class OpCountReporter : public ::testing::Environment {
 public:
  void TearDown() override {
    std::printf("[model] total operations across all seeds: %" PRIu64 "\n", g_total_ops);
  }
};
const auto* const kReporter = ::testing::AddGlobalTestEnvironment(new OpCountReporter);

struct Config {
  uint32_t block_size = 4096;
  uint64_t max_folio = 256 * 1024;
  uint64_t max_file = 2ull << 20;   // positions used: [0, max_file)
  uint64_t cache_size = 64ull << 20;
  bool reclaim = false;             // small cache: throttling, background flushers
};

enum class OpKind : uint8_t {
  kWrite,
  kRead,
  kZero,
  kPunch,
  kFallocate,
  kTruncate,
  kWriteback,
  kFsync,
  kDropCache,
};

const char* OpName(OpKind k) {
  switch (k) {
    case OpKind::kWrite: return "write";
    case OpKind::kRead: return "read";
    case OpKind::kZero: return "zero";
    case OpKind::kPunch: return "punch";
    case OpKind::kFallocate: return "fallocate";
    case OpKind::kTruncate: return "truncate";
    case OpKind::kWriteback: return "writeback";
    case OpKind::kFsync: return "fsync";
    case OpKind::kDropCache: return "dropcache";
  }
  return "?";
}

struct OpRecord {
  uint64_t index = 0;
  OpKind kind = OpKind::kRead;
  uint64_t pos = 0, len = 0, arg = 0;  // arg: sync flag, data seed, new size...
  uint64_t size_after = 0;
};

class ModelRun {
 public:
  ModelRun(const Config& cfg, uint64_t seed) : cfg_(cfg), seed_(seed), rng_(seed) {}

  // Runs `ops` random operations; false (with a gtest failure) on the first
  // mismatch or error.
  bool Run(uint64_t ops) {
    ModelFsOptions o;
    o.block_size = cfg_.block_size;
    o.max_folio_size = cfg_.max_folio;
    o.data_bytes = RoundUpTo(cfg_.max_file * 2, cfg_.block_size);
    if (cfg_.reclaim) {
      // A cache a fraction of the file: creating folios reclaims clean ones,
      // dirtying throttles, the flushers write back behind the test's back.
      o.cache.cache_size = cfg_.cache_size;
      o.cache.dirty_background_percent = 30;
      o.cache.dirty_percent = 60;
      o.cache.dirty_expire = std::chrono::milliseconds(200);
      o.cache.flush_interval = std::chrono::milliseconds(50);
      o.cache.flusher_threads = 1;
    } else {
      o.cache = QuietCacheOptions(cfg_.cache_size);
    }
    auto fs = ModelFs::Create(o);
    if (!fs.ok()) {
      ADD_FAILURE() << "ModelFs::Create: " << fs.status().ToString();
      return false;
    }
    fs_ = std::move(*fs);
    inode_ = &fs_->inode(0);

    for (uint64_t i = 0; i < ops; i++) {
      index_ = i;
      ops_done_ = i + 1;
      if (!Step()) return false;
      if (i % 100 == 99 && !CheckWholeFile("periodic whole-file check")) return false;
    }
    g_total_ops += ops;
    return Finish();
  }

  std::string Summary() const {
    std::ostringstream s;
    s << "seed " << seed_ << ": " << ops_done_ << " ops";
    for (size_t k = 0; k < counts_.size(); k++)
      s << ", " << OpName(static_cast<OpKind>(k)) << " " << counts_[k];
    const auto& st = inode_->stats();
    s << "; begins " << st.begins.load() << ", zero begins " << st.zero_begins.load()
      << ", batched folios " << st.batched_folios.load() << ", max batch "
      << st.max_batch.load() << ", trims " << st.batch_trims.load() << ", converted blocks "
      << st.converted_blocks.load() << ", reclaimed bytes "
      << fs_->cache().stats().reclaimed_bytes << ", overcommits "
      << fs_->cache().stats().overcommits << ", flusher passes "
      << fs_->cache().stats().flusher_passes;
    return s.str();
  }

 private:
  static uint64_t RoundUpTo(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

  // A position biased to block and folio edges (±a few bytes), or uniform.
  uint64_t PickPos(uint64_t limit) {
    const uint32_t bs = cfg_.block_size;
    uint64_t p;
    switch (rng_() % 6) {
      case 0:
      case 1:
        p = rng_() % limit;
        break;
      case 2:  // a block edge, maybe off by a little
        p = (rng_() % (limit / bs + 1)) * bs + Jitter();
        break;
      case 3: {  // a folio-size edge (16K .. max folio)
        const uint64_t unit = uint64_t{16384} << (rng_() % 5);
        p = (rng_() % (limit / unit + 1)) * unit + Jitter();
        break;
      }
      case 4:  // near EOF
        p = expected_.size() + Jitter();
        break;
      default:  // inside the current file
        p = expected_.empty() ? 0 : rng_() % expected_.size();
        break;
    }
    return std::min<uint64_t>(p, limit - 1);
  }

  int64_t Jitter() {
    switch (rng_() % 4) {
      case 0: return 0;
      case 1: return static_cast<int64_t>(rng_() % 3);
      case 2: return -static_cast<int64_t>(rng_() % 3);
      default: return static_cast<int64_t>(rng_() % 200) - 100;
    }
  }

  uint64_t PickLen(uint64_t pos) {
    const uint32_t bs = cfg_.block_size;
    uint64_t len;
    switch (rng_() % 8) {
      case 0: len = 1 + rng_() % 16; break;
      case 1: len = bs + Jitter(); break;
      case 2: len = 1 + rng_() % (4 * bs); break;
      case 3: len = (1 + rng_() % 8) * bs + Jitter(); break;
      case 4: len = 1 + rng_() % 65536; break;
      case 5: len = (uint64_t{16384} << (rng_() % 5)) + Jitter(); break;  // folio sized
      case 6: len = 1 + rng_() % (cfg_.max_folio * 2); break;
      default: len = 1 + rng_() % 8192; break;
    }
    len = std::max<uint64_t>(len, 1);
    return std::min<uint64_t>(len, cfg_.max_file - pos);
  }

  void Record(OpKind k, uint64_t pos, uint64_t len, uint64_t arg) {
    OpRecord& r = history_[history_next_++ % history_.size()];
    r = OpRecord{index_, k, pos, len, arg, 0};
    last_ = &r;
    counts_[static_cast<size_t>(k)]++;
  }

  std::string History() const {
    std::ostringstream s;
    const size_t n = std::min(history_next_, history_.size());
    for (size_t i = history_next_ - n; i < history_next_; i++) {
      const OpRecord& r = history_[i % history_.size()];
      s << "    #" << r.index << " " << OpName(r.kind) << " pos=" << r.pos << " len=" << r.len
        << " arg=" << r.arg << " -> size " << r.size_after << "\n";
    }
    return s.str();
  }

  static std::string Hex(const uint8_t* p, size_t n) {
    std::string s;
    char b[4];
    for (size_t i = 0; i < n; i++) {
      std::snprintf(b, sizeof b, "%02x", p[i]);
      s += b;
      if (i + 1 < n) s += ' ';
    }
    return s;
  }

  bool Fail(const std::string& what) {
    ADD_FAILURE() << "model mismatch: " << what << "\n  block size " << cfg_.block_size
                  << ", max folio " << cfg_.max_folio << ", cache " << cfg_.cache_size
                  << (cfg_.reclaim ? " (reclaim)" : "") << "\n  seed " << seed_ << ", op index "
                  << index_ << ", expected size " << expected_.size() << ", inode size "
                  << inode_->size() << "\n  last ops (oldest first):\n"
                  << History();
    return false;
  }

  bool CheckStatus(const Status& st, const char* what) {
    if (st.ok()) return true;
    return Fail(std::string(what) + " failed: " + st.ToString());
  }

  // Compares `actual` (bytes of the file at `pos`) with the model.
  bool Compare(const char* what, uint64_t pos, const uint8_t* actual, size_t n) {
    if (n == 0) return true;  // an empty file has no data() to compare against
    const uint8_t* want = expected_.data() + pos;
    if (std::memcmp(want, actual, n) == 0) return true;
    size_t i = 0;
    while (want[i] == actual[i]) i++;
    const size_t lo = i >= 8 ? i - 8 : 0;
    const size_t hi = std::min(n, i + 24);
    std::ostringstream s;
    s << what << ": first difference at file offset " << pos + i << " (block "
      << (pos + i) / cfg_.block_size << ", +" << (pos + i) % cfg_.block_size << ")"
      << "\n  bytes from offset " << pos + lo << ":\n  expected " << Hex(want + lo, hi - lo)
      << "\n  actual   " << Hex(actual + lo, hi - lo);
    return Fail(s.str());
  }

  // Reads [pos, pos+len) through the cache and compares, including the
  // length clipped at EOF.
  bool CheckRange(const char* what, uint64_t pos, uint64_t len, bool readahead = true) {
    buf_.resize(len);
    Result<size_t> n = inode_->Read(pos, std::span<uint8_t>(buf_.data(), len), readahead);
    if (!n.ok()) return Fail(std::string(what) + ": read failed: " + n.status().ToString());
    const uint64_t want = pos >= expected_.size() ? 0 : std::min(len, expected_.size() - pos);
    if (*n != want) {
      return Fail(std::string(what) + ": read of " + std::to_string(len) + " at " +
                  std::to_string(pos) + " returned " + std::to_string(*n) + " bytes, expected " +
                  std::to_string(want));
    }
    return Compare(what, pos, buf_.data(), want);
  }

  bool CheckTouched(uint64_t pos, uint64_t len) {
    // The op's range plus a little on each side: neighbours must be intact.
    const uint64_t lo = pos >= 64 ? pos - 64 : 0;
    return CheckRange("read-back after the op", lo, len + (pos - lo) + 64);
  }

  bool CheckWholeFile(const char* what) {
    if (inode_->size() != expected_.size()) {
      return Fail(std::string(what) + ": size " + std::to_string(inode_->size()) +
                  ", expected " + std::to_string(expected_.size()));
    }
    return CheckRange(what, 0, expected_.size() + 1, /*readahead=*/true);
  }

  bool CheckDevice(const char* what, uint64_t start, uint64_t end) {
    end = std::min<uint64_t>(end, expected_.size());
    if (start >= end) return true;
    Result<std::vector<uint8_t>> dev = inode_->ReadDevice(start, end - start);
    if (!dev.ok()) return Fail(std::string(what) + ": ReadDevice: " + dev.status().ToString());
    if (std::memcmp(dev->data(), expected_.data() + start, dev->size()) == 0) return true;
    // Say what the extent map and the cache hold for the first bad block.
    size_t i = 0;
    while ((*dev)[i] == expected_[start + i]) i++;
    const uint64_t fblk = (start + i) / cfg_.block_size;
    const BlockExtent e = inode_->ExtentAt(fblk);
    std::ostringstream s;
    s << what << " [block " << fblk << ": " << BlockStateName(e.state) << " pblk " << e.pblk;
    if (FolioRef f = inode_->page_mapping().Lookup(fblk * cfg_.block_size)) {
      s << "; folio pos " << f->pos() << " size " << f->size() << (f->dirty() ? " dirty" : " clean")
        << (f->writeback() ? " writeback" : "") << (f->uptodate() ? " uptodate" : "")
        << (f->IsLocked() ? " locked" : "");
    } else {
      s << "; not cached";
    }
    s << "; stale conversions " << inode_->stats().stale_conversions.load() << ", holes mapped "
      << inode_->stats().map_blocks_holes.load() << "]";
    return Compare(s.str().c_str(), start, dev->data(), dev->size());
  }

  void FillData(std::vector<uint8_t>& data, uint64_t seed) {
    uint64_t x = seed | 1;
    for (size_t i = 0; i < data.size(); i++) {
      if (i % 8 == 0) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
      }
      data[i] = static_cast<uint8_t>(x >> ((i % 8) * 8));
    }
  }

  bool Step() {
    const uint32_t r = static_cast<uint32_t>(rng_() % 100);
    if (r < 30) return DoWrite();
    if (r < 45) return DoRead();
    if (r < 55) return DoZero();
    if (r < 62) return DoPunch();
    if (r < 66) return DoFallocate();
    if (r < 74) return DoTruncate();
    if (r < 84) return DoWriteback();
    if (r < 88) return DoFsync();
    if (r < 92) return DoDropCache();
    return DoRead();
  }

  bool DoWrite() {
    const uint64_t pos = PickPos(cfg_.max_file);
    const uint64_t len = PickLen(pos);
    const uint64_t dseed = rng_();
    Record(OpKind::kWrite, pos, len, dseed);
    data_.resize(len);
    FillData(data_, dseed);
    Result<size_t> n = inode_->Write(pos, data_);
    if (!n.ok()) return Fail("write failed: " + n.status().ToString());
    if (*n != len) return Fail("short write: " + std::to_string(*n));
    if (pos + len > expected_.size()) expected_.resize(pos + len, 0);
    std::memcpy(expected_.data() + pos, data_.data(), len);
    last_->size_after = expected_.size();
    return CheckTouched(pos, len);
  }

  bool DoRead() {
    const uint64_t pos = PickPos(cfg_.max_file);
    const uint64_t len = PickLen(pos);
    const bool ra = rng_() % 4 != 0;
    Record(OpKind::kRead, pos, len, ra);
    last_->size_after = expected_.size();
    return CheckRange("read", pos, len, ra);
  }

  bool DoZero() {
    const uint64_t pos = PickPos(cfg_.max_file);
    const uint64_t len = PickLen(pos);
    Record(OpKind::kZero, pos, len, 0);
    if (!CheckStatus(inode_->ZeroRange(pos, len), "zero range")) return false;
    if (pos < expected_.size()) {
      const uint64_t n = std::min(len, expected_.size() - pos);
      std::memset(expected_.data() + pos, 0, n);
    }
    last_->size_after = expected_.size();
    return CheckTouched(pos, len);
  }

  bool DoPunch() {
    const uint64_t pos = PickPos(cfg_.max_file);
    const uint64_t len = PickLen(pos);
    Record(OpKind::kPunch, pos, len, 0);
    if (!CheckStatus(inode_->Punch(pos, len), "punch")) return false;
    if (pos < expected_.size()) {
      const uint64_t n = std::min(len, expected_.size() - pos);
      std::memset(expected_.data() + pos, 0, n);
    }
    last_->size_after = expected_.size();
    return CheckTouched(pos, len);
  }

  bool DoFallocate() {
    const uint64_t pos = PickPos(cfg_.max_file);
    const uint64_t len = PickLen(pos);
    Record(OpKind::kFallocate, pos, len, 0);
    if (!CheckStatus(inode_->Fallocate(pos, len), "fallocate")) return false;
    last_->size_after = expected_.size();
    return CheckTouched(pos, len);
  }

  bool DoTruncate() {
    uint64_t new_size;
    if (rng_() % 2 == 0 && !expected_.empty()) {
      new_size = PickPos(expected_.size() + 1);  // down (or same)
      if (new_size > expected_.size()) new_size = expected_.size();
    } else {
      new_size = PickPos(cfg_.max_file);  // usually up
    }
    Record(OpKind::kTruncate, new_size, 0, expected_.size());
    if (!CheckStatus(inode_->Truncate(new_size), "truncate")) return false;
    expected_.resize(new_size, 0);
    last_->size_after = expected_.size();
    if (inode_->size() != new_size) return Fail("size after truncate");
    // Around the new EOF: the kept tail, and nothing past it.
    const uint64_t lo = new_size > cfg_.max_folio ? new_size - cfg_.max_folio : 0;
    return CheckRange("read-back around the new EOF", lo, new_size - lo + cfg_.block_size);
  }

  bool DoWriteback() {
    const uint64_t pos = PickPos(cfg_.max_file);
    const uint64_t len = rng_() % 3 == 0 ? UINT64_MAX - pos : PickLen(pos);
    const bool sync = rng_() % 2 == 0;
    Record(OpKind::kWriteback, pos, len, sync);
    last_->size_after = expected_.size();
    if (!CheckStatus(inode_->WritebackRange(pos, pos + len, sync), "writeback")) return false;
    return CheckTouched(pos, std::min<uint64_t>(len, cfg_.max_file));
  }

  bool DoFsync() {
    const bool whole = rng_() % 2 == 0;
    const uint64_t pos = whole ? 0 : PickPos(cfg_.max_file);
    const uint64_t end = whole ? UINT64_MAX : pos + PickLen(pos);
    Record(OpKind::kFsync, pos, end - pos, whole);
    last_->size_after = expected_.size();
    if (!CheckStatus(inode_->Fsync(pos, end), "fsync")) return false;
    // fsync made [pos, end) durable: the device truth matches the model
    // there (nothing else runs in this single-threaded test that could
    // dirty it again; flushers only write back).
    return CheckDevice("device truth after fsync", pos, end);
  }

  bool DoDropCache() {
    Record(OpKind::kDropCache, 0, 0, 0);
    last_->size_after = expected_.size();
    fs_->DropCache();
    const uint64_t pos = PickPos(cfg_.max_file);
    return CheckRange("read after cache drop", pos, PickLen(pos));
  }

  bool Finish() {
    index_ = UINT64_MAX;  // "after the last op" in messages
    Record(OpKind::kFsync, 0, UINT64_MAX, 1);
    if (!CheckStatus(inode_->Fsync(0, UINT64_MAX), "final fsync")) return false;
    if (!CheckWholeFile("whole file after final writeback")) return false;
    fs_->DropCache();
    if (inode_->page_mapping().dirty_count() != 0) return Fail("dirty folios after final fsync");
    if (!CheckWholeFile("whole file after writeback + cache drop")) return false;
    if (!CheckDevice("device truth after final writeback", 0, UINT64_MAX)) return false;
    const auto& st = inode_->stats();
    if (st.stale_conversions.load() != 0)
      return Fail("writeback completed for blocks that were freed meanwhile");
    if (st.map_blocks_holes.load() != 0) return Fail("writeback found dirty data over a hole");
    if (st.end_writeback_errors.load() != 0) return Fail("writeback reported I/O errors");
    if (st.max_batch.load() > FolioBatch::kCapacity) return Fail("batch over capacity");
    return true;
  }

  const Config cfg_;
  const uint64_t seed_;
  std::mt19937_64 rng_;
  std::unique_ptr<ModelFs> fs_;
  ModelInode* inode_ = nullptr;
  std::vector<uint8_t> expected_;
  std::vector<uint8_t> buf_, data_;
  uint64_t index_ = 0;
  uint64_t ops_done_ = 0;
  std::array<OpRecord, 24> history_{};
  size_t history_next_ = 0;
  OpRecord* last_ = nullptr;
  std::array<uint64_t, 9> counts_{};
};

void RunSeeds(const Config& cfg, std::initializer_list<uint64_t> seeds) {
  const uint64_t ops = OpsPerSeed();
  for (uint64_t seed : seeds) {
    ModelRun run(cfg, seed);
    const bool ok = run.Run(ops);
    std::printf("[model] %s\n", run.Summary().c_str());
    if (!ok) return;
  }
}

TEST(IomapModelTest, RandomOpsMatchFlatFileWith4KiBBlocks) {
  Config cfg;
  cfg.block_size = 4096;
  RunSeeds(cfg, {101, 102});
}

TEST(IomapModelTest, RandomOpsMatchFlatFileWith1KiBBlocks) {
  Config cfg;
  cfg.block_size = 1024;
  cfg.max_file = 1ull << 20;
  RunSeeds(cfg, {201, 202});
}

TEST(IomapModelTest, RandomOpsMatchFlatFileWithSmallFolios) {
  // 16 KiB folios: many folio edges inside every large operation.
  Config cfg;
  cfg.block_size = 1024;
  cfg.max_folio = 16 * 1024;
  cfg.max_file = 1ull << 20;
  RunSeeds(cfg, {301});
}

TEST(IomapModelTest, RandomOpsMatchFlatFileUnderReclaimWith4KiBBlocks) {
  // A 1 MiB cache under a 4 MiB file: reclaim, throttling and background
  // flushers all run while the ops do.
  Config cfg;
  cfg.block_size = 4096;
  cfg.max_file = 4ull << 20;
  cfg.cache_size = 1ull << 20;
  cfg.reclaim = true;
  RunSeeds(cfg, {401, 402});
}

TEST(IomapModelTest, RandomOpsMatchFlatFileUnderReclaimWith1KiBBlocks) {
  Config cfg;
  cfg.block_size = 1024;
  cfg.max_file = 2ull << 20;
  cfg.cache_size = 1ull << 20;
  cfg.reclaim = true;
  RunSeeds(cfg, {501});
}

}  // namespace
}  // namespace foliofs::iomaptest
