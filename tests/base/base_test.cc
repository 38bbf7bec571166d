#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "pagecache/base/crc32c.h"
#include "pagecache/base/status.h"

namespace foliofs {
namespace {

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(Crc32c(0, s.data(), s.size()), 0xE3069283u);
  EXPECT_EQ(Crc32cPortable(0, s.data(), s.size()), 0xE3069283u);
}

TEST(Crc32cTest, HardwareAndPortableAgreeOnRandomBuffers) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; round++) {
    std::vector<uint8_t> buf(rng() % 5000);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    uint32_t seed = static_cast<uint32_t>(rng());
    size_t off = buf.empty() ? 0 : rng() % buf.size();  // unaligned start
    EXPECT_EQ(Crc32c(seed, buf.data() + off, buf.size() - off),
              Crc32cPortable(seed, buf.data() + off, buf.size() - off));
  }
}

TEST(Crc32cTest, ChainingEqualsOneShot) {
  std::string a = "folio batch ", b = "under the mapping lock";
  std::string ab = a + b;
  EXPECT_EQ(Crc32c(Crc32c(7, a.data(), a.size()), b.data(), b.size()),
            Crc32c(7, ab.data(), ab.size()));
}

TEST(StatusTest, OkIsCheapAndErrorCarriesErrnoAndMessage) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.err(), 0);
  EXPECT_EQ(ok.ToString(), "OK");
  Status e = Status::Error(ENOSPC, "no free block in group 3");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.err(), ENOSPC);
  EXPECT_NE(e.ToString().find("no free block in group 3"), std::string::npos);
  EXPECT_EQ(e.WithContext("alloc").message(), "alloc: no free block in group 3");
  EXPECT_EQ(Status::Corrupted("bad magic").err(), kCorrupted);
}

Result<int> Half(int x) {
  if (x % 2) return Status::Error(EINVAL, "odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err(), EINVAL);
  // A Result built from an OK Status is an error, never a silent empty value.
  Result<int> bogus{Status::Ok()};
  EXPECT_FALSE(bogus.ok());
}

}  // namespace
}  // namespace foliofs
