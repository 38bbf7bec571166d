#include "pagecache/base/crc32c.h"

#include <array>
#include <cstring>

namespace foliofs {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected Castagnoli polynomial

using Table = std::array<std::array<uint32_t, 256>, 8>;

constexpr Table MakeTable() {
  Table t{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  return t;
}

constexpr Table kTable = MakeTable();

// Raw (no inversion) slice-by-8 update.
uint32_t UpdatePortable(uint32_t crc, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= crc;  // little-endian host (x86-64, aarch64)
    crc = kTable[7][w & 0xff] ^ kTable[6][(w >> 8) & 0xff] ^ kTable[5][(w >> 16) & 0xff] ^
          kTable[4][(w >> 24) & 0xff] ^ kTable[3][(w >> 32) & 0xff] ^
          kTable[2][(w >> 40) & 0xff] ^ kTable[1][(w >> 48) & 0xff] ^ kTable[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ kTable[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t UpdateHardware(uint32_t crc, const uint8_t* p,
                                                           size_t n) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c = __builtin_ia32_crc32di(c, w);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
bool DetectHardware() { return __builtin_cpu_supports("sse4.2"); }
#else
uint32_t UpdateHardware(uint32_t crc, const uint8_t* p, size_t n) {
  return UpdatePortable(crc, p, n);
}
bool DetectHardware() { return false; }
#endif

const bool kHaveHardware = DetectHardware();

}  // namespace

uint32_t Crc32c(uint32_t seed, const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~seed;
  c = kHaveHardware ? UpdateHardware(c, p, len) : UpdatePortable(c, p, len);
  return ~c;
}

uint32_t Crc32cPortable(uint32_t seed, const void* data, size_t len) {
  return ~UpdatePortable(~seed, static_cast<const uint8_t*>(data), len);
}

bool Crc32cIsHardwareAccelerated() { return kHaveHardware; }

}  // namespace foliofs
