// fsck.foliofs: checks a foliofs filesystem with the format verifier
// (fs/format/format.h). Read-only for now; repair arrives with a later issue.
//
// Exit status (as e2fsck): 0 no errors, 4 errors left uncorrected,
// 8 operational error (cannot open or read the device), 16 usage error.
#include <getopt.h>

#include <cstdio>
#include <string>

#include "fs/format/format.h"
#include "pagecache/blockdev/uring_device.h"

namespace {

constexpr int kExitClean = 0;
constexpr int kExitUncorrected = 4;
constexpr int kExitOperational = 8;
constexpr int kExitUsage = 16;

const char kUsage[] =
    "Usage: fsck.foliofs DEVICE [-n] [-f] [-v]\n"
    "       fsck.foliofs --help | --version\n"
    "\n"
    "Checks the foliofs filesystem on DEVICE (a block device or an image file) and\n"
    "reports every inconsistency found. This version only checks: it never writes to\n"
    "DEVICE; repair arrives with a later issue.\n"
    "\n"
    "  -n   open read-only and answer 'no' to every repair (the only mode for now)\n"
    "  -f   check even if the filesystem seems clean (always done for now)\n"
    "  -v   verbose: print warnings and a summary of what was checked\n"
    "\n"
    "Exit status: 0 no errors, 4 errors left uncorrected, 8 operational error,\n"
    "16 usage error.\n";

struct Args {
  std::string device;
  bool verbose = false;
};

// Returns -1 to continue, or the exit status to end with.
int ParseArgs(int argc, char** argv, Args* args) {
  static const option kLong[] = {{"help", no_argument, nullptr, 'h'},
                                 {"version", no_argument, nullptr, 'V'},
                                 {nullptr, 0, nullptr, 0}};
  opterr = 0;
  int opt;
  while ((opt = getopt_long(argc, argv, "nfvhVpy", kLong, nullptr)) != -1) {
    switch (opt) {
      case 'n': case 'f': break;
      case 'v': args->verbose = true; break;
      case 'h': printf("%s", kUsage); return kExitClean;
      case 'V': printf("fsck.foliofs 0.1.0 (on-disk format version %u)\n",
                       foliofs::format::kFormatVersion);
        return kExitClean;
      case 'p': case 'y':
        fprintf(stderr, "fsck.foliofs: repair (-%c) is not implemented yet; use -n\n", opt);
        return kExitUsage;
      default:
        fprintf(stderr, "fsck.foliofs: unknown option '%s'\n\n%s", argv[optind - 1], kUsage);
        return kExitUsage;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "fsck.foliofs: %s\n\n%s",
            optind >= argc ? "no device given" : "too many arguments", kUsage);
    return kExitUsage;
  }
  args->device = argv[optind];
  return -1;
}

int Check(const Args& args) {
  foliofs::DeviceOptions options;
  options.read_only = true;
  auto dev = foliofs::OpenDevice(args.device, options);
  if (!dev.ok()) {
    fprintf(stderr, "fsck.foliofs: %s\n", dev.status().message().c_str());
    return kExitOperational;
  }
  auto report = foliofs::format::VerifyFilesystem(**dev);
  if (!report.ok()) {
    fprintf(stderr, "fsck.foliofs: %s: %s\n", args.device.c_str(),
            report.status().ToString().c_str());
    return kExitOperational;
  }
  using Severity = foliofs::format::Finding::Severity;
  const size_t errors = report->errors();
  // Warnings are context for errors (e.g. where a good backup is), so they
  // are shown whenever there are errors, and always with -v.
  for (const auto& f : report->findings) {
    if (f.severity == Severity::kError || args.verbose || errors != 0) {
      printf("%s: %s: %s\n", args.device.c_str(),
             f.severity == Severity::kError ? "ERROR" : "warning", f.message.c_str());
    }
  }
  if (errors != 0) {
    printf("%s: %zu error%s found, left uncorrected (repair is not implemented yet)\n",
           args.device.c_str(), errors, errors == 1 ? "" : "s");
    return kExitUncorrected;
  }
  const auto& sb = report->sb;
  printf("%s: clean, %llu/%llu inodes, %llu/%llu blocks\n", args.device.c_str(),
         static_cast<unsigned long long>(report->inodes_in_use),
         static_cast<unsigned long long>(sb.inodes_count),
         static_cast<unsigned long long>(report->blocks_in_use),
         static_cast<unsigned long long>(sb.blocks_count));
  if (args.verbose) {
    printf("%s: label '%s', block size %u, %u groups, %llu directories, journal %llu blocks\n",
           args.device.c_str(), sb.label.c_str(), sb.block_size(), sb.group_count,
           static_cast<unsigned long long>(report->directories),
           static_cast<unsigned long long>(sb.journal_blocks));
  }
  return kExitClean;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  const int rc = ParseArgs(argc, argv, &args);
  if (rc >= 0) return rc;
  return Check(args);
}
