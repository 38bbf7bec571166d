// mkfs.foliofs and fsck.foliofs as a user runs them: argument errors.
#include <gtest/gtest.h>

#include "tests/mkfs/tool_util.h"

namespace foliofs::tooltest {
namespace {

struct BadArgs {
  std::vector<std::string> args;  // "IMG" is replaced by an image path
  std::string message;            // expected in the output
};

TEST(MkfsArgsTest, EveryBadArgumentGetsAMessageUsageAndExitCode1) {
  TempDir dir;
  const std::string img = dir.Image("img", 64 << 20);
  const std::vector<BadArgs> cases = {
      {{"-b", "3000", "IMG"}, "invalid block size '3000'"},
      {{"-b", "512", "IMG"}, "invalid block size '512'"},
      {{"-b", "128k", "IMG"}, "invalid block size '128k'"},
      {{"-b", "abc", "IMG"}, "invalid size 'abc'"},
      {{"-J", "12Q", "IMG"}, "invalid size suffix in '12Q'"},
      {{"-J", "0", "IMG"}, "invalid journal size '0'"},
      {{"-N", "0", "IMG"}, "invalid inode count '0'"},
      {{"-N", "-5", "IMG"}, "invalid size '-5'"},
      {{"-N", "99999999999999999999999", "IMG"}, "out of range"},
      {{"-L", std::string(65, 'x'), "IMG"}, "is too long (65 bytes; at most 64)"},
      {{"-U", "not-a-uuid", "IMG"}, "invalid UUID 'not-a-uuid'"},
      {{"-U", "0123456789abcdef0123456789abcdef0123", "IMG"}, "invalid UUID"},
      {{"-U", "01234567-89ab-cdef-0123-456789abcdeg", "IMG"}, "invalid UUID"},
      {{"-Z", "IMG"}, "unknown option '-Z'"},
      {{"--bogus", "IMG"}, "unknown option '--bogus'"},
      {{"IMG", "-b"}, "option '-b' needs an argument"},
      {{}, "no device given"},
      {{"IMG", "extra"}, "unexpected argument 'extra'"},
  };
  for (const BadArgs& c : cases) {
    std::vector<std::string> args = c.args;
    std::string shown;
    for (auto& a : args) {
      if (a == "IMG") a = img;
      shown += a + " ";
    }
    RunResult r = RunTool("mkfs.foliofs", args);
    EXPECT_EQ(r.rc, 1) << shown << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << shown << "\n" << r.output;
    EXPECT_NE(r.output.find("Usage: mkfs.foliofs"), std::string::npos) << shown;
  }
  // Nothing was written by any of them.
  RunResult fsck = RunTool("fsck.foliofs", {img});
  EXPECT_EQ(fsck.rc, 4) << fsck.output;
  EXPECT_NE(fsck.output.find("bad magic"), std::string::npos) << fsck.output;
}

TEST(MkfsArgsTest, HelpAndVersionExitZero) {
  RunResult help = RunTool("mkfs.foliofs", {"--help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.output.find("-J JOURNAL_SIZE"), std::string::npos) << help.output;
  RunResult version = RunTool("mkfs.foliofs", {"--version"});
  EXPECT_EQ(version.rc, 0);
  EXPECT_NE(version.output.find("on-disk format version 1"), std::string::npos);
}

TEST(MkfsArgsTest, MissingDeviceIsNamedInTheError) {
  RunResult r = RunTool("mkfs.foliofs", {"/nonexistent/foliofs-img"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("/nonexistent/foliofs-img: No such file or directory"),
            std::string::npos)
      << r.output;
}

TEST(FsckArgsTest, UsageErrorsExit16AndHelpNamesTheModes) {
  EXPECT_EQ(RunTool("fsck.foliofs", {}).rc, 16);
  EXPECT_EQ(RunTool("fsck.foliofs", {"-x", "/dev/null"}).rc, 16);
  EXPECT_EQ(RunTool("fsck.foliofs", {"a", "b"}).rc, 16);
  EXPECT_EQ(RunTool("fsck.foliofs", {"-n", "-y", "/dev/null"}).rc, 16);
  RunResult help = RunTool("fsck.foliofs", {"--help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.output.find("Usage: fsck.foliofs DEVICE [-n|-y|-p]"), std::string::npos)
      << help.output;
}

TEST(FsckArgsTest, UnopenableDeviceIsAnOperationalError) {
  RunResult r = RunTool("fsck.foliofs", {"/nonexistent/foliofs-img"});
  EXPECT_EQ(r.rc, 8) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/foliofs-img"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace foliofs::tooltest
