#include "tools/fsx/options.h"

#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace foliofs::fsx {
namespace {

const char kUsage[] =
    "usage: fsx [-qFHRWZz] [-N numops] [-S seed] [-l flen] [-o oplen] [-b opnum]\n"
    "           [-c P] [-r readbdy] [-t truncbdy] [-w writebdy] [-p progressinterval]\n"
    "           [-P dirpath] [--require-all-ops] [--check-interval=N] [--model-out=PATH]\n"
    "           [--inject-corruption=OPNUM] FILE\n"
    "\n"
    "Random read/write/mmap/truncate/fallocate/punch/zero/fsync operations on FILE\n"
    "(created or truncated at start, never deleted), each checked against an\n"
    "in-memory model of the file.\n"
    "\n"
    "  -N numops      total operations, simulated ones included (default infinity)\n"
    "  -S seed        random seed (default 1; 0 picks one from the clock and prints it)\n"
    "  -l flen        upper bound on the file size (default 262144)\n"
    "  -o oplen       upper bound on an operation's size (default 65536)\n"
    "  -b opnum       first operation actually done; earlier ones only update the\n"
    "                 model, whose image is written to FILE before op opnum (default 1)\n"
    "  -c P           1 in P chance of close+reopen after each op (default never)\n"
    "  -r readbdy     read offsets aligned to readbdy (default 1)\n"
    "  -t truncbdy    truncate sizes aligned to truncbdy (default 1)\n"
    "  -w writebdy    write offsets aligned to writebdy (default 1)\n"
    "  -R             no mapped reads (they become read())\n"
    "  -W             no mapped writes (they become write())\n"
    "  -F             no fallocate (plain and KEEP_SIZE)\n"
    "  -H             no punch hole\n"
    "  -z             no zero range\n"
    "  -Z             O_DIRECT: aligned buffers; read/write offsets and lengths are\n"
    "                 rounded to max(4096, -r / -w)\n"
    "  -q             quiet: do not print each operation\n"
    "  -p N           print the operation line every N ops (also with -q)\n"
    "  -P dirpath     save FILE.fsxlog and FILE.fsxgood there on failure\n"
    "                 (default: next to FILE)\n"
    "  --require-all-ops   fail (exit 5) if a fallocate mode answers EOPNOTSUPP or an\n"
    "                 enabled op kind never ran, instead of warning and disabling it\n"
    "  --check-interval=N  read back and check the whole file every N ops (default\n"
    "                 1000; 0: only at the end). Every read is checked regardless.\n"
    "  --model-out=PATH    write the final model bytes to PATH at the end\n"
    "  --inject-corruption=OPNUM  self-test of the checker: after op OPNUM flip one\n"
    "                 byte of FILE through a second fd behind the model's back\n"
    "  -h, --help     this text\n"
    "\n"
    "Numbers accept 0x prefixes and k/m/g suffixes.\n"
    "Exit status: 0 OK; 1 data or size mismatch; 2 usage error; 3 setup error\n"
    "(cannot open FILE or -P dir, O_DIRECT refused); 4 a syscall failed during an\n"
    "operation; 5 --require-all-ops violated.\n";

enum LongOpt { kRequireAll = 256, kCheckInterval, kModelOut, kInject };

const option kLongOptions[] = {
    {"require-all-ops", no_argument, nullptr, kRequireAll},
    {"check-interval", required_argument, nullptr, kCheckInterval},
    {"model-out", required_argument, nullptr, kModelOut},
    {"inject-corruption", required_argument, nullptr, kInject},
    {"help", no_argument, nullptr, 'h'},
    {nullptr, 0, nullptr, 0},
};

// strtoull with an optional k/m/g suffix; false on junk or overflow.
bool ParseNumber(const char* s, uint64_t* out) {
  if (s == nullptr || *s == '\0' || *s == '-') return false;
  errno = 0;
  char* end = nullptr;
  uint64_t v = std::strtoull(s, &end, 0);
  if (errno != 0 || end == s) return false;
  uint64_t mult = 1;
  switch (*end) {
    case 'k':
    case 'K':
      mult = 1ull << 10;
      ++end;
      break;
    case 'm':
    case 'M':
      mult = 1ull << 20;
      ++end;
      break;
    case 'g':
    case 'G':
      mult = 1ull << 30;
      ++end;
      break;
    default:
      break;
  }
  if (*end != '\0' || (v != 0 && mult > UINT64_MAX / v)) return false;
  *out = v * mult;
  return true;
}

ParseResult Error(std::string msg) {
  ParseResult r;
  r.kind = ParseResult::Kind::kError;
  r.error = std::move(msg);
  return r;
}

// Applies one short or long option; "" on success, else the error text.
std::string ApplyOption(int c, const char* arg, Options& o) {
  uint64_t* num = nullptr;
  switch (c) {
    case 'N':
      num = &o.numops;
      break;
    case 'S':
      num = &o.seed;
      break;
    case 'l':
      num = &o.maxfilelen;
      break;
    case 'o':
      num = &o.maxoplen;
      break;
    case 'b':
      num = &o.first_real_op;
      break;
    case 'c':
      num = &o.closeprob;
      break;
    case 'r':
      num = &o.readbdy;
      break;
    case 't':
      num = &o.truncbdy;
      break;
    case 'w':
      num = &o.writebdy;
      break;
    case 'p':
      num = &o.progress_interval;
      break;
    case kCheckInterval:
      num = &o.check_interval;
      break;
    case kInject:
      num = &o.inject_corruption_op;
      break;
    case 'R':
      o.mapped_reads = false;
      return "";
    case 'W':
      o.mapped_writes = false;
      return "";
    case 'F':
      o.fallocate_calls = false;
      return "";
    case 'H':
      o.punch_hole_calls = false;
      return "";
    case 'z':
      o.zero_range_calls = false;
      return "";
    case 'Z':
      o.o_direct = true;
      return "";
    case 'q':
      o.quiet = true;
      return "";
    case 'P':
      o.dirpath = arg;
      return "";
    case kRequireAll:
      o.require_all_ops = true;
      return "";
    case kModelOut:
      o.model_out = arg;
      return "";
    default:
      return "unknown option";
  }
  if (!ParseNumber(arg, num)) return std::string("bad number '") + (arg ? arg : "") + "'";
  return "";
}

// Cross-option checks and derived values; "" when the options are usable.
std::string Finish(Options& o) {
  if (o.maxfilelen == 0) return "-l must be > 0";
  if (o.maxoplen == 0) return "-o must be > 0";
  if (o.readbdy == 0 || o.truncbdy == 0 || o.writebdy == 0) return "-r/-t/-w must be > 0";
  if (o.first_real_op == 0) return "-b must be >= 1";
  if (o.o_direct) {
    o.readbdy = o.readbdy > 4096 ? o.readbdy : 4096;
    o.writebdy = o.writebdy > 4096 ? o.writebdy : 4096;
    if (o.readbdy % 4096 != 0 || o.writebdy % 4096 != 0)
      return "-Z needs -r and -w to be multiples of 4096";
    o.dio_align = o.readbdy > o.writebdy ? o.readbdy : o.writebdy;
  }
  if (o.seed == 0) {
    o.seed_from_time = true;
    o.seed = (static_cast<uint64_t>(time(nullptr)) << 20) ^ static_cast<uint64_t>(getpid());
    if (o.seed == 0) o.seed = 1;
  }
  return "";
}

std::string OptionName(int c) {
  for (const option* o = kLongOptions; o->name != nullptr; ++o)
    if (o->val == c) return std::string("--") + o->name;
  return std::string("-") + static_cast<char>(c);
}

}  // namespace

const char* UsageText() { return kUsage; }

std::string UsageSynopsis() {
  const std::string all = kUsage;
  return all.substr(0, all.find("\n\n") + 1) + "Run 'fsx --help' for the options and exit codes.\n";
}

ParseResult ParseOptions(int argc, char** argv) {
  ParseResult r;
  optind = 1;
  opterr = 0;  // we print our own message
  int c;
  while ((c = getopt_long(argc, argv, ":b:c:hl:N:o:p:P:qr:RS:t:w:WFHzZ", kLongOptions, nullptr)) !=
         -1) {
    if (c == 'h') {
      r.kind = ParseResult::Kind::kHelp;
      return r;
    }
    // optopt names a bad short option; a bad long one is only in argv.
    const std::string bad =
        optopt != 0 ? std::string("-") + static_cast<char>(optopt) : std::string(argv[optind - 1]);
    if (c == '?') return Error("unknown option '" + bad + "'");
    if (c == ':') return Error("option '" + bad + "' needs a value");
    std::string err = ApplyOption(c, optarg, r.options);
    if (!err.empty()) return Error("option " + OptionName(c) + ": " + err);
  }
  if (optind + 1 != argc) return Error(optind == argc ? "missing FILE" : "more than one FILE");
  r.options.file = argv[optind];
  std::string err = Finish(r.options);
  if (!err.empty()) return Error(err);
  r.kind = ParseResult::Kind::kRun;
  return r;
}

}  // namespace foliofs::fsx
