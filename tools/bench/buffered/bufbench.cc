// foliofs-bufbench: buffered sequential I/O through the page cache and
// fs/iomap, over the io_uring device:
//   write  --size bytes in --chunk writes (IomapWrite; flusher threads write
//          back behind the writer under the cache's dirty limits), then
//          IomapWriteAndWait and a device flush — timed together, like fio's
//          end_fsync=1;
//   read   after PageCache::DropClean (cold cache), --chunk reads with
//          readahead (IomapRead), verified against what was written.
// --workload write|read runs one phase: a read run takes the device as
// holding a previous write run's data (extents MAPPED), so a script can drop
// the kernel's caches (e.g. a loop device's backing file) in between.
// The file is one BenchInode: an identity map over the device, UNWRITTEN
// until writeback converts it. Output, one line per phase:
//   workload=write bytes=... seconds=... mib_s=... [breakdown]
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fs/iomap/iomap.h"
#include "pagecache/blockdev/uring_device.h"
#include "pagecache/page_cache.h"
#include "pagecache/readahead.h"
#include "tools/bench/buffered/bench_inode.h"

namespace foliofs {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Config {
  std::string device;
  uint64_t size = 1ull << 30;
  uint64_t chunk = 1ull << 20;
  uint64_t cache_size = 256ull << 20;
  uint32_t block_size = 4096;
  unsigned qd = 64;
  unsigned flushers = 2;
  bool sync = false;
  std::string workload = "all";
  bool malloc_tuning = true;
  bool check_writes = false;
  bool verify_device = false;
  bool verify_reads = true;
};

// Stamps every 4 KiB of the chunk at file position `pos` with its position,
// so the read phase can verify what it got.
void Stamp(std::vector<uint8_t>& buf, uint64_t pos) {
  for (uint64_t o = 0; o < buf.size(); o += 4096) {
    const uint64_t v = pos + o;
    std::memcpy(buf.data() + o, &v, sizeof(v));
  }
}

bool Check(const std::vector<uint8_t>& buf, uint64_t pos) {
  for (uint64_t o = 0; o < buf.size(); o += 4096) {
    uint64_t v;
    std::memcpy(&v, buf.data() + o, sizeof(v));
    if (v != pos + o) return false;
  }
  return true;
}

// Peak resident memory (VmHWM) in MiB, for the breakdown.
long PeakRssMiB() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kb = -1;
  while (std::fgets(line, sizeof(line), f))
    if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  std::fclose(f);
  return kb < 0 ? -1 : kb / 1024;
}

// --check-writes: a pass-through device that checks, before and after each
// write, that every 4 KiB carries its own device address as stamp (the file
// is an identity map and Stamp() writes file positions), so misdirected or
// stale data is caught at the request that carries it.
class CheckingDevice final : public BlockDevice {
 public:
  explicit CheckingDevice(std::unique_ptr<BlockDevice> base) : base_(std::move(base)) {}
  uint64_t size_bytes() const override { return base_->size_bytes(); }
  uint32_t logical_block_size() const override { return base_->logical_block_size(); }
  std::string name() const override { return "checking(" + base_->name() + ")"; }
  Status Submit(std::span<IoRequest> batch) override {
    for (const IoRequest& r : batch) RETURN_IF_ERROR(Check(r, "before"));
    Status st = base_->Submit(batch);
    for (const IoRequest& r : batch) RETURN_IF_ERROR(Check(r, "after"));
    return st;
  }

 private:
  static Status Check(const IoRequest& r, const char* when) {
    if (r.op != IoOp::kWrite) return Status::Ok();
    uint64_t addr = r.offset;
    for (const iovec& v : r.iov)
      for (uint64_t o = 0; o < v.iov_len; o += 4096, addr += 4096) {
        uint64_t stamp;
        std::memcpy(&stamp, static_cast<const uint8_t*>(v.iov_base) + o, sizeof(stamp));
        if (stamp != addr)
          return Status::Error(
              EIO, std::string("write ") + when + " submit: device " + std::to_string(addr) +
                       " carries stamp " + std::to_string(stamp) + " (request at " +
                       std::to_string(r.offset) + ", " + std::to_string(r.iov.size()) + " iovecs)");
      }
    return Status::Ok();
  }
  std::unique_ptr<BlockDevice> base_;
};

void Report(const char* name, uint64_t bytes, double secs, const std::string& extra) {
  std::printf("workload=%s bytes=%llu seconds=%.3f mib_s=%.1f %s\n", name,
              static_cast<unsigned long long>(bytes), secs, bytes / secs / (1 << 20),
              extra.c_str());
  std::fflush(stdout);
}

Status WritePhase(const Config& c, bench::BenchInode& inode, PageCache& cache) {
  std::vector<uint8_t> buf(c.chunk, 0x5A);
  auto t0 = Clock::now();
  for (uint64_t pos = 0; pos < c.size; pos += c.chunk) {
    Stamp(buf, pos);
    ASSIGN_OR_RETURN(size_t n, IomapWrite(inode, pos, buf));
    if (n != buf.size()) return Status::Error(EIO, "short write");
  }
  const double copy_secs = Since(t0);
  auto t1 = Clock::now();
  RETURN_IF_ERROR(IomapWriteAndWait(inode, 0, UINT64_MAX));
  RETURN_IF_ERROR(inode.device().Flush());
  const double sync_secs = Since(t1);
  const PageCache::Stats s = cache.stats();
  char extra[256];
  std::snprintf(extra, sizeof(extra),
                "write_calls_s=%.3f final_sync_s=%.3f throttle_waits=%llu flusher_passes=%llu "
                "reclaim_waits=%llu overcommits=%llu peak_rss_mib=%ld cache_mib=%llu",
                copy_secs, sync_secs, (unsigned long long)s.throttle_waits,
                (unsigned long long)s.flusher_passes, (unsigned long long)s.reclaim_waits,
                (unsigned long long)s.overcommits, PeakRssMiB(),
                (unsigned long long)(cache.bytes() >> 20));
  Report("write", c.size, Since(t0), extra);
  return Status::Ok();
}

// --verify-device: after the write phase, reads the device directly (the
// cache bypassed) and checks every 4 KiB stamp.
Status VerifyDevice(const Config& c, BlockDevice& dev) {
  std::vector<uint8_t> buf(c.chunk);
  AlignedBuffer io = AllocateAligned(c.chunk);
  for (uint64_t pos = 0; pos < c.size; pos += c.chunk) {
    RETURN_IF_ERROR(dev.Read(pos, io.get(), c.chunk));
    std::memcpy(buf.data(), io.get(), c.chunk);
    if (!Check(buf, pos))
      return Status::Error(EIO, "device holds wrong data at " + std::to_string(pos));
  }
  std::fprintf(stderr, "# device verified\n");
  return Status::Ok();
}

Status ReadPhase(const Config& c, bench::BenchInode& inode, PageCache& cache) {
  cache.DropClean();
  std::vector<uint8_t> buf(c.chunk);
  ReadaheadState ra;
  auto t0 = Clock::now();
  for (uint64_t pos = 0; pos < c.size; pos += c.chunk) {
    ASSIGN_OR_RETURN(size_t n, IomapRead(inode, &ra, pos, buf));
    if (n != buf.size()) return Status::Error(EIO, "short read at " + std::to_string(pos));
    if (c.verify_reads && !Check(buf, pos))
      return Status::Error(EIO, "wrong data read at " + std::to_string(pos));
  }
  char extra[128];
  std::snprintf(extra, sizeof(extra), "ra_window=%llu reclaimed=%llu",
                (unsigned long long)ra.window_size(),
                (unsigned long long)cache.stats().reclaimed_bytes);
  Report("read", c.size, Since(t0), extra);
  return Status::Ok();
}

Status Run(const Config& c) {
  if (c.malloc_tuning) {
    // Folio buffers (256 KiB, zero-filled by AllocateAligned) are above
    // glibc's mmap threshold: every folio would be a fresh mmap, page-faulted
    // in by the zero fill and munmapped on reclaim — which costs more than
    // the I/O on a VM. Keep them in the heap so reclaimed memory is reused
    // (what a folio pool in the page cache would do).
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  DeviceOptions dopts;
  dopts.queue_depth = c.qd;
  dopts.force_sync = c.sync;
  ASSIGN_OR_RETURN(std::unique_ptr<BlockDevice> dev, OpenDevice(c.device, dopts));
  if (c.check_writes) dev = std::make_unique<CheckingDevice>(std::move(dev));
  PageCacheOptions popts;
  popts.cache_size = c.cache_size;
  popts.flusher_threads = c.flushers;
  ASSIGN_OR_RETURN(auto cache, PageCache::Create(popts));
  const bool read_only = c.workload == "read";
  ASSIGN_OR_RETURN(auto inode,
                   bench::BenchInode::Create(*cache, *dev, c.size, c.block_size, read_only));
  std::fprintf(stderr, "# %s size=%llu chunk=%llu cache=%llu\n", dev->name().c_str(),
               (unsigned long long)c.size, (unsigned long long)c.chunk,
               (unsigned long long)c.cache_size);
  Status st = read_only ? Status::Ok() : WritePhase(c, *inode, *cache);
  if (st.ok() && !read_only && c.verify_device) st = VerifyDevice(c, *dev);
  if (st.ok() && c.workload != "write") st = ReadPhase(c, *inode, *cache);
  inode.reset();
  return st;
}

[[noreturn]] void Usage() {
  std::fprintf(
      stderr,
      "usage: foliofs-bufbench DEVICE [--size BYTES] [--chunk BYTES] [--cache-size BYTES]\n"
      "         [--block-size N] [--qd N] [--flushers N] [--workload all|write|read] [--sync]\n"
      "         [--no-malloc-tuning] [--check-writes] [--verify-device] [--no-verify]\n");
  std::exit(2);
}

}  // namespace
}  // namespace foliofs

int main(int argc, char** argv) {
  foliofs::Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const bool v = i + 1 < argc;
    if (a == "--size" && v)
      c.size = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--chunk" && v)
      c.chunk = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--cache-size" && v)
      c.cache_size = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--block-size" && v)
      c.block_size = static_cast<uint32_t>(std::atoi(argv[++i]));
    else if (a == "--qd" && v)
      c.qd = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (a == "--flushers" && v)
      c.flushers = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (a == "--workload" && v)
      c.workload = argv[++i];
    else if (a == "--sync")
      c.sync = true;
    else if (a == "--no-malloc-tuning")
      c.malloc_tuning = false;
    else if (a == "--check-writes")
      c.check_writes = true;
    else if (a == "--verify-device")
      c.verify_device = true;
    else if (a == "--no-verify")
      c.verify_reads = false;
    else if (a[0] != '-' && c.device.empty())
      c.device = a;
    else
      foliofs::Usage();
  }
  if (c.device.empty() || c.chunk == 0 || c.size % c.chunk != 0) foliofs::Usage();
  foliofs::Status st = foliofs::Run(c);
  if (!st.ok()) {
    std::fprintf(stderr, "foliofs-bufbench: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
