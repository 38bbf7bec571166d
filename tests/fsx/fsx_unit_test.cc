// tools/fsx in-process: option parsing, the PRNG, the file model and the op log.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tools/fsx/model.h"
#include "tools/fsx/oplog.h"
#include "tools/fsx/options.h"
#include "tools/fsx/report.h"
#include "tools/fsx/rng.h"

namespace foliofs::fsx {
namespace {

ParseResult Parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  static char prog[] = "fsx";
  argv.push_back(prog);
  for (auto& a : args) argv.push_back(a.data());
  return ParseOptions(static_cast<int>(argv.size()), argv.data());
}

TEST(FsxOptionsTest, FsxDefaultsAndFlags) {
  ParseResult r = Parse({"-N", "100", "-S", "42", "-l", "1m", "-o", "0x1000", "-c", "7", "-R", "-W",
                         "-F", "-H", "-z", "-q", "f"});
  ASSERT_EQ(r.kind, ParseResult::Kind::kRun) << r.error;
  EXPECT_EQ(r.options.numops, 100u);
  EXPECT_EQ(r.options.seed, 42u);
  EXPECT_EQ(r.options.maxfilelen, 1u << 20);
  EXPECT_EQ(r.options.maxoplen, 0x1000u);
  EXPECT_EQ(r.options.closeprob, 7u);
  EXPECT_FALSE(r.options.mapped_reads || r.options.mapped_writes || r.options.fallocate_calls ||
               r.options.punch_hole_calls || r.options.zero_range_calls);
  EXPECT_TRUE(r.options.quiet);
  EXPECT_EQ(r.options.file, "f");
}

TEST(FsxOptionsTest, ODirectRaisesAlignmentToAtLeast4096) {
  ParseResult r = Parse({"-Z", "-r", "512", "-w", "8192", "f"});
  ASSERT_EQ(r.kind, ParseResult::Kind::kRun) << r.error;
  EXPECT_EQ(r.options.readbdy, 4096u);
  EXPECT_EQ(r.options.writebdy, 8192u);
  EXPECT_EQ(r.options.dio_align, 8192u);
  EXPECT_EQ(Parse({"-Z", "-r", "6000", "f"}).kind, ParseResult::Kind::kError);
}

TEST(FsxOptionsTest, SeedZeroIsReplacedByAClockSeed) {
  ParseResult r = Parse({"-S", "0", "f"});
  ASSERT_EQ(r.kind, ParseResult::Kind::kRun);
  EXPECT_TRUE(r.options.seed_from_time);
  EXPECT_NE(r.options.seed, 0u);
}

TEST(FsxOptionsTest, BadCommandLinesAreErrors) {
  EXPECT_EQ(Parse({"-N", "12x", "f"}).kind, ParseResult::Kind::kError);
  EXPECT_EQ(Parse({"-Q", "f"}).kind, ParseResult::Kind::kError);
  EXPECT_EQ(Parse({"-N", "5"}).kind, ParseResult::Kind::kError);
  EXPECT_EQ(Parse({"a", "b"}).kind, ParseResult::Kind::kError);
  EXPECT_EQ(Parse({"-l", "0", "f"}).kind, ParseResult::Kind::kError);
  EXPECT_EQ(Parse({"--check-interval=-1", "f"}).kind, ParseResult::Kind::kError);
  EXPECT_EQ(Parse({"--help"}).kind, ParseResult::Kind::kHelp);
}

TEST(FsxRngTest, SameSeedSameStreamDifferentSeedDifferent) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= x != c.Next();
  }
  EXPECT_TRUE(differs);
}

TEST(FsxModelTest, TruncateAndExtensionExposeZeros) {
  FileModel m(64);
  std::vector<uint8_t> data(16);
  FillPattern(3, 8, data.data(), data.size());
  m.Write(8, data.data(), data.size());
  EXPECT_EQ(m.size(), 24u);
  m.SetSize(12);
  m.SetSize(40);
  EXPECT_EQ(m.At(11), data[3]);
  for (uint64_t o = 12; o < 40; ++o) EXPECT_EQ(m.At(o), 0) << o;
}

TEST(FsxModelTest, ZeroIsClippedToTheSize) {
  FileModel m(64);
  std::vector<uint8_t> data(32, 0xab);
  m.Write(0, data.data(), data.size());
  m.Zero(16, 100);
  EXPECT_EQ(m.size(), 32u);
  EXPECT_EQ(m.At(15), 0xab);
  EXPECT_EQ(m.At(16), 0);
}

TEST(FsxModelTest, FirstMismatchFindsTheFirstDifferingByte) {
  FileModel m(32);
  std::vector<uint8_t> data(32, 7);
  m.Write(0, data.data(), data.size());
  std::vector<uint8_t> got(data.begin() + 4, data.begin() + 20);
  EXPECT_FALSE(m.FirstMismatch(4, got.data(), got.size()).has_value());
  got[9] = 8;
  got[12] = 9;
  EXPECT_EQ(m.FirstMismatch(4, got.data(), got.size()), std::optional<uint64_t>(13));
}

TEST(FsxModelTest, PatternEvenBytesCarryTheNonZeroOpTag) {
  std::vector<uint8_t> buf(8);
  FillPattern(254, 100, buf.data(), buf.size());
  EXPECT_EQ(buf[0], 255);
  FillPattern(255, 100, buf.data(), buf.size());
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[2], 1);
}

TEST(FsxOpLogTest, KeepsTheLastHundredAndFindsTheLastWriter) {
  OpLog log;
  for (uint64_t n = 1; n <= 150; ++n) {
    OpRecord r;
    r.num = n;
    r.kind = n % 2 ? OpKind::kWrite : OpKind::kRead;
    r.off = n * 10;
    r.len = 10;
    log.Add(r);
  }
  const auto recent = log.Recent();
  ASSERT_EQ(recent.size(), 100u);
  EXPECT_EQ(recent.front().num, 51u);
  EXPECT_EQ(recent.back().num, 150u);
  ASSERT_NE(log.LastTouching(1495), nullptr);
  EXPECT_EQ(log.LastTouching(1495)->num, 149u);
  EXPECT_EQ(log.LastTouching(1505), nullptr);  // op 150 was a read
}

TEST(FsxReportTest, SidePathHonoursDirpath) {
  EXPECT_EQ(SidePath("/a/b/file", "", ".fsxgood"), "/a/b/file.fsxgood");
  EXPECT_EQ(SidePath("/a/b/file", "/logs", ".fsxlog"), "/logs/file.fsxlog");
}

TEST(FsxReportTest, HexWindowMarksTheMismatchingLine) {
  FileModel m(64);
  std::vector<uint8_t> data(64, 0x11);
  m.Write(0, data.data(), data.size());
  data[33] = 0x22;
  const std::string w = HexWindow(m, data.data(), 0, data.size(), 33);
  EXPECT_NE(w.find("0x00000020"), std::string::npos) << w;
  EXPECT_NE(w.find("22"), std::string::npos) << w;
  EXPECT_NE(w.find('*'), std::string::npos) << w;
}

}  // namespace
}  // namespace foliofs::fsx
