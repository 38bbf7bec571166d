// foliofs-devbench: throughput of a BlockDevice opened through OpenDevice, in
// the three workloads tools/bench/device_vs_fio.sh compares with fio:
//   seqwrite  1 MiB writes in address order over --size bytes (wrapping) for --time seconds
//   seqread   1 MiB reads, likewise
//   randread  4 KiB reads at random aligned offsets for --time seconds, --qd in flight
// "In flight" is the device's queue_depth: each workload submits large batches
// and the io_uring device keeps a sliding window of queue_depth SQEs, as fio's
// iodepth does. Output, one line per workload:
//   workload=seqread bs=1048576 qd=32 bytes=... seconds=... mib_s=... iops=...
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "pagecache/blockdev/uring_device.h"

namespace foliofs {
namespace {

struct Config {
  std::string device;
  std::string workload = "all";
  uint64_t size = 0;  // 0 = whole device
  double seconds = 10;
  unsigned qd = 32;
  bool sync = false;
};

struct Figures {
  uint64_t ops = 0, bytes = 0;
  double seconds = 0;
};

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Buffers the in-flight requests use, rotated; contents do not matter.
std::vector<AlignedBuffer> MakeBuffers(unsigned count, size_t len) {
  std::vector<AlignedBuffer> bufs;
  for (unsigned i = 0; i < count; ++i) bufs.push_back(AllocateAligned(len));
  return bufs;
}

// `bs` requests in address order over [0, size), wrapping, for `seconds`
// (at least one batch); batches of up to 1024 requests per Submit. No flush,
// as fio.
Result<Figures> Sequential(BlockDevice& dev, IoOp op, uint64_t size, size_t bs, unsigned qd,
                           double seconds) {
  const uint64_t blocks = size / bs;
  const size_t batch = static_cast<size_t>(std::min<uint64_t>(blocks, 1024));
  std::vector<AlignedBuffer> bufs = MakeBuffers(qd, bs);
  std::vector<iovec> iov(batch);
  std::vector<IoRequest> reqs(batch);
  uint64_t next = 0;
  Figures f;
  auto t0 = Clock::now();
  do {
    for (size_t i = 0; i < batch; ++i, next = (next + 1) % blocks) {
      iov[i] = {bufs[i % qd].get(), bs};
      reqs[i].op = op;
      reqs[i].offset = next * bs;
      reqs[i].iov = std::span<const iovec>(&iov[i], 1);
    }
    RETURN_IF_ERROR(dev.Submit(reqs));
    f.ops += batch;
  } while (Since(t0) < seconds);
  f.bytes = f.ops * bs;
  f.seconds = Since(t0);
  return f;
}

Result<Figures> RandomReads(BlockDevice& dev, uint64_t size, size_t bs, unsigned qd,
                            double seconds) {
  constexpr size_t kBatch = 4096;
  std::vector<AlignedBuffer> bufs = MakeBuffers(qd, bs);
  std::vector<iovec> iov(kBatch);
  std::vector<IoRequest> reqs(kBatch);
  std::mt19937_64 rng(12345);
  const uint64_t blocks = size / bs;
  Figures f;
  auto t0 = Clock::now();
  while (Since(t0) < seconds) {
    for (size_t i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i % qd].get(), bs};
      reqs[i].op = IoOp::kRead;
      reqs[i].offset = (rng() % blocks) * bs;
      reqs[i].iov = std::span<const iovec>(&iov[i], 1);
    }
    RETURN_IF_ERROR(dev.Submit(reqs));
    f.ops += kBatch;
  }
  f.bytes = f.ops * bs;
  f.seconds = Since(t0);
  return f;
}

void Print(const char* name, size_t bs, unsigned qd, const Figures& f) {
  std::printf("workload=%s bs=%zu qd=%u bytes=%llu seconds=%.3f mib_s=%.1f iops=%.0f\n", name, bs,
              qd, static_cast<unsigned long long>(f.bytes), f.seconds,
              f.bytes / f.seconds / (1 << 20), f.ops / f.seconds);
  std::fflush(stdout);
}

Status Run(const Config& c) {
  DeviceOptions opt;
  opt.queue_depth = c.qd;
  opt.force_sync = c.sync;
  ASSIGN_OR_RETURN(std::unique_ptr<BlockDevice> dev, OpenDevice(c.device, opt));
  uint64_t size = c.size == 0 ? dev->size_bytes() : std::min(c.size, dev->size_bytes());
  constexpr size_t kSeqBs = 1 << 20, kRandBs = 4096;
  size -= size % kSeqBs;
  if (size == 0) return Status::Error(EINVAL, "device smaller than 1 MiB");
  bool all = c.workload == "all", any = false;
  if (all || c.workload == "seqwrite") {
    ASSIGN_OR_RETURN(Figures f, Sequential(*dev, IoOp::kWrite, size, kSeqBs, c.qd, c.seconds));
    Print("seqwrite", kSeqBs, c.qd, f);
    any = true;
  }
  if (all || c.workload == "seqread") {
    ASSIGN_OR_RETURN(Figures f, Sequential(*dev, IoOp::kRead, size, kSeqBs, c.qd, c.seconds));
    Print("seqread", kSeqBs, c.qd, f);
    any = true;
  }
  if (all || c.workload == "randread") {
    ASSIGN_OR_RETURN(Figures f, RandomReads(*dev, size, kRandBs, c.qd, c.seconds));
    Print("randread", kRandBs, c.qd, f);
    any = true;
  }
  if (!any) return Status::Error(EINVAL, "unknown workload '" + c.workload + "'");
  return Status::Ok();
}

int Usage() {
  std::fprintf(stderr,
               "usage: foliofs-devbench DEVICE [--workload all|seqwrite|seqread|randread]\n"
               "         [--size BYTES] [--time SECONDS] [--qd N] [--sync]\n"
               "DESTROYS the contents of DEVICE (seqwrite).\n");
  return 2;
}

}  // namespace
}  // namespace foliofs

int main(int argc, char** argv) {
  foliofs::Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--workload" && has_value)
      c.workload = argv[++i];
    else if (a == "--size" && has_value)
      c.size = std::strtoull(argv[++i], nullptr, 0);
    else if (a == "--time" && has_value)
      c.seconds = std::atof(argv[++i]);
    else if (a == "--qd" && has_value)
      c.qd = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (a == "--sync")
      c.sync = true;
    else if (!a.empty() && a[0] != '-' && c.device.empty())
      c.device = a;
    else
      return foliofs::Usage();
  }
  if (c.device.empty() || c.qd == 0) return foliofs::Usage();
  foliofs::Status st = foliofs::Run(c);
  if (!st.ok()) {
    std::fprintf(stderr, "foliofs-devbench: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
