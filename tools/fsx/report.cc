#include "tools/fsx/report.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace foliofs::fsx {
namespace {

constexpr uint64_t kLine = 16;
constexpr uint64_t kLinesAround = 4;

// Hex of `n` bytes, "--" for offsets outside [lo, hi).
std::string HexBytes(const uint8_t* p, uint64_t base, uint64_t lo, uint64_t hi) {
  std::string s;
  char buf[4];
  for (uint64_t i = 0; i < kLine; ++i) {
    const uint64_t o = base + i;
    if (o >= lo && o < hi) {
      snprintf(buf, sizeof buf, "%02x", p[o - lo]);
      s += buf;
    } else {
      s += "--";
    }
    s += i == 7 ? "  " : " ";
  }
  return s;
}

}  // namespace

std::string HexWindow(const FileModel& model, const uint8_t* actual, uint64_t actual_off,
                      uint64_t actual_len, uint64_t bad) {
  const uint64_t line0 = bad / kLine * kLine;
  const uint64_t first = std::max(actual_off / kLine * kLine,
                                  line0 >= kLinesAround * kLine ? line0 - kLinesAround * kLine : 0);
  const uint64_t actual_end = actual_off + actual_len;
  const uint64_t last =
      std::min(line0 + kLinesAround * kLine, (actual_end + kLine - 1) / kLine * kLine);
  // Each hex column is kLine * 3 + 1 characters wide, followed by two spaces.
  std::string out = "offset      expected (model)";
  out += std::string(kLine * 3 + 3 - 16, ' ') + "actual\n";
  char head[32];
  for (uint64_t base = first; base <= last && base < actual_end; base += kLine) {
    snprintf(head, sizeof head, "0x%08" PRIx64 "  ", base);
    out += head;
    std::string exp;
    char buf[4];
    for (uint64_t i = 0; i < kLine; ++i) {
      snprintf(buf, sizeof buf, "%02x", model.At(base + i));
      exp += buf;
      exp += i == 7 ? "  " : " ";
    }
    out += exp + "  " + HexBytes(actual, base, actual_off, actual_end);
    std::string marks;
    for (uint64_t o = base; o < base + kLine; ++o)
      if (o >= actual_off && o < actual_end && actual[o - actual_off] != model.At(o)) marks += '*';
    if (!marks.empty()) out += " " + marks;
    out += "\n";
  }
  return out;
}

std::string SidePath(const std::string& file, const std::string& dirpath, const char* suffix) {
  if (dirpath.empty()) return file + suffix;
  const size_t slash = file.find_last_of('/');
  const std::string base = slash == std::string::npos ? file : file.substr(slash + 1);
  return dirpath + "/" + base + suffix;
}

}  // namespace foliofs::fsx
