#include "fs/fuse/fuse_options.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace foliofs::fuse {
namespace {

constexpr uint64_t kMaxCommitSeconds = 24 * 3600;

// Options mount(8) / mount.fuse3 may hand us that mean nothing to a FUSE
// mount: fstab bookkeeping, and the atime policies libfuse 3.14 does not
// know (the kernel sends FUSE no atime updates; the mount shows relatime).
bool IsIgnoredMountOption(std::string_view opt) {
  static constexpr std::array<std::string_view, 18> kIgnored = {
      "auto",        "noauto",        "user",     "nouser",    "users",      "owner",
      "group",       "defaults",      "_netdev",  "nofail",    "relatime",   "norelatime",
      "strictatime", "nostrictatime", "diratime", "nodiratime", "lazytime", "nolazytime"};
  if (std::find(kIgnored.begin(), kIgnored.end(), opt) != kIgnored.end()) return true;
  return opt.starts_with("x-") || opt.starts_with("comment=");
}

// Options we always set ourselves; a user's copy is dropped (fsname must name
// the device for fuseblk, subtype must be foliofs for mount -t fuse.foliofs).
bool IsOwnedFuseOption(std::string_view opt) {
  return opt == "allow_other" || opt == "default_permissions" || opt == "blkdev" ||
         opt.starts_with("fsname=") || opt.starts_with("subtype=");
}

// Splits "a,b\,c" at unescaped commas (fuse_opt's escaping kept in the parts).
std::vector<std::string> SplitOptions(std::string_view list) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == '\\' && i + 1 < list.size()) {
      cur += list[i];
      cur += list[++i];
    } else if (list[i] == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += list[i];
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

Result<uint64_t> ParseUnsigned(std::string_view text, std::string_view what) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Status::Error(EINVAL, "bad " + std::string(what) + " '" + std::string(text) + "'");
  }
  return v;
}

bool IsLogLevel(std::string_view v) {
  return v == "trace" || v == "debug" || v == "info" || v == "warn" || v == "error";
}

// Applies one -o option to `o`.
Status ApplyOption(const std::string& opt, DaemonOptions& o) {
  const size_t eq = opt.find('=');
  const std::string key = opt.substr(0, eq);
  const std::string_view value =
      eq == std::string::npos ? std::string_view() : std::string_view(opt).substr(eq + 1);
  if (key == "cache_size") {
    ASSIGN_OR_RETURN(o.mount.cache_size, ParseSize(value));
  } else if (opt == "writeback_cache") {
    o.writeback_cache = true;
  } else if (opt == "no_writeback_cache") {
    o.writeback_cache = false;
  } else if (opt == "ro" || opt == "rw") {
    o.mount.read_only = opt == "ro";  // FuseArgs passes "ro" itself
  } else if (key == "commit") {
    ASSIGN_OR_RETURN(uint64_t secs, ParseUnsigned(value, "commit interval"));
    if (secs > kMaxCommitSeconds) return Status::Error(EINVAL, "commit interval too long");
    // As ext4: commit=0 means the default.
    o.mount.commit_interval = secs == 0 ? fs::MountOptions{}.commit_interval
                                        : std::chrono::milliseconds(secs * 1000);
  } else if (key == "log_level") {
    if (!IsLogLevel(value)) {
      return Status::Error(EINVAL, "bad log_level '" + std::string(value) +
                                       "' (trace, debug, info, warn or error)");
    }
    o.log_level = std::string(value);
  } else if (IsIgnoredMountOption(opt) || IsOwnedFuseOption(opt)) {
    // accepted, nothing to do
  } else if (eq == 0 || opt.empty()) {
    return Status::Error(EINVAL, "bad option '" + opt + "'");
  } else {
    o.fuse_options.push_back(opt);  // libfuse decides
  }
  return Status::Ok();
}

// fsname's value goes through fuse_opt: escape its separators.
std::string EscapeOptionValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  uint64_t shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      default: break;
    }
  }
  const std::string_view digits = shift ? text.substr(0, text.size() - 1) : text;
  ASSIGN_OR_RETURN(uint64_t v, ParseUnsigned(digits, "size"));
  if (v == 0 || v > (UINT64_MAX >> shift)) {
    return Status::Error(EINVAL, "bad size '" + std::string(text) + "'");
  }
  return v << shift;
}

Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  DaemonOptions& o = parsed.options;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      parsed.action = Action::kHelp;
      return parsed;
    } else if (a == "-V" || a == "--version") {
      parsed.action = Action::kVersion;
      return parsed;
    } else if (a == "-f") {
      o.foreground = true;
    } else if (a == "-d") {
      o.debug = o.foreground = true;
      o.log_level = "debug";
    } else if (a == "-o" || (a.starts_with("-o") && a.size() > 2)) {
      if (a == "-o" && i + 1 == args.size()) return Status::Error(EINVAL, "-o needs an argument");
      for (const std::string& opt : SplitOptions(a == "-o" ? args[++i] : a.substr(2))) {
        RETURN_IF_ERROR(ApplyOption(opt, o));
      }
    } else if (a.starts_with("-") && a.size() > 1) {
      return Status::Error(EINVAL, "unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2) {
    return Status::Error(EINVAL, positional.size() < 2 ? "missing DEVICE or MOUNTPOINT"
                                                       : "too many arguments");
  }
  o.device = positional[0];
  o.mountpoint = positional[1];
  return parsed;
}

std::string Usage(std::string_view prog) {
  const std::string p(prog);
  return "usage: " + p + " DEVICE MOUNTPOINT [-f] [-d] [-o opt[,opt...]]\n"
         "       " + p + " -h | --help | --version\n"
         "\n"
         "Mounts the foliofs filesystem on DEVICE (a block device or an image file)\n"
         "at MOUNTPOINT, served from this process through FUSE. Without -f the\n"
         "daemon detaches once the mount is in place.\n"
         "\n"
         "  -f                   stay in the foreground\n"
         "  -d                   debug logging and FUSE request tracing (implies -f)\n"
         "  -o cache_size=N[KMG] page cache size (default 256M)\n"
         "  -o writeback_cache   let the kernel cache writes (default)\n"
         "  -o no_writeback_cache  write through to the daemon on every write(2)\n"
         "  -o ro                mount read-only\n"
         "  -o commit=SECONDS    journal commit interval (default 5)\n"
         "  -o log_level=L       trace, debug, info (default), warn or error\n"
         "  -o OPT               other FUSE/kernel mount options (e.g. nosuid, nodev,\n"
         "                       noexec, noatime, max_read=N) are passed to libfuse;\n"
         "                       allow_other and default_permissions are always on\n";
}

std::vector<std::string> FuseArgs(const DaemonOptions& options, bool blkdev) {
  std::string o = "allow_other,default_permissions,subtype=foliofs,fsname=" +
                  EscapeOptionValue(options.device);
  if (blkdev) o += ",blkdev";
  if (options.mount.read_only) o += ",ro";
  for (const std::string& opt : options.fuse_options) o += "," + opt;
  std::vector<std::string> args = {"foliofs", "-o", o};
  if (options.debug) args.push_back("-d");
  return args;
}

}  // namespace foliofs::fuse
