// Helpers for the mkfs/fsck tool tests: the shared commands and guards of
// tests/support/test_support.h.
#pragma once

#include "tests/support/test_support.h"

namespace foliofs::tooltest {

using testsupport::CommandResult;
using RunResult = testsupport::CommandResult;
using testsupport::LoopDevice;
using testsupport::MountGuard;
using testsupport::Quote;
using testsupport::RunTool;
using testsupport::Shell;
using testsupport::TempDir;

}  // namespace foliofs::tooltest
