// foliofs-flushbench: what the flusher's target pick and reclaim's mapping
// walk cost as the number of registered mappings grows (the daemon keeps one
// mapping per cached inode, so a directory of 100,000 files means 100,000
// mappings, nearly all clean and most empty). No device: the ops follow
// writeback.h's protocol and drop the data. A program, not a test.
//
// For each --mappings count N (comma-separated, default 1000,100000):
//   flush    N clean empty mappings plus --dirty D mappings with one dirty
//            64 KiB folio each, all expired; one flusher pass writes the D
//            back: prints the wall time per mapping written.
//   reclaim  N empty mappings plus one that creates --folios 4 KiB clean
//            folios in a 4 MiB cache, so creation keeps reclaiming: prints
//            the time per folio created.
//   create   mappings created one after another up to N, each with one dirty
//            4 KiB folio (what creating small files does), two flushers with
//            a 50 ms expiry: prints the creation rate of the last 1,000.
// Output: one line per (scenario, N), e.g.
//   scenario=flush mappings=100000 dirty=200 us_per_item=12.3
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pagecache/pagecache.h"

namespace foliofs {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Writeback without a device: lock, StartWriteback, ClearDirty, unlock,
// EndWriteback, for every dirty run.
class NullOps : public AddressSpaceOps {
 public:
  Status Writepages(Mapping& m, WritebackControl& wbc) override {
    uint64_t from = wbc.start;
    while (from < wbc.end) {
      FolioBatch batch;
      const uint64_t next = m.FindDirtyRun(from, 1ull << 20, batch);
      if (batch.empty()) break;
      std::vector<Folio*> locked;
      for (const FolioRef& f : batch) {
        f->Lock();
        if (f->mapping() != &m || !f->dirty() || f->writeback()) {
          f->Unlock();
          continue;
        }
        f->StartWriteback();
        f->ClearDirty();
        locked.push_back(f.get());
        wbc.written += f->size();
      }
      for (Folio* f : locked) f->Unlock();
      for (Folio* f : locked) f->EndWriteback();
      if (!wbc.sync && wbc.written >= wbc.max_bytes) break;
      from = next;
    }
    return Status::Ok();
  }
};

bool Dirty(Mapping& m, uint64_t pos, uint32_t order) {
  auto f = m.GetOrCreate(pos, order);
  if (!f.ok()) return false;
  FolioRef folio = std::move(f).value();
  folio->Lock();
  folio->MarkUptodate(0, folio->size());
  folio->MarkDirty(0, folio->size());
  folio->Unlock();
  return true;
}

std::unique_ptr<PageCache> MakeCache(const PageCacheOptions& o) {
  auto c = PageCache::Create(o);
  if (!c.ok()) {
    std::fprintf(stderr, "PageCache::Create: %s\n", c.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(c).value();
}

std::unique_ptr<Mapping> NewMapping(PageCache& cache, NullOps& ops) {
  auto m = cache.NewMapping(4096, &ops);
  if (!m.ok()) std::exit(1);
  return std::move(m).value();
}

void WaitFor(const PageCache& cache, bool (*done)(const PageCache&)) {
  const auto deadline = Clock::now() + 600s;
  while (!done(cache) && Clock::now() < deadline) std::this_thread::sleep_for(100us);
}

void BenchFlush(uint64_t n, uint64_t dirty) {
  NullOps ops;
  PageCacheOptions o;
  o.cache_size = 1ull << 30;
  o.dirty_expire = 1ms;
  o.flush_interval = 3600s;  // passes only when woken
  o.flusher_threads = 1;
  auto cache = MakeCache(o);
  std::vector<std::unique_ptr<Mapping>> maps;
  for (uint64_t i = 0; i < n; i++) maps.push_back(NewMapping(*cache, ops));
  for (uint64_t i = 0; i < dirty; i++) {
    auto& m = maps[i * n / dirty];
    Dirty(*m, 0, 4);
  }
  std::this_thread::sleep_for(5ms);  // all expired
  const auto t0 = Clock::now();
  cache->WakeFlushers();
  WaitFor(*cache, [](const PageCache& c) { return c.dirty_bytes() == 0; });
  const double s = Since(t0);
  std::printf("scenario=flush mappings=%llu dirty=%llu us_per_item=%.2f\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(dirty),
              s * 1e6 / static_cast<double>(dirty));
  maps.clear();
}

void BenchReclaim(uint64_t n, uint64_t folios) {
  NullOps ops;
  PageCacheOptions o;
  o.cache_size = 4ull << 20;
  o.dirty_expire = 3600s;
  o.flush_interval = 3600s;
  o.flusher_threads = 1;
  auto cache = MakeCache(o);
  std::vector<std::unique_ptr<Mapping>> maps;
  for (uint64_t i = 0; i < n; i++) maps.push_back(NewMapping(*cache, ops));
  auto big = NewMapping(*cache, ops);
  const auto t0 = Clock::now();
  for (uint64_t i = 0; i < folios; i++) {
    if (!big->GetOrCreate(i * 4096, 0).ok()) std::exit(1);
  }
  const double s = Since(t0);
  std::printf("scenario=reclaim mappings=%llu folios=%llu us_per_item=%.2f reclaimed_mib=%.1f\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(folios),
              s * 1e6 / static_cast<double>(folios),
              static_cast<double>(cache->stats().reclaimed_bytes) / (1 << 20));
  big.reset();
  maps.clear();
}

void BenchCreate(uint64_t n) {
  NullOps ops;
  PageCacheOptions o;
  o.cache_size = 64ull << 20;
  o.dirty_expire = 50ms;
  o.flush_interval = 10ms;
  o.flusher_threads = 2;
  auto cache = MakeCache(o);
  std::vector<std::unique_ptr<Mapping>> maps;
  const uint64_t window = std::min<uint64_t>(1000, n);
  Clock::time_point t0 = Clock::now();
  for (uint64_t i = 0; i < n; i++) {
    if (i == n - window) t0 = Clock::now();
    maps.push_back(NewMapping(*cache, ops));
    if (!Dirty(*maps.back(), 0, 0)) std::exit(1);
    cache->BalanceDirty();
  }
  const double s = Since(t0);
  std::printf("scenario=create mappings=%llu last=%llu per_s=%.0f\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(window),
              static_cast<double>(window) / s);
  maps.clear();
}

std::vector<uint64_t> ParseList(const char* s) {
  std::vector<uint64_t> out;
  std::string cur;
  for (const char* p = s;; p++) {
    if (*p == ',' || *p == '\0') {
      if (!cur.empty()) out.push_back(std::strtoull(cur.c_str(), nullptr, 10));
      cur.clear();
      if (*p == '\0') break;
    } else {
      cur.push_back(*p);
    }
  }
  return out;
}

int Main(int argc, char** argv) {
  std::vector<uint64_t> counts = {1000, 100000};
  uint64_t dirty = 200, folios = 8192;
  std::string only = "flush,reclaim,create";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--mappings") counts = ParseList(argv[i + 1]);
    else if (k == "--dirty") dirty = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--folios") folios = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--only") only = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: %s [--mappings N,N..] [--dirty D] [--folios F] "
                   "[--only flush,reclaim,create]\n",
                   argv[0]);
      return 2;
    }
  }
  for (uint64_t n : counts) {
    if (only.find("flush") != std::string::npos) BenchFlush(n, std::min(dirty, n));
    if (only.find("reclaim") != std::string::npos) BenchReclaim(n, folios);
    if (only.find("create") != std::string::npos) BenchCreate(n);
  }
  return 0;
}

}  // namespace
}  // namespace foliofs

int main(int argc, char** argv) { return foliofs::Main(argc, argv); }
