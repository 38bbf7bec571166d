// foliofs: the daemon. `foliofs DEVICE MOUNTPOINT [-f] [-d] [-o opt,...]`
// (fuse_options.h has the options, daemon.h the life of the process).
// Exit status: 0 after a clean unmount (or -h/--version), 1 for bad usage or
// any failure (the message names the device or the option).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "fs/fuse/daemon.h"
#include "fs/fuse/fuse_ops.h"
#include "fs/fuse/fuse_options.h"
#include "pagecache/folio_memory.h"

namespace {

// Process-wide memory policy, set once before any thread starts. Folio bytes
// live in FolioMemory (pagecache/folio_memory.h), outside malloc; of what a
// reclaim frees it keeps a 32nd of cache_size resident for reuse (1 to 8
// MiB) and gives the rest back to the kernel at once.
// No mallopt here on purpose: once folios and metadata buffers left malloc,
// M_ARENA_MAX=4 and a fixed M_MMAP_THRESHOLD=256K changed no peak RSS of
// bench/peers.sh's workloads beyond noise, and a fixed mmap threshold would
// map and unmap every 1 MiB read reply buffer. What malloc still keeps after
// a metadata-heavy burst is freed memory in the middle of its arenas, which
// only malloc_trim(0) returns (120 MiB after 100,000 creates); a periodic
// trim would belong with the daemon's own threads (daemon.cc), after any
// fork to the background.
void SetMemoryPolicy(uint64_t cache_size) {
  foliofs::FolioMemory::Default().SetRetainLimit(
      std::clamp<uint64_t>(cache_size / 32, uint64_t{1} << 20, uint64_t{8} << 20));
}

}  // namespace

#ifndef FOLIOFS_VERSION
#define FOLIOFS_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace foliofs::fuse;
  const std::vector<std::string> args(argv + 1, argv + argc);
  foliofs::Result<ParsedArgs> parsed = ParseArgs(args);
  if (!parsed.ok()) {
    fprintf(stderr, "foliofs: %s\n%s", parsed.status().message().c_str(),
            Usage("foliofs").c_str());
    return 1;
  }
  switch (parsed->action) {
    case Action::kHelp:
      printf("%s", Usage("foliofs").c_str());
      return 0;
    case Action::kVersion:
      printf("foliofs %s (libfuse %s, FUSE API %d)\n", FOLIOFS_VERSION, fuse_pkgversion(),
             FUSE_USE_VERSION);
      return 0;
    case Action::kRun:
      break;
  }
  SetMemoryPolicy(parsed->options.mount.cache_size);
  return RunDaemon(parsed->options);
}
