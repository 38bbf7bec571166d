// Internal to fs/format: little-endian field access at explicit offsets.
// Every on-disk field is read and written through these helpers, never by
// casting a buffer to a struct (FORMAT.md conventions).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace foliofs::format::codec {

inline void Put16(uint8_t* p, size_t off, uint16_t v) {
  p[off] = static_cast<uint8_t>(v);
  p[off + 1] = static_cast<uint8_t>(v >> 8);
}
inline void Put32(uint8_t* p, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[off + i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void Put64(uint8_t* p, size_t off, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[off + i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint16_t Get16(const uint8_t* p, size_t off) {
  return static_cast<uint16_t>(p[off] | (p[off + 1] << 8));
}
inline uint32_t Get32(const uint8_t* p, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[off + i];
  return v;
}
inline uint64_t Get64(const uint8_t* p, size_t off) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[off + i];
  return v;
}

// Offsets of the common block header (FORMAT.md §2).
inline constexpr size_t kHdrMagic = 0;
inline constexpr size_t kHdrType = 4;
inline constexpr size_t kHdrBlocknr = 8;
inline constexpr size_t kHdrChecksum = 16;
inline constexpr size_t kHdrOwner = 24;

}  // namespace foliofs::format::codec
