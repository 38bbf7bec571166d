// fsck.foliofs: checks and repairs a foliofs filesystem (FORMAT.md §14).
//
//   fsck.foliofs DEVICE [-n|-y|-p] [-f] [-v]
//
// Order: refuse a mounted device (unless -n); recover the journal (unless -n,
// which only reports a journal needing recovery); verify; with -y or -p repair
// (fs/format/repair.h) and verify again.
//
// Exit status (as e2fsck): 0 no errors, 1 errors corrected (or the journal
// replayed), 4 errors left uncorrected, 8 operational error (cannot open or
// read the device, device mounted), 16 usage error, 32 cancelled (SIGINT).
#include <getopt.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "fs/format/format.h"
#include "fs/format/repair.h"
#include "pagecache/blockdev/uring_device.h"
#include "tools/fsck/fsck_journal.h"
#include "tools/fsck/fsck_mounted.h"

namespace {

using foliofs::format::Finding;
using foliofs::format::VerifyReport;

constexpr int kExitClean = 0;
constexpr int kExitCorrected = 1;
constexpr int kExitUncorrected = 4;
constexpr int kExitOperational = 8;
constexpr int kExitUsage = 16;
constexpr int kExitCancelled = 32;

const char kUsage[] =
    "Usage: fsck.foliofs DEVICE [-n|-y|-p] [-f] [-v]\n"
    "       fsck.foliofs --help | --version\n"
    "\n"
    "Checks the foliofs filesystem on DEVICE (a block device or an image file) and,\n"
    "with -y or -p, repairs it. Unless -n, the journal is recovered first and a\n"
    "mounted DEVICE is refused.\n"
    "\n"
    "  -n   check only: open read-only, do not recover the journal, change nothing\n"
    "       (the default)\n"
    "  -y   repair everything that can be repaired\n"
    "  -p   preen (also -a): repair only what is safe without a human (counters,\n"
    "       bitmaps, link counts, the orphan list); anything else exits 4\n"
    "  -f   check even if the filesystem seems clean (the check is always full)\n"
    "  -v   verbose: print warnings, every repair, and a summary\n"
    "\n"
    "Exit status: 0 no errors, 1 errors corrected, 4 errors left uncorrected,\n"
    "8 operational error, 16 usage error, 32 cancelled.\n";

enum class Mode { kCheck, kYes, kPreen };

struct Args {
  std::string device;
  Mode mode = Mode::kCheck;
  bool verbose = false;
};

std::atomic<bool> g_interrupted{false};
void OnSigint(int) { g_interrupted.store(true); }

int UsageError(const std::string& message) {
  fprintf(stderr, "fsck.foliofs: %s\n\n%s", message.c_str(), kUsage);
  return kExitUsage;
}

// Sets args->mode once; a second, different mode option is a usage error.
bool SetMode(Args* args, Mode mode, bool* mode_set) {
  if (*mode_set && args->mode != mode) return false;
  args->mode = mode;
  *mode_set = true;
  return true;
}

// Returns -1 to continue, or the exit status to end with.
int ParseArgs(int argc, char** argv, Args* args) {
  static const option kLong[] = {{"help", no_argument, nullptr, 'h'},
                                 {"version", no_argument, nullptr, 'V'},
                                 {nullptr, 0, nullptr, 0}};
  opterr = 0;
  bool mode_set = false;
  int opt;
  while ((opt = getopt_long(argc, argv, "nyapfvhV", kLong, nullptr)) != -1) {
    bool ok = true;
    switch (opt) {
      case 'n':
        ok = SetMode(args, Mode::kCheck, &mode_set);
        break;
      case 'y':
        ok = SetMode(args, Mode::kYes, &mode_set);
        break;
      case 'a':
      case 'p':
        ok = SetMode(args, Mode::kPreen, &mode_set);
        break;
      case 'f':
        break;
      case 'v':
        args->verbose = true;
        break;
      case 'h':
        printf("%s", kUsage);
        return kExitClean;
      case 'V':
        printf("fsck.foliofs 0.1.0 (on-disk format version %u)\n", foliofs::format::kFormatVersion);
        return kExitClean;
      default:
        return UsageError(std::string("unknown option '") + argv[optind - 1] + "'");
    }
    if (!ok) return UsageError("only one of -n, -y and -p may be given");
  }
  if (optind != argc - 1) {
    return UsageError(optind >= argc ? "no device given" : "too many arguments");
  }
  args->device = argv[optind];
  return -1;
}

void PrintFindings(const Args& args, const VerifyReport& report, bool with_warnings) {
  for (const auto& f : report.findings) {
    const bool error = f.severity == Finding::Severity::kError;
    if (error || with_warnings) {
      printf("%s: %s: %s\n", args.device.c_str(), error ? "ERROR" : "warning", f.message.c_str());
    }
  }
}

void PrintSummary(const Args& args, const VerifyReport& report, const char* state) {
  const auto& sb = report.sb;
  printf("%s: %s%llu/%llu inodes, %llu/%llu blocks\n", args.device.c_str(), state,
         static_cast<unsigned long long>(report.inodes_in_use),
         static_cast<unsigned long long>(sb.inodes_count),
         static_cast<unsigned long long>(report.blocks_in_use),
         static_cast<unsigned long long>(sb.blocks_count));
  if (args.verbose) {
    printf("%s: label '%s', block size %u, %u groups, %llu directories, journal %llu blocks\n",
           args.device.c_str(), sb.label.c_str(), sb.block_size(), sb.group_count,
           static_cast<unsigned long long>(report.directories),
           static_cast<unsigned long long>(sb.journal_blocks));
  }
}

// Opens the device: read-only for a check, exclusive (O_EXCL on a block
// device: EBUSY when mounted) for a repair.
int OpenChecked(const Args& args, std::unique_ptr<foliofs::BlockDevice>* dev) {
  const bool write = args.mode != Mode::kCheck;
  if (!write && foliofs::fsck::IsMounted(args.device)) {
    printf("%s: warning: mounted; a read-only check may see changes in flight\n",
           args.device.c_str());
  }
  if (write && foliofs::fsck::IsMounted(args.device)) {
    fprintf(stderr,
            "fsck.foliofs: %s is mounted; unmount it first (or check it read-only with -n)\n",
            args.device.c_str());
    return kExitOperational;
  }
  foliofs::DeviceOptions options;
  options.read_only = !write;
  options.exclusive = write;
  auto opened = foliofs::OpenDevice(args.device, options);
  if (!opened.ok()) {
    if (opened.err() == EBUSY) {
      fprintf(stderr, "fsck.foliofs: %s is in use (mounted?); refusing to repair it\n",
              args.device.c_str());
    } else {
      fprintf(stderr, "fsck.foliofs: %s\n", opened.status().message().c_str());
    }
    return kExitOperational;
  }
  *dev = std::move(*opened);
  return -1;
}

struct JournalOutcome {
  int exit = -1;          // >= 0: end with this status
  bool replayed = false;  // transactions were written home
  bool pending = false;   // -n: recovery needed and not done
  bool damaged = false;   // the journal could not be opened
};

// Step 1: the journal. Without a readable superblock there is nothing to do
// here; the verifier reports it.
JournalOutcome HandleJournal(const Args& args, foliofs::BlockDevice& dev) {
  JournalOutcome out;
  auto sb = foliofs::format::ReadSuperblock(dev);
  if (!sb.ok()) return out;
  auto state = foliofs::fsck::ProbeJournal(dev, *sb);
  if (!state.ok()) {
    fprintf(stderr, "fsck.foliofs: %s: %s\n", args.device.c_str(),
            state.status().ToString().c_str());
    out.exit = kExitOperational;
    return out;
  }
  if (!state->present) return out;  // the verifier reports the journal region
  if (args.mode == Mode::kCheck) {
    if (state->needs_recovery) {
      printf("%s: the journal needs recovery; not replayed (read-only check)\n",
             args.device.c_str());
      out.pending = true;
    }
    return out;
  }
  auto replay = foliofs::fsck::ReplayJournal(dev, *sb);
  if (!replay.ok()) {
    if (replay.err() != EUCLEAN) {
      fprintf(stderr, "fsck.foliofs: %s: journal: %s\n", args.device.c_str(),
              replay.status().ToString().c_str());
      out.exit = kExitOperational;
      return out;
    }
    printf("%s: journal cannot be recovered: %s\n", args.device.c_str(),
           replay.status().message().c_str());
    out.damaged = true;
    return out;
  }
  if (replay->transactions != 0) {
    printf("%s: recovering journal: %llu transactions, %llu blocks replayed\n", args.device.c_str(),
           static_cast<unsigned long long>(replay->transactions),
           static_cast<unsigned long long>(replay->blocks));
    out.replayed = true;
  }
  return out;
}

int CheckOnly(const Args& args, foliofs::BlockDevice& dev, const JournalOutcome& journal) {
  auto report = foliofs::format::VerifyFilesystem(dev);
  if (!report.ok()) {
    fprintf(stderr, "fsck.foliofs: %s: %s\n", args.device.c_str(),
            report.status().ToString().c_str());
    return kExitOperational;
  }
  if (g_interrupted.load()) return kExitCancelled;
  const size_t errors = report->errors();
  // Warnings are context for errors (e.g. where a good backup is).
  PrintFindings(args, *report, args.verbose || errors != 0);
  if (errors != 0 || journal.pending) {
    printf("%s: %zu error%s found, left uncorrected%s\n", args.device.c_str(), errors,
           errors == 1 ? "" : "s", journal.pending ? " (journal not recovered)" : "");
    return kExitUncorrected;
  }
  PrintSummary(args, *report, "clean, ");
  return kExitClean;
}

int Repair(const Args& args, foliofs::BlockDevice& dev, const JournalOutcome& journal) {
  foliofs::format::RepairOptions options;
  options.mode = args.mode == Mode::kPreen ? foliofs::format::RepairMode::kPreen
                                           : foliofs::format::RepairMode::kYes;
  options.cancelled = [] { return g_interrupted.load(); };
  auto result = foliofs::format::RepairFilesystem(dev, options);
  if (!result.ok()) {
    fprintf(stderr, "fsck.foliofs: %s: %s\n", args.device.c_str(),
            result.status().ToString().c_str());
    return kExitOperational;
  }
  const auto& r = *result;
  PrintFindings(args, r.initial, args.verbose);
  for (const auto& a : r.actions) printf("%s: FIXED: %s\n", args.device.c_str(), a.c_str());
  if (r.cancelled || g_interrupted.load()) {
    printf("%s: interrupted\n", args.device.c_str());
    return kExitCancelled;
  }
  if (r.unexpected) {
    printf("%s: UNEXPECTED INCONSISTENCY; run fsck.foliofs -y manually.\n", args.device.c_str());
    return kExitUncorrected;
  }
  const size_t left = r.final.errors();
  if (left != 0 || journal.damaged) {
    if (r.changed) PrintFindings(args, r.final, false);
    printf("%s: %zu error%s left uncorrected\n", args.device.c_str(), left, left == 1 ? "" : "s");
    return kExitUncorrected;
  }
  if (r.changed || journal.replayed) {
    printf("%s: ***** FILE SYSTEM WAS MODIFIED *****\n", args.device.c_str());
    PrintSummary(args, r.final, "");
    return kExitCorrected;
  }
  PrintSummary(args, r.final, "clean, ");
  return kExitClean;
}

int Run(const Args& args) {
  std::unique_ptr<foliofs::BlockDevice> dev;
  if (int rc = OpenChecked(args, &dev); rc >= 0) return rc;
  JournalOutcome journal = HandleJournal(args, *dev);
  if (journal.exit >= 0) return journal.exit;
  if (g_interrupted.load()) return kExitCancelled;
  if (args.mode == Mode::kCheck) return CheckOnly(args, *dev, journal);
  return Repair(args, *dev, journal);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  const int rc = ParseArgs(argc, argv, &args);
  if (rc >= 0) return rc;
  struct sigaction sa {};
  sa.sa_handler = OnSigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  return Run(args);
}
