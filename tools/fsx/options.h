// fsx command line: the common flags of fstests' ltp/fsx.c plus a few long
// options for CI (see README.md). Parsing is pure: no files are touched.
#pragma once

#include <cstdint>
#include <string>

namespace foliofs::fsx {

// Exit codes (also printed by --help).
constexpr int kExitOk = 0;
constexpr int kExitMismatch = 1;     // data or size differs from the model
constexpr int kExitUsage = 2;        // bad command line
constexpr int kExitSetup = 3;        // cannot open FILE / -P dir, O_DIRECT refused, no memory
constexpr int kExitSyscall = 4;      // a syscall failed during an operation
constexpr int kExitUnsupported = 5;  // --require-all-ops: an op mode unsupported or never run

constexpr uint64_t kInfiniteOps = UINT64_MAX;

struct Options {
  std::string file;
  uint64_t numops = kInfiniteOps;  // -N
  uint64_t seed = 1;               // -S (0: time based, resolved by ParseOptions)
  bool seed_from_time = false;
  uint64_t maxfilelen = 256 * 1024;   // -l
  uint64_t maxoplen = 64 * 1024;      // -o
  uint64_t first_real_op = 1;         // -b: ops before it are simulated on the model only
  uint64_t closeprob = 0;             // -c: 1 in P chance of close+reopen after an op
  uint64_t readbdy = 1;               // -r
  uint64_t truncbdy = 1;              // -t
  uint64_t writebdy = 1;              // -w
  bool mapped_reads = true;           // -R clears
  bool mapped_writes = true;          // -W clears
  bool fallocate_calls = true;        // -F clears
  bool punch_hole_calls = true;       // -H clears
  bool zero_range_calls = true;       // -z clears
  bool o_direct = false;              // -Z
  uint64_t dio_align = 0;             // -Z: buffer and offset alignment
  bool quiet = false;                 // -q
  uint64_t progress_interval = 0;     // -p
  std::string dirpath;                // -P
  bool require_all_ops = false;       // --require-all-ops
  uint64_t check_interval = 1000;     // --check-interval (0: only at the end)
  std::string model_out;              // --model-out
  uint64_t inject_corruption_op = 0;  // --inject-corruption (0: never)
};

struct ParseResult {
  enum class Kind { kRun, kHelp, kError } kind = Kind::kError;
  Options options;
  std::string error;  // for kError
};

ParseResult ParseOptions(int argc, char** argv);

// The --help text (flags and exit codes).
const char* UsageText();
// Its first lines: the synopsis, printed after a usage error.
std::string UsageSynopsis();

}  // namespace foliofs::fsx
