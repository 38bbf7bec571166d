// foliofs-dirscale: namespace benchmarks run through a mounted filesystem
// (any filesystem: tools/bench/peers.sh runs it on foliofs, kernel ext4 and
// fuse2fs). A program, not a test: it prints figures, it asserts nothing.
//
//   foliofs-dirscale scale DIR [--count 100000] [--sample 1000] [--no-drop]
//     Creates files 0..count-1 in the new directory DIR/scale. Prints the
//     create rate over the first `sample` files and over the last `sample`
//     files, and the stat (lookup) rate of `sample` random names when the
//     directory holds `sample` entries and when it holds `count`. Before each
//     lookup phase the kernel's dentry and inode caches are dropped
//     (sync; echo 2 > /proc/sys/vm/drop_caches, needs root) so that on a FUSE
//     mount every lookup reaches the daemon. Removes what it created.
//   foliofs-dirscale files DIR [--count 20000] [--no-drop]
//     create (open O_CREAT|O_EXCL + close), stat, unlink of `count` empty files
//     in the new directory DIR/files, each phase timed; the dentry caches are
//     dropped before the stat phase.
//   foliofs-dirscale fsync FILE [--count 1000] [--bs 4096] [--seconds 10]
//     Appends `bs`-byte blocks to the new FILE, each write followed by fsync,
//     and prints the latency percentiles of the write+fsync pairs (stops at
//     `count` pairs or after `seconds`, whichever comes first).
//
// Output is one line of key=value pairs per measurement (rates in ops/s,
// latencies in microseconds), so scripts can parse it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Options {
  std::string mode, path;
  long count = -1;
  long sample = 1000;
  long bs = 4096;
  double seconds = 10;
  bool drop = true;
};

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: foliofs-dirscale scale DIR [--count N] [--sample N] [--no-drop]\n"
               "       foliofs-dirscale files DIR [--count N] [--no-drop]\n"
               "       foliofs-dirscale fsync FILE [--count N] [--bs BYTES] [--seconds S]\n");
  std::exit(2);
}

[[noreturn]] void Fail(const char* what, const std::string& path) {
  std::fprintf(stderr, "foliofs-dirscale: %s %s: %s\n", what, path.c_str(),
               std::strerror(errno));
  std::exit(1);
}

Options Parse(int argc, char** argv) {
  if (argc < 3) Usage();
  Options o;
  o.mode = argv[1];
  o.path = argv[2];
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (a == "--count") o.count = std::atol(value());
    else if (a == "--sample") o.sample = std::atol(value());
    else if (a == "--bs") o.bs = std::atol(value());
    else if (a == "--seconds") o.seconds = std::atof(value());
    else if (a == "--no-drop") o.drop = false;
    else Usage();
  }
  return o;
}

// Lookups must reach the filesystem (the daemon, for FUSE), not the kernel's
// dentry cache. sync first: dirty inodes are not reclaimable.
void DropDentries(bool drop) {
  if (!drop) return;
  sync();
  int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (fd < 0 || write(fd, "2", 1) != 1) {
    std::fprintf(stderr, "foliofs-dirscale: cannot drop caches (%s); lookups may be cached\n",
                 std::strerror(errno));
  }
  if (fd >= 0) close(fd);
}

std::string Name(const std::string& dir, long i) { return dir + "/f" + std::to_string(i); }

void CreateRange(const std::string& dir, long from, long to) {
  for (long i = from; i < to; ++i) {
    std::string n = Name(dir, i);
    int fd = open(n.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) Fail("create", n);
    close(fd);
  }
}

// Rate (ops/s) of creating [from, to).
double TimedCreate(const std::string& dir, long from, long to) {
  auto t0 = Clock::now();
  CreateRange(dir, from, to);
  return static_cast<double>(to - from) / Since(t0);
}

// Rate of stat on the given indexes.
double TimedStat(const std::string& dir, const std::vector<long>& idx) {
  std::vector<std::string> names;
  names.reserve(idx.size());
  for (long i : idx) names.push_back(Name(dir, i));
  struct stat st;
  auto t0 = Clock::now();
  for (const std::string& n : names) {
    if (stat(n.c_str(), &st) != 0) Fail("stat", n);
  }
  return static_cast<double>(names.size()) / Since(t0);
}

double TimedUnlink(const std::string& dir, long count) {
  auto t0 = Clock::now();
  for (long i = 0; i < count; ++i) {
    std::string n = Name(dir, i);
    if (unlink(n.c_str()) != 0) Fail("unlink", n);
  }
  return static_cast<double>(count) / Since(t0);
}

// `n` distinct random indexes in [0, population) (all of them, shuffled, when
// n >= population). Fixed seed: every filesystem looks up the same names.
std::vector<long> RandomIndexes(long population, long n, unsigned seed) {
  std::vector<long> all(static_cast<size_t>(population));
  for (long i = 0; i < population; ++i) all[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<size_t>(std::min(n, population)));
  return all;
}

std::string MakeDir(const std::string& parent, const char* leaf) {
  std::string dir = parent + "/" + leaf;
  if (mkdir(dir.c_str(), 0755) != 0) Fail("mkdir", dir);
  return dir;
}

void RemoveDir(const std::string& dir, long count) {
  TimedUnlink(dir, count);
  if (rmdir(dir.c_str()) != 0) Fail("rmdir", dir);
}

int Scale(const Options& o) {
  const long count = o.count < 0 ? 100000 : o.count;
  const long sample = std::min(o.sample, count);
  if (sample <= 0 || count < 2 * sample) Usage();
  std::string dir = MakeDir(o.path, "scale");
  double c_first = TimedCreate(dir, 0, sample);
  DropDentries(o.drop);
  double s_first = TimedStat(dir, RandomIndexes(sample, sample, 1));
  auto t0 = Clock::now();
  CreateRange(dir, sample, count - sample);
  double middle = Since(t0);
  double c_last = TimedCreate(dir, count - sample, count);
  DropDentries(o.drop);
  double s_last = TimedStat(dir, RandomIndexes(count, sample, 2));
  std::printf("entries=%ld create_per_s=%.0f stat_per_s=%.0f\n", sample, c_first, s_first);
  std::printf("entries=%ld create_per_s=%.0f stat_per_s=%.0f\n", count, c_last, s_last);
  std::printf("middle_creates=%ld seconds=%.2f create_per_s=%.0f\n", count - 2 * sample, middle,
              static_cast<double>(count - 2 * sample) / middle);
  std::fflush(stdout);
  RemoveDir(dir, count);
  return 0;
}

int Files(const Options& o) {
  const long count = o.count < 0 ? 20000 : o.count;
  std::string dir = MakeDir(o.path, "files");
  double create = TimedCreate(dir, 0, count);
  DropDentries(o.drop);
  std::vector<long> idx(static_cast<size_t>(count));
  for (long i = 0; i < count; ++i) idx[static_cast<size_t>(i)] = i;
  double st = TimedStat(dir, idx);
  double un = TimedUnlink(dir, count);
  if (rmdir(dir.c_str()) != 0) Fail("rmdir", dir);
  std::printf("count=%ld create_per_s=%.0f stat_per_s=%.0f unlink_per_s=%.0f\n", count, create,
              st, un);
  return 0;
}

double Percentile(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int Fsync(const Options& o) {
  const long count = o.count < 0 ? 1000 : o.count;
  int fd = open(o.path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  if (fd < 0) Fail("create", o.path);
  std::vector<char> buf(static_cast<size_t>(o.bs), 'x');
  std::vector<double> lat;
  auto start = Clock::now();
  for (long i = 0; i < count && (i == 0 || Since(start) < o.seconds); ++i) {
    auto t0 = Clock::now();
    if (write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) Fail("write", o.path);
    if (fsync(fd) != 0) Fail("fsync", o.path);
    lat.push_back(Since(t0) * 1e6);
  }
  close(fd);
  unlink(o.path.c_str());
  double mean = 0;
  for (double l : lat) mean += l;
  mean /= static_cast<double>(lat.size());
  const size_t n = lat.size();
  double p50 = Percentile(lat, 50), p99 = Percentile(lat, 99);
  std::printf("n=%zu p50_us=%.1f p99_us=%.1f mean_us=%.1f max_us=%.1f\n", n, p50, p99, mean,
              lat.back());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  if (o.mode == "scale") return Scale(o);
  if (o.mode == "files") return Files(o);
  if (o.mode == "fsync") return Fsync(o);
  Usage();
}
