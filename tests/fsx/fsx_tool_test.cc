// tools/fsx run as a user would, against files in a temp dir under /tmp
// (whatever filesystem that is; fallocate modes it refuses are skipped).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace foliofs::fsxtest {
namespace {

using testsupport::CommandResult;
using testsupport::RunTool;
using testsupport::TempDir;

CommandResult Fsx(const std::vector<std::string>& args) { return RunTool("fsx", args); }

bool Contains(const CommandResult& r, const std::string& needle) {
  return r.output.find(needle) != std::string::npos;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// The text after `prefix` up to the end of its line, or "" (std::regex is
// avoided: GCC 12 warns inside it under ASan with -Werror).
std::string LineAfter(const std::string& output, const std::string& prefix) {
  const size_t at = output.find(prefix);
  if (at == std::string::npos) return "";
  const size_t from = at + prefix.size();
  return output.substr(from, output.find('\n', from) - from);
}

// The counters of the summary line "fsx: N ops (read 1, write 2, ...) seed S: OK".
std::map<std::string, uint64_t> SummaryCounts(const std::string& output) {
  std::map<std::string, uint64_t> counts;
  const size_t line = output.rfind(" ops (");
  if (line == std::string::npos) return counts;
  const size_t open = line + 6, close = output.find(')', open);
  std::istringstream list(output.substr(open, close - open));
  std::string item;
  while (std::getline(list, item, ',')) {
    std::istringstream kv(item);
    std::string name;
    uint64_t value = 0;
    if (kv >> name >> value) counts[name] = value;
  }
  return counts;
}

TEST(FsxToolTest, AllOpsRunPassesAndEveryKindRuns) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  CommandResult r = Fsx({"-q", "-N", "10000", "-S", "42", "-c", "50", dir.File("f")});
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(Contains(r, "fsx: 10000 ops (")) << r.output;
  EXPECT_TRUE(Contains(r, "seed 42: OK")) << r.output;
  const auto counts = SummaryCounts(r.output);
  ASSERT_FALSE(counts.empty()) << r.output;
  EXPECT_GE(counts.at("checks"), 11u);  // every 1000 ops and at the end
  const bool unsupported = Contains(r, "does not support fallocate mode");
  for (const char* kind :
       {"read", "write", "mapread", "mapwrite", "truncate", "fallocate", "fallocate_keep", "punch",
        "zero", "zero_keep", "fsync", "fdatasync", "reopen"}) {
    if (unsupported && counts.at(kind) == 0) continue;  // reported below
    EXPECT_GT(counts.at(kind), 0u) << kind << "\n" << r.output;
  }
  if (unsupported) GTEST_SKIP() << "/tmp refuses a fallocate mode: " << r.output;
}

TEST(FsxToolTest, SameSeedSameRunDifferentSeedDifferentRun) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string f = dir.File("f");
  CommandResult a = Fsx({"-N", "1000", "-S", "5", "-c", "20", f});
  CommandResult b = Fsx({"-N", "1000", "-S", "5", "-c", "20", f});
  CommandResult c = Fsx({"-N", "1000", "-S", "6", "-c", "20", f});
  ASSERT_EQ(a.rc, 0) << a.output;
  ASSERT_EQ(c.rc, 0) << c.output;
  EXPECT_GT(std::count(a.output.begin(), a.output.end(), '\n'), 1000);  // one line per op
  EXPECT_EQ(a.output, b.output);
  EXPECT_NE(a.output, c.output);
}

TEST(FsxToolTest, InjectedCorruptionIsReportedWithDataAndLog) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string f = dir.File("f");
  CommandResult r = Fsx({"-q", "-N", "3000", "-S", "7", "--inject-corruption=1500", f});
  EXPECT_EQ(r.rc, 1) << r.output;
  EXPECT_TRUE(Contains(r, "--inject-corruption: flipped the byte")) << r.output;
  EXPECT_TRUE(Contains(r, "FAILURE at op")) << r.output;
  EXPECT_TRUE(Contains(r, "first mismatch at file offset")) << r.output;
  EXPECT_TRUE(Contains(r, "expected (model)")) << r.output;
  EXPECT_TRUE(Contains(r, "actual")) << r.output;
  EXPECT_TRUE(Contains(r, "last 100 operations")) << r.output;
  EXPECT_TRUE(Contains(r, ": FAILED")) << r.output;
  EXPECT_TRUE(Exists(f + ".fsxgood"));
  EXPECT_TRUE(Exists(f + ".fsxlog"));
}

TEST(FsxToolTest, FailureReproducesWithTheSameSeedFromALaterFirstOp) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string f = dir.File("f");
  CommandResult full = Fsx({"-q", "-N", "2000", "-S", "7", "--inject-corruption=1500", f});
  ASSERT_EQ(full.rc, 1) << full.output;
  const std::string at = LineAfter(full.output, "FAILURE at op ");
  ASSERT_FALSE(at.empty()) << full.output;
  const std::string failure = "FAILURE at op " + at.substr(0, at.find(' '));
  CommandResult replay = Fsx({"-q", "-N", "2000", "-S", "7", "-b", "1400", "-P", dir.path(),
                              "--inject-corruption=1500", dir.File("g")});
  EXPECT_EQ(replay.rc, 1) << replay.output;
  EXPECT_TRUE(Contains(replay, "simulating ops 1..1399")) << replay.output;
  EXPECT_TRUE(Contains(replay, failure)) << failure << "\n" << replay.output;
  EXPECT_TRUE(Exists(dir.File("g.fsxgood")));
}

TEST(FsxToolTest, ODirectRunPasses) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  CommandResult r = Fsx({"-q", "-Z", "-N", "3000", "-S", "9", "-c", "50", dir.File("f")});
  if (r.rc == 3 && Contains(r, "O_DIRECT")) GTEST_SKIP() << "no O_DIRECT on /tmp: " << r.output;
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto counts = SummaryCounts(r.output);
  EXPECT_GT(counts.at("read"), 0u);
  EXPECT_GT(counts.at("write"), 0u);
}

TEST(FsxToolTest, BadOptionsAreUsageErrors) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string f = dir.File("f");
  CommandResult unknown = Fsx({"-Q", f});
  EXPECT_EQ(unknown.rc, 2) << unknown.output;
  EXPECT_TRUE(Contains(unknown, "unknown option '-Q'")) << unknown.output;
  EXPECT_TRUE(Contains(unknown, "usage: fsx")) << unknown.output;
  CommandResult number = Fsx({"-N", "lots", f});
  EXPECT_EQ(number.rc, 2) << number.output;
  EXPECT_TRUE(Contains(number, "-N: bad number 'lots'")) << number.output;
  CommandResult nofile = Fsx({"-N", "10"});
  EXPECT_EQ(nofile.rc, 2) << nofile.output;
  EXPECT_TRUE(Contains(nofile, "missing FILE")) << nofile.output;
  CommandResult help = Fsx({"--help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_TRUE(Contains(help, "Exit status")) << help.output;
  EXPECT_FALSE(Exists(f)) << "a usage error created FILE";
}

TEST(FsxToolTest, MissingDirectoriesAreClearSetupErrors) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  CommandResult file = Fsx({"-N", "10", dir.File("nope/f")});
  EXPECT_EQ(file.rc, 3) << file.output;
  EXPECT_TRUE(Contains(file, "does not exist")) << file.output;
  CommandResult logdir = Fsx({"-N", "10", "-P", dir.File("nope"), dir.File("f")});
  EXPECT_EQ(logdir.rc, 3) << logdir.output;
  EXPECT_TRUE(Contains(logdir, "not an existing directory")) << logdir.output;
}

TEST(FsxToolTest, ModelOutEqualsTheFileAfterTheRun) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string f = dir.File("f"), model = dir.File("model");
  CommandResult r = Fsx({"-q", "-N", "2000", "-S", "11", "--model-out", model, f});
  ASSERT_EQ(r.rc, 0) << r.output;
  const std::string got = ReadFile(f);
  EXPECT_FALSE(got.empty());
  EXPECT_TRUE(got == ReadFile(model)) << "model differs from the file";
}

TEST(FsxToolTest, RequireAllOpsFailsWhenAnEnabledKindNeverRan) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  CommandResult r = Fsx({"-q", "-N", "3", "--require-all-ops", dir.File("f")});
  EXPECT_EQ(r.rc, 5) << r.output;
  EXPECT_TRUE(Contains(r, "never ran")) << r.output;
  CommandResult off = Fsx({"-q", "-N", "3", "-R", "-W", "-F", "-H", "-z", "--require-all-ops", "-S",
                           "3", dir.File("g")});
  EXPECT_EQ(off.rc, 5) << off.output;  // 3 ops cannot cover read+write+truncate+syncs
  const std::string missing = LineAfter(off.output, "never ran: ");
  ASSERT_FALSE(missing.empty()) << off.output;
  for (const char* disabled : {"mapread", "mapwrite", "fallocate", "punch", "zero", "reopen"})
    EXPECT_EQ(missing.find(disabled), std::string::npos) << disabled << ": " << missing;
}

}  // namespace
}  // namespace foliofs::fsxtest
