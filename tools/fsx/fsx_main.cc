// fsx: an fsx-style stress tester (command-line compatible with fstests'
// ltp/fsx.c for the common flags). See tools/fsx/README.md and --help.
#include <cstdio>

#include "tools/fsx/options.h"
#include "tools/fsx/runner.h"

int main(int argc, char** argv) {
  using namespace foliofs::fsx;
  ParseResult parsed = ParseOptions(argc, argv);
  switch (parsed.kind) {
    case ParseResult::Kind::kHelp:
      fputs(UsageText(), stdout);
      return kExitOk;
    case ParseResult::Kind::kError:
      fprintf(stderr, "fsx: %s\n%s", parsed.error.c_str(), UsageSynopsis().c_str());
      return kExitUsage;
    case ParseResult::Kind::kRun:
      break;
  }
  Runner runner(parsed.options, stdout);
  return runner.Run();
}
