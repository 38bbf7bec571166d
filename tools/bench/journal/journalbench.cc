// foliofs-journalbench: small metadata transactions per second.
//
//   foliofs-journalbench [DEVICE] [--seconds S] [--journal-blocks N]
//
// Each transaction (one handle) modifies 1–4 random metadata blocks. Two modes:
//   batched  the commit thread groups handles into transactions (5 s interval,
//            or earlier when the log fills);
//   forced   ForceCommit after every handle (the fsync pattern).
// Runs on a 64 MiB memory device, and on DEVICE (an image file or block
// device; ITS CONTENTS ARE OVERWRITTEN) opened through io_uring if given.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "journal/journal.h"
#include "pagecache/blockdev/memory_device.h"
#include "pagecache/blockdev/uring_device.h"

namespace foliofs::journal {
namespace {

constexpr uint32_t kBlockSize = 4096;
constexpr uint64_t kHomeStart = 8192;   // metadata blocks live at [8192, 8192 + 4096)
constexpr uint64_t kHomeBlocks = 4096;

struct Config {
  double seconds = 2.0;
  uint64_t journal_blocks = 2048;  // 8 MiB
};

Status RunOne(Journal& j, std::mt19937_64& rng, bool force) {
  int n = 1 + static_cast<int>(rng() % 4);
  ASSIGN_OR_RETURN(auto h, j.Start(n, "bench"));
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(BufferRef b, j.buffers().Read(kHomeStart + rng() % kHomeBlocks));
    RETURN_IF_ERROR(h->GetWriteAccess(*b));
    uint64_t v = rng();
    std::memcpy(b->data() + (v % 500) * 8, &v, 8);
    RETURN_IF_ERROR(h->DirtyMetadata(*b));
  }
  uint64_t tid = h->tid();
  RETURN_IF_ERROR(h->Stop());
  return force ? j.ForceCommit(tid) : Status::Ok();
}

Status Bench(BlockDevice& dev, const Config& cfg, bool force, const char* label) {
  std::array<uint8_t, 16> uuid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  RETURN_IF_ERROR(FormatJournal(dev, 1, cfg.journal_blocks, kBlockSize, uuid));
  JournalOptions o;
  o.first_block = 1;
  o.num_blocks = cfg.journal_blocks;
  o.block_size = kBlockSize;
  o.uuid = uuid;
  o.max_clean_buffers = 2 * kHomeBlocks;
  ASSIGN_OR_RETURN(auto j, Journal::Open(dev, o));
  // Warm the buffer cache: measure journaling, not cold metadata reads.
  for (uint64_t nr = kHomeStart; nr < kHomeStart + kHomeBlocks; ++nr)
    RETURN_IF_ERROR(j->buffers().Read(nr).status());
  std::mt19937_64 rng(42);
  auto start = std::chrono::steady_clock::now();
  uint64_t handles = 0;
  double elapsed = 0;
  do {
    for (int i = 0; i < 16; ++i, ++handles) RETURN_IF_ERROR(RunOne(*j, rng, force));
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < cfg.seconds);
  RETURN_IF_ERROR(j->ForceCommit(j->current_tid()));
  elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  JournalStats st = j->stats();
  std::printf("%-28s %-7s %10.0f handles/s  %8.0f commits/s  (%lu handles, %lu commits, "
              "%lu checkpoints, %lu blocks logged, %.2f s)\n",
              label, force ? "forced" : "batched", handles / elapsed, st.commits / elapsed,
              static_cast<unsigned long>(handles), static_cast<unsigned long>(st.commits),
              static_cast<unsigned long>(st.checkpoints),
              static_cast<unsigned long>(st.blocks_logged), elapsed);
  return j->Close();
}

int Main(int argc, char** argv) {
  Config cfg;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) cfg.seconds = std::stod(argv[++i]);
    else if (a == "--journal-blocks" && i + 1 < argc) cfg.journal_blocks = std::stoull(argv[++i]);
    else if (a[0] != '-' && path.empty()) path = a;
    else {
      std::fprintf(stderr, "usage: %s [DEVICE] [--seconds S] [--journal-blocks N]\n", argv[0]);
      return 2;
    }
  }
  auto mem = MemoryDevice::Create((kHomeStart + kHomeBlocks) * kBlockSize, 512);
  if (!mem.ok()) return 1;
  for (bool force : {false, true}) {
    Status st = Bench(**mem, cfg, force, "memory");
    if (!st.ok()) {
      std::fprintf(stderr, "memory: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  if (path.empty()) return 0;
  auto dev = OpenDevice(path);
  if (!dev.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), dev.status().ToString().c_str());
    return 1;
  }
  if ((*dev)->size_bytes() < (kHomeStart + kHomeBlocks) * kBlockSize) {
    std::fprintf(stderr, "%s: need at least %lu bytes\n", path.c_str(),
                 static_cast<unsigned long>((kHomeStart + kHomeBlocks) * kBlockSize));
    return 1;
  }
  for (bool force : {false, true}) {
    Status st = Bench(**dev, cfg, force, (*dev)->name().c_str());
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), st.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace foliofs::journal

int main(int argc, char** argv) { return foliofs::journal::Main(argc, argv); }
