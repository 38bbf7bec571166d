// The `foliofs` daemon's command line:
//
//   foliofs DEVICE MOUNTPOINT [-f] [-d] [-o opt[,opt...]]...
//   foliofs -h | --help | --version
//
// What it promises:
//  - ParseArgs never touches the device or the mount point; it only checks the
//    syntax, so a bad option is reported (EINVAL, a message naming it) before
//    anything is opened. main() turns that into exit status 1 and the usage.
//  - foliofs's own -o options are consumed here (cache_size, writeback_cache,
//    no_writeback_cache, ro/rw, commit, log_level); the options mount(8) and
//    mount.fuse3 pass that mean nothing to a FUSE mount (auto, noauto, user,
//    nouser, users, owner, group, defaults, _netdev, nofail, comment=, x-*)
//    and the atime policies libfuse does not know (relatime, strictatime,
//    diratime, nodiratime, lazytime and their no- forms) are accepted and
//    dropped; kernel mount flags libfuse knows (dev/nodev, suid/nosuid,
//    exec/noexec, sync/async, dirsync, atime/noatime) and every
//    other option go to libfuse unchanged, which rejects the ones it does not
//    know (main() reports that as a usage error too).
//  - FuseArgs builds the argument list for fuse_session_new: always
//    allow_other and default_permissions (permission checks are the kernel's),
//    fsname=DEVICE and subtype=foliofs, "blkdev" for a fuseblk mount, "ro"
//    for a read-only mount, "debug" with -d, then the pass-through options.
//
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fs/filesystem.h"
#include "pagecache/base/status.h"

namespace foliofs::fuse {

struct DaemonOptions {
  std::string device;
  std::string mountpoint;
  bool foreground = false;       // -f (or -d): do not detach
  bool debug = false;            // -d: debug logging, libfuse request tracing
  bool writeback_cache = true;   // -o writeback_cache | no_writeback_cache
  std::string log_level = "info";
  fs::MountOptions mount;        // read_only, cache_size, commit_interval
  std::vector<std::string> fuse_options;  // passed through to libfuse
};

enum class Action { kRun, kHelp, kVersion };

struct ParsedArgs {
  Action action = Action::kRun;
  DaemonOptions options;
};

// `args` excludes argv[0]. Errors: EINVAL with a one-line message.
Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args);

// "N", "NK", "NM", "NG" (binary units, k/m/g too); > 0. EINVAL otherwise.
Result<uint64_t> ParseSize(std::string_view text);

// The usage text, starting with "usage: <prog> DEVICE MOUNTPOINT ...".
std::string Usage(std::string_view prog);

// Arguments for fuse_session_new (argv[0] = "foliofs"). `blkdev`: mount as
// fuseblk (DEVICE is a block device and we may, i.e. we are root).
std::vector<std::string> FuseArgs(const DaemonOptions& options, bool blkdev);

}  // namespace foliofs::fuse
