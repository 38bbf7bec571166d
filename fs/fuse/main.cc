// foliofs: the daemon. `foliofs DEVICE MOUNTPOINT [-f] [-d] [-o opt,...]`
// (fuse_options.h has the options, daemon.h the life of the process).
// Exit status: 0 after a clean unmount (or -h/--version), 1 for bad usage or
// any failure (the message names the device or the option).
#include <cstdio>
#include <string>
#include <vector>

#include "fs/fuse/daemon.h"
#include "fs/fuse/fuse_ops.h"
#include "fs/fuse/fuse_options.h"

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
  return RunDaemon(parsed->options);
}
